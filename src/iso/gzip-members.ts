// An initrd may be several gzip members back to back (the kernel unpacks each in turn). GNU
// `zcat | cpio -t` stops at the first cpio trailer, so checks walk the members one by one.
import { gzipSync, inflateRawSync } from 'node:zlib';

/** gzip with no file name and a zero mtime (Node writes neither), so output is reproducible. */
export function gzipDeterministic(data: Uint8Array): Buffer {
  return gzipSync(data, { level: 9 });
}

export interface GzipMember {
  offset: number;
  length: number;
  data: Buffer;
}

const FTEXT_FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

function headerLength(buf: Buffer, off: number): number {
  if (buf[off] !== 0x1f || buf[off + 1] !== 0x8b || buf[off + 2] !== 8) {
    throw new Error(`no gzip member at offset ${off}`);
  }
  const flags = buf[off + 3] ?? 0;
  let p = off + 10;
  if (flags & FEXTRA) p += 2 + buf.readUInt16LE(p);
  if (flags & FNAME) p = buf.indexOf(0, p) + 1;
  if (flags & FCOMMENT) p = buf.indexOf(0, p) + 1;
  if (flags & FTEXT_FHCRC) p += 2;
  return p - off;
}

/** Every gzip member of buf, in order. Trailing zero padding (allowed by the kernel) ends the walk. */
export function gzipMembers(buf: Buffer): GzipMember[] {
  const members: GzipMember[] = [];
  let off = 0;
  while (off < buf.length && buf[off] !== 0) {
    const head = headerLength(buf, off);
    const { buffer, engine } = inflateRawSync(buf.subarray(off + head), { info: true }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    const length = head + engine.bytesWritten + 8;
    members.push({ offset: off, length, data: buffer });
    off += length;
  }
  return members;
}
