// Recognises the two Debian installer layouts we can repack (docs/building.md, "How the ISO
// is made") from xorriso's boot report, and refuses anything else with a sentence saying
// what was found.
import { UserInputError } from '../pipeline/errors.js';
import type { IsoReport } from '../systems/xorriso.js';
import { CHECKSUM_LISTS, type ChecksumAlgorithm } from './checksum-list.js';
import { AUTO_INITRD } from './initrd-overlay.js';

export type LayoutKind = 'netinst' | 'mini';

export interface IsoLayout {
  kind: LayoutKind;
  /** Kernel and initrd the automated entries boot. */
  kernel: string;
  initrd: string;
  biosMenu: string;
  uefiMenu: string;
  /** The checksum lists the image carries (md5sum.txt, sha256sum.txt). */
  checksumLists: { path: string; algorithm: ChecksumAlgorithm }[];
  biosImage: string;
}

const LAYOUTS: Record<LayoutKind, Omit<IsoLayout, 'checksumLists'>> = {
  netinst: {
    kind: 'netinst',
    kernel: '/install.amd/vmlinuz',
    initrd: '/install.amd/initrd.gz',
    biosMenu: '/isolinux/isolinux.cfg',
    uefiMenu: '/boot/grub/grub.cfg',
    biosImage: '/isolinux/isolinux.bin',
  },
  mini: {
    kind: 'mini',
    kernel: '/linux',
    initrd: '/initrd.gz',
    biosMenu: '/isolinux.cfg',
    uefiMenu: '/boot/grub/grub.cfg',
    biosImage: '/isolinux.bin',
  },
};

const EFI_IMAGE = '/boot/grub/efi.img';

/** Every ISO path the detection looks at (passed to xorriso -lsdl). */
export const PROBE_PATHS = [
  ...new Set(
    Object.values(LAYOUTS).flatMap((l) => [l.kernel, l.initrd, l.biosMenu, l.uefiMenu, l.biosImage]).concat([EFI_IMAGE, AUTO_INITRD, ...CHECKSUM_LISTS.map((c) => c.path), '/.disk/id', '/.disk/info']),
  ),
];

function quoted(report: string[], option: string): string | undefined {
  const line = report.find((l) => l.startsWith(`${option} `));
  return line ? /'(.*)'/.exec(line)?.[1] : undefined;
}

export function detectLayout(report: IsoReport, source: string): IsoLayout {
  const bios = quoted(report.asMkisofs, '-b');
  const efi = quoted(report.asMkisofs, '-e');
  const found = `found BIOS boot image ${bios ?? 'none'}, EFI boot image ${efi ?? 'none'}`;
  const refuse = (what: string) =>
    new UserInputError(
      `base ISO ${source} is not a Debian amd64 netinst or mini.iso (${what}); pass an official Debian installer image with --base-iso`,
    );
  if (!bios && !efi) throw refuse('it has no El Torito boot images');
  if (report.files.has(AUTO_INITRD)) {
    throw new UserInputError(`base ISO ${source} was made by vultr-sid-iso already (it has ${AUTO_INITRD}); pass Debian's original image with --base-iso`);
  }
  const candidate = Object.values(LAYOUTS).find((l) => l.biosImage === bios);
  if (!candidate) throw refuse(found);
  if (efi !== EFI_IMAGE) throw refuse(`${found}, expected ${EFI_IMAGE}`);
  const missing = [candidate.kernel, candidate.initrd, candidate.biosMenu, candidate.uefiMenu].filter((p) => !report.files.has(p));
  if (missing.length > 0) throw refuse(`${found} but ${missing.join(', ')} missing`);
  return {
    ...candidate,
    checksumLists: CHECKSUM_LISTS.filter((c) => report.files.has(c.path)),
  };
}
