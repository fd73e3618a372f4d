// A minimal writer and reader for the "newc" cpio format, the only one the kernel's initramfs
// unpacker accepts (docs.kernel.org, early-userspace/buffer-format). Writing it here avoids
// a dependency on GNU cpio, and fixed inode numbers, owners and mtimes make it reproducible.

export interface CpioEntry {
  /** Path inside the archive, without a leading slash (e.g. "preseed.cfg"). */
  path: string;
  /** Regular file when data is given, directory otherwise. */
  data?: Uint8Array;
  /** Permission bits (e.g. 0o644); the file type is added here. */
  mode: number;
}

const MAGIC = '070701';
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(fields: { ino: number; mode: number; nlink: number; mtime: number; size: number; nameSize: number }): string {
  return (
    MAGIC +
    hex8(fields.ino) +
    hex8(fields.mode) +
    hex8(0) + // uid: root
    hex8(0) + // gid: root
    hex8(fields.nlink) +
    hex8(fields.mtime) +
    hex8(fields.size) +
    hex8(0) + // devmajor
    hex8(0) + // devminor
    hex8(0) + // rdevmajor
    hex8(0) + // rdevminor
    hex8(fields.nameSize) +
    hex8(0) // check
  );
}

function record(name: string, mode: number, nlink: number, mtime: number, ino: number, data: Uint8Array): Buffer {
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const head = Buffer.from(header({ ino, mode, nlink, mtime, size: data.length, nameSize: nameBytes.length }), 'ascii');
  return Buffer.concat([
    head,
    nameBytes,
    Buffer.alloc(pad4(head.length + nameBytes.length)),
    data,
    Buffer.alloc(pad4(data.length)),
  ]);
}

/** Entries are written in the order given; list a directory before what it contains. */
export function writeNewc(entries: CpioEntry[], mtime: number): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((entry, i) => {
    const path = entry.path.replace(/^\/+/, '');
    if (!path || path.split('/').includes('..')) throw new Error(`invalid cpio path "${entry.path}"`);
    const isFile = entry.data !== undefined;
    const mode = (isFile ? S_IFREG : S_IFDIR) | (entry.mode & 0o7777);
    parts.push(record(path, mode, isFile ? 1 : 2, mtime, i + 1, entry.data ?? new Uint8Array()));
  });
  parts.push(record('TRAILER!!!', 0, 1, 0, 0, new Uint8Array()));
  return Buffer.concat(parts);
}

export interface CpioMember {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  data: Buffer;
}

/** Reads one newc archive up to its trailer (used by tests and the layout checks). */
export function readNewc(buf: Buffer): CpioMember[] {
  const out: CpioMember[] = [];
  let off = 0;
  for (;;) {
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== MAGIC) throw new Error(`no newc cpio magic at offset ${off}`);
    const field = (i: number) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = off + 110;
    const path = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = nameStart + nameSize + pad4(110 + nameSize);
    if (path === 'TRAILER!!!') return out;
    out.push({ path, mode, uid: field(2), gid: field(3), mtime: field(5), data: buf.subarray(dataStart, dataStart + size) });
    off = dataStart + size + pad4(size);
  }
}
