// The one config file, iso.config.yaml. Everything in it ends up in a public ISO, so it holds
// no secrets: passwords only as crypted hashes, API keys only in the environment. Unknown keys
// are errors so that a typo is never silently ignored. Messages complete the sentence
// "<path>: <value> ..." (see load.ts).
import { z } from 'zod';
import { formatPrefix, isIPv6Prefix, mask, parsePrefix } from '../net/ipv6.js';

const hostLabel = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
const hostname = z.string().regex(hostLabel, 'is not a valid host name (letters, digits and "-", at most 63)');
const domainName = z
  .string()
  .max(253, 'is longer than 253 characters')
  .refine((s) => s === '' || s.split('.').every((l) => hostLabel.test(l)), 'is not a valid DNS domain');
/** A Vultr region or plan id, such as ewr or vc2-1c-2gb (vm create checks its flags with it too). */
export const VULTR_ID = /^[a-z0-9-]+$/;
/** A host name, or one with its domain (vm create --hostname). */
export const isDnsName = (s: string) => s.length <= 253 && s.split('.').every((l) => hostLabel.test(l));
const dnsHost = z
  .string()
  .min(1, 'is empty; give a host name')
  .refine((s) => s.split('.').every((l) => hostLabel.test(l)), 'is not a valid host name');

const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

/** An OpenSSH public key line whose base64 blob really encodes a key of the stated type. */
export function isSshPublicKey(line: string): boolean {
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,3})(?: ([^\n\r]*))?$/.exec(line);
  if (!m || !SSH_KEY_TYPES.includes(m[1]!)) return false;
  const blob = Buffer.from(m[2]!, 'base64');
  if (blob.length < 4) return false;
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1') === m[1];
}

/** crypt(3) hashes (sha-512, sha-256, yescrypt, bcrypt) or "!" for a locked password. */
const CRYPT = /^(!|\$(6|5)\$(rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{43,86}|\$y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43}|\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53})$/;

const packageName = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'is not a Debian package name');

/** Why a docker.subnet text is not a /80 prefix, and what to write instead; undefined if it is one. */
function notA80(text: string): string | undefined {
  const p = parsePrefix(text);
  if (!p) return 'is not an IPv6 prefix; write "auto", a /80 index from 0 to 65535, or a /80 such as "2001:db8:5:56c2::/80"';
  const its80 = formatPrefix({ network: p.network & mask(80), length: 80 });
  if (p.length !== 80) return `is a /${p.length}, not a /80; write a /80 such as "${its80}", or "auto"`;
  if (!isIPv6Prefix(text, 80)) return `is an address, not a prefix; write the /80 it lies in, "${its80}"`;
  return undefined;
}

