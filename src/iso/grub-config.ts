// The default boot entry decides, in GRUB and before any installer code runs, whether the
// first disk holds an installed system (then it boots that) or not (then it installs): an
// ISO left attached to a VM is harmless. BIOS: ISOLINUX's default entry starts GRUB i386-pc
// (GRUB_BIOS_IMAGE: grub/biosgrub.img, whose built-in grub/early.cfg finds the ISO), which
// reads bios.cfg (boot-menus.ts biosConfig); UEFI: Debian's own signed CD GRUB reads our grub.cfg, whose default entry
// sources GRUB_DECIDE_CONFIG (grub/decide.cfg) first. Paths are 8.3-safe, like the initrd's.
//
// GRUB started from ISOLINUX is told boot drive 0x80 (lnxboot.img hard-codes it), and finds
// the CD only because SeaBIOS, which Vultr and QEMU use, answers the El Torito status call for
// any drive; a BIOS that does not would leave GRUB at its rescue prompt.
export const GRUB_DIR = '/vultr/grub';
export const GRUB_BIOS_IMAGE = `${GRUB_DIR}/biosgrub.img`;
export const GRUB_BIOS_CONFIG = `${GRUB_DIR}/bios.cfg`;
export const GRUB_DECIDE_CONFIG = `${GRUB_DIR}/decide.cfg`;
