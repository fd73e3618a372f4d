// The ISO 9660 primary volume descriptor (sector 16) says how big the filesystem is, which
// tells a non-ISO file and a cut-short download apart before xorriso reads anything.
import { open } from 'node:fs/promises';

export interface VolumeHeader {
  fileSize: number;
  /** Bytes the ISO 9660 filesystem declares (volume space size × logical block size). */
  declaredSize: number;
  volumeId: string;
}

export async function readVolumeHeader(path: string): Promise<VolumeHeader | undefined> {
  const file = await open(path, 'r');
  try {
    const fileSize = (await file.stat()).size;
    const pvd = Buffer.alloc(2048);
    const { bytesRead } = await file.read(pvd, 0, 2048, 16 * 2048);
    if (bytesRead < 2048 || pvd[0] !== 1 || pvd.toString('ascii', 1, 6) !== 'CD001') return undefined;
    const blocks = pvd.readUInt32LE(80);
    const blockSize = pvd.readUInt16LE(128);
    return { fileSize, declaredSize: blocks * blockSize, volumeId: pvd.toString('ascii', 40, 72).trim() };
  } finally {
    await file.close();
  }
}