export const configSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'is not a valid ISO name prefix (lower-case letters, digits and "-", at most 40)')
      .default('vultr-sid')
      .describe('Prefix of the ISO file name; a short hash of every input follows it.'),
    base: z
      .strictObject({
        url: z
          .url({ protocol: /^https?$/, error: 'is not an http(s) URL' })
          .default('https://cdimage.debian.org/cdimage/weekly-builds/amd64/iso-cd/debian-testing-amd64-netinst.iso')
          .describe(
            "Debian installer image to repack (a netinst or a mini.iso), verified by Debian's signature before it is used. The default is Debian's weekly testing netinst: Debian publishes no installer image for unstable, so the install starts from testing and moves to unstable at its end.",
          ),
        checksums: z.string().min(1).default('SHA512SUMS').describe('Checksum file that lists the image, relative to `base.url` or absolute.'),
        signature: z.string().min(1).default('SHA512SUMS.sign').describe('Detached OpenPGP signature of the checksum file, relative to `base.url` or absolute.'),
        fingerprints: z
          .array(z.string().regex(/^[0-9A-F]{40}$/, 'is not a 40-digit upper-case hex OpenPGP fingerprint'))
          .min(1, 'is empty; list at least one accepted signing key')
          .default([
            'DF9B9C49EAA9298432589D76DA87E80D6294BE9B',
            'F41D30342F3546695F65C66942468F4009EA8AC3',
            '10460DAD76165AD81FBC0CE9988021A964E6EA7D',
          ])
          .describe('OpenPGP fingerprints of the keys accepted as signers of the checksum file (default: the three Debian CD signing keys).'),
        keyring: z
          .string()
          .min(1)
          .optional()
          .describe('Armored keyring holding the accepted keys (default: `keys/debian-cd-signing.asc`, shipped with the tool); only keys listed in `base.fingerprints` are trusted.'),
        archiveFingerprints: z
          .array(z.string().regex(/^[0-9A-F]{40}$/, 'is not a 40-digit upper-case hex OpenPGP fingerprint'))
          .min(1, 'is empty; list at least one accepted archive key')
          .default([
            '04B54C3CDCA79751B16BC6B5225629DF75B188BD',
            'B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8',
            '1F89983E0081FDE018F3CC9673A4F27B8DD47936',
          ])
          .describe("OpenPGP fingerprints of the keys accepted as signers of the archive's `InRelease`, which vouches for a mini.iso (default: the Debian 11, 12 and 13 archive signing keys)."),
        archiveKeyring: z.string().min(1).optional().describe('Armored keyring holding the archive keys (default: `keys/debian-archive-signing.asc`, shipped with the tool); only keys listed in `base.archiveFingerprints` are trusted.'),
        validUntilGraceDays: z
          .number()
          .min(0, 'is below 0')
          .max(3650)
          .default(0)
          .describe("Days past its `Valid-Until` that the archive's `InRelease` is still accepted (0: none); only for a test mirror or a snapshot, since an expired `InRelease` may be a replay."),
      })
      .prefault({}),
    boot: z
      .strictObject({
        timeout: z
          .number()
          .int('is not a whole number of seconds')
          .min(1, 'is below 1 second; the menu must give a person a chance to choose')
          .max(300, 'is above 300 seconds')
          .default(5)
          .describe('Seconds the boot menu waits before its default entry starts, which boots the installed system when the first disk holds one and otherwise the automated install (1 to 300).'),
        serialConsole: z.boolean().default(true).describe('Kernel console on the serial port (`console=ttyS0,115200n8`) as well as the screen, in the installer and the installed system; the screen stays the main console.'),
      })
      .prefault({}),
    installer: z
      .strictObject({
        locale: z
          .string()
          .regex(/^[a-z]{2,3}_[A-Z]{2}(\.UTF-8)?$/, 'is not a locale like en_US.UTF-8')
          .default('en_US.UTF-8')
          .describe('Locale of the installer and the installed system.'),
        keyboard: z
          .string()
          .regex(/^[a-z]{2,}(\([a-z0-9_-]+\))?$/, 'is not an XKB layout like us or de')
          .default('us')
          .describe('Keyboard layout, an XKB layout such as `us` or `de`.'),
        timezone: z
          .string()
          .regex(/^(UTC|[A-Z][A-Za-z_-]+(\/[A-Za-z0-9_+-]+)+)$/, 'is not a tz database name like UTC or Europe/Berlin')
          .default('UTC')
          .describe('Time zone of the installed system, a tz database name such as `UTC` or `Europe/Berlin`.'),
        hostname: hostname.default('debian').describe('Host name of the installed system.'),
        domain: domainName.default('').describe('DNS domain of the installed system (empty: none).'),
        mirror: z
          .strictObject({
            host: dnsHost.default('deb.debian.org').describe('Debian mirror that the installer and the installed system use.'),
            directory: z
              .string()
              .regex(/^\/[A-Za-z0-9._/-]*$/, 'is not a path starting with /')
              .default('/debian')
              .describe('Path of the Debian archive on `installer.mirror.host`.'),
          })
          .prefault({}),
        suite: z
          .enum(['unstable', 'testing'], { error: 'is not a supported suite; use "unstable" (not "sid": apt-setup would look for sid-security) or "testing"' })
          .default('unstable')
          .describe('Suite the installed system follows: `unstable` or `testing` (never `sid`: apt-setup would look for `sid-security`).'),
        disk: z
          .strictObject({
            recipe: z
              .enum(['atomic', 'home', 'multi'], { error: 'is not a partman-auto recipe; use atomic, home or multi' })
              .default('atomic')
              .describe("Partman's partitioning recipe: `atomic` (everything in one partition), `home` (a separate /home) or `multi` (separate /home, /var and /tmp)."),
          })
          .prefault({}),
        packages: z.array(packageName).default([]).describe('Extra Debian packages for the installed system.'),
      })
      .prefault({}),
    admin: z
      .strictObject({
        username: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'is not a valid user name')
          .refine((u) => u !== 'root', 'is reserved; pick another user name')
          .default('debian')
          .describe('User name of the admin, the user the installer creates (not `root`).'),
        fullName: z.string().regex(/^[^:\n\r]*$/, 'contains ":" or a line break').default('Debian admin').describe("The admin's full name."),
        passwordHash: z
          .string()
          .regex(CRYPT, 'is not a crypted password hash; generate one with `mkpasswd -m sha-512` or use "!" to lock the password (the ISO is published at a URL)')
          .default('!')
          .describe("The admin's password as a crypt(3) hash (`mkpasswd -m sha-512`), or `!` for none (SSH keys only); the hash is published with the ISO."),
        sshAuthorizedKeys: z
          .array(z.string().refine(isSshPublicKey, 'is not an OpenSSH public key line (type, base64 blob, optional comment)'))
          .default([])
          .describe('OpenSSH public key lines that log in as the admin (each one checked).'),
        sudo: z
          .enum(['nopasswd', 'password', 'none'], { error: 'is not one of nopasswd, password, none' })
          .default('nopasswd')
          .describe(
            'How the admin becomes root: `nopasswd`, `password` (sudo asks for the password of `admin.passwordHash`, so it needs one) or `none` (no sudo: the late command also takes the admin out of group `sudo`, where the installer puts its first user).',
          ),
        sshPasswordLogin: z
          .boolean()
          .default(false)
          .describe("SSH also takes the admin's password (it needs `admin.passwordHash`); off by default, since the hash is published with the ISO."),
      })
      .superRefine((admin, ctx) => {
        // With no root password, an admin who cannot sudo can never become root.
        if (admin.sudo === 'password' && admin.passwordHash === '!') {
          ctx.addIssue({
            code: 'custom',
            path: ['sudo'],
            input: admin.sudo,
            message: 'asks for the admin\'s password, but admin.passwordHash is "!" (none), so sudo could never be used; set admin.passwordHash (mkpasswd -m sha-512) or use nopasswd',
          });
        }
        if (admin.sshPasswordLogin && admin.passwordHash === '!') {
          ctx.addIssue({
            code: 'custom',
            path: ['sshPasswordLogin'],
            input: admin.sshPasswordLogin,
            message: 'turns on SSH password login, but admin.passwordHash is "!" (none), so no password could log in; set admin.passwordHash (mkpasswd -m sha-512) or leave it off',
          });
        }
      })
      .prefault({}),
    docker: z
      .strictObject({
        ipv6: z.boolean().default(true).describe("Containers get public IPv6 addresses from the VM's /64; `false` turns off the /80, forwarding and ndppd."),
        subnet: z
          .union([
            z.literal('auto'),
            z.number().int('is not a whole /80 index').min(0, 'is not a /80 index from 0 to 65535').max(65535, 'is not a /80 index from 0 to 65535'),
            z.string().superRefine((s, ctx) => {
              const problem = notA80(s);
              if (problem) ctx.addIssue({ code: 'custom', message: problem });
            }),
          ], { error: 'is not "auto", a /80 index from 0 to 65535, or an IPv6 /80 prefix' })
          .default('auto')
          .describe("The containers' /80: `auto` (the first /80 of the VM's /64 that does not hold the host's address), an index from 0 to 65535 (that /80 of the /64), or an explicit /80."),
        exposure: z
          .enum(['published', 'all-ports'], { error: 'is not published or all-ports' })
          .default('published')
          .describe(
            '`published`: containers on `docker.network` get public IPv6 addresses on which only published ports (and ping) answer; `all-ports`: the default bridge on the /80, with every port of every container reachable (the original procedure; a warning at build time).',
          ),
        network: z
          .string()
          .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/, 'is not a Docker network name')
          .refine((n) => !['bridge', 'host', 'none', 'default'].includes(n), "is one of Docker's own networks; pick another name")
          .default('public')
          .describe('The Docker network on the /80 with `docker.exposure: published`; `docker run --network public` gives a container a public IPv6 address on it.'),
      })
      .prefault({}),
    ndppd: z
      .strictObject({
        enabled: z
          .boolean()
          .default(true)
          .describe("Answer the Vultr router's neighbour solicitations for the containers' addresses: ndppd for the whole /80, the kernel's proxy entries for each running container."),
        // Retired: Debian's ndppd 0.2.5 answers `auto` for one address at a time (docs/networking.md).
        method: z
          .never({ error: 'is retired: ndppd now always answers for the whole /80, because Debian\'s ndppd 0.2.5 answers "auto" for only one address at a time (docs/networking.md); remove ndppd.method' })
          .optional()
          .describe('Retired; remove it: ndppd always answers for the whole /80 (see docs/networking.md).'),
      })
      .prefault({}),
    network: z
      .strictObject({
        uplink: z
          .string()
          .regex(/^(auto|[A-Za-z0-9_.-]{1,15})$/, 'is not "auto" or an interface name')
          .default('auto')
          .describe('The uplink: `auto` (the interface of the default route) or an interface name such as `enp1s0`.'),
      })
      .prefault({}),
    publish: z
      .strictObject({
        s3: z
          .strictObject({
            endpoint: z
              .url({ protocol: /^https?$/, error: 'is not an http(s) URL' })
              .optional()
              .describe('Object storage endpoint, such as `https://ewr1.vultrobjects.com`; `S3_ENDPOINT` overrides it.'),
            bucket: z
              .string()
              .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'is not a valid bucket name')
              .optional()
              .describe('Bucket the ISO is uploaded to; `S3_BUCKET` overrides it.'),
            region: z.string().regex(/^[a-z0-9-]+$/, 'is not a region name').default('us-east-1').describe('Object storage region; `S3_REGION` overrides it.'),
            prefix: z.string().regex(/^[A-Za-z0-9._/-]*$/, 'is not a key prefix').default('vultr-sid-iso').describe("Prefix of the uploaded object's key."),
            access: z
              .enum(['presigned', 'public-read'], { error: 'is not presigned or public-read' })
              .default('presigned')
              .describe('How Vultr may fetch the uploaded ISO: `presigned` (a URL valid for 6 hours) or `public-read` (a public object under an unguessable key).'),
            forcePathStyle: z.boolean().default(true).describe('Path-style object URLs (`<endpoint>/<bucket>/<key>`) instead of the bucket in the host name.'),
          })
          .prefault({}),
        keep: z
          .number()
          .int()
          .min(1, 'is below 1: the ISO just published must stay')
          .max(50)
          .default(2)
          .describe("Our ISOs kept in the Vultr library, the new one included (1 to 50), applied once the new one is verified; older ones are deleted, but never one attached to an instance, nor anyone else's."),
        librarySize: z
          .number()
          .int()
          .min(1, 'is below 1')
          .max(100)
          .default(2)
          .describe("ISOs the account's Vultr library holds (Vultr's default quota is 2; raise it if support raised yours): room is made for the new ISO before it is registered."),
      })
      .prefault({}),
    vm: z
      .strictObject({
        region: z.string().regex(VULTR_ID, 'is not a Vultr region id like ewr').optional().describe('Region for `vm create`, such as `ewr`; its `--region` overrides it.'),
        plan: z.string().regex(VULTR_ID, 'is not a Vultr plan id like vc2-1c-2gb').optional().describe('Plan for `vm create`, such as `vc2-1c-2gb`; its `--plan` overrides it.'),
        tags: z
          .array(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'is not a tag'))
          .min(1, 'is empty; give at least one tag (the first marks the VMs this tool may list, detach and delete)')
          .default(['vultr-sid-iso'])
          .describe('Tags on the VMs that `vm create` makes, at least one; the first marks a VM as ours for `vm list`, `vm detach` and `vm delete`.'),
        ipv6Only: z
          .boolean()
          .default(false)
          .describe("VMs without a public IPv4 address (Vultr's `disable_public_ipv4`, fixed at creation); `vm create --ipv6-only` sets it for one run."),
      })
      .prefault({}),
  })
  .prefault({});

export type Config = z.infer<typeof configSchema>;

/** The installed system's name: the host name, plus the domain when there is one. */
export function fqdn(config: Config): string {
  return [config.installer.hostname, config.installer.domain].filter(Boolean).join('.');
}
