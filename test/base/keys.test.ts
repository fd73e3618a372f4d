import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { loadPinnedKeys, SHIPPED_ARCHIVE_KEYRING, SHIPPED_KEYRING } from '../../src/systems/debian-signing.js';
import { expectedHash } from '../../src/base-image/chain.js';

describe('shipped Debian CD signing keys', () => {
  it('load, and hold exactly the pinned fingerprints', async () => {
    const pinned = configSchema.parse({}).base.fingerprints;
    expect(pinned).toEqual(['DF9B9C49EAA9298432589D76DA87E80D6294BE9B', 'F41D30342F3546695F65C66942468F4009EA8AC3', '10460DAD76165AD81FBC0CE9988021A964E6EA7D']);
    const keys = await loadPinnedKeys(SHIPPED_KEYRING, pinned);
    expect(keys.map((k) => k.getFingerprint().toUpperCase()).sort()).toEqual([...pinned].sort());
  });

  it('a fingerprint not in the list is not trusted even if the keyring holds it', async () => {
    const keys = await loadPinnedKeys(SHIPPED_KEYRING, ['DF9B9C49EAA9298432589D76DA87E80D6294BE9B']);
    expect(keys).toHaveLength(1);
  });
});

describe('checksum file lines', () => {
  it('finds the image by name in SHA512SUMS and SHA256SUMS formats', () => {
    const a = 'a'.repeat(128);
    expect(expectedHash(`${a}  debian-testing-amd64-netinst.iso\n`, 'debian-testing-amd64-netinst.iso')).toEqual({ algorithm: 'sha512', hex: a });
    expect(expectedHash(`${'b'.repeat(64)}  ./netboot/mini.iso\n`, 'mini.iso')).toEqual({ algorithm: 'sha256', hex: 'b'.repeat(64) });
    expect(expectedHash(`${a}  other.iso\n`, 'debian.iso')).toBeUndefined();
  });
});

describe('shipped Debian archive keys', () => {
  it('hold the pinned archive fingerprints', async () => {
    const pinned = configSchema.parse({}).base.archiveFingerprints;
    const keys = await loadPinnedKeys(SHIPPED_ARCHIVE_KEYRING, pinned);
    expect(keys.map((k) => k.getFingerprint().toUpperCase()).sort()).toEqual([...pinned].sort());
  });
});
