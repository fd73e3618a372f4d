// publish --attestation (the nightly passes the build job's attestation URL): the published
// manifest and the result name the attestation; anything but an https URL is bad input,
// refused before any call to Vultr.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { builtIso, publish, useVultrChecks, world } from '../helpers/vultr-world.js';

useVultrChecks();

const URL = 'https://github.com/example/vultr-sid-iso/attestations/123456';

describe('publish --attestation', { timeout: 120_000 }, () => {
  it('records the attestation in the manifest with the Vultr ISO, and in the result', async () => {
    const w = await world();
    const { path } = await builtIso(w.dir, { bytes: 1 << 20 });
    const r = await publish(w, path, ['--attestation', URL]);
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.attestation).toBe(URL);
    const saved = JSON.parse(await readFile(path, 'utf8'));
    expect(saved).toMatchObject({ vultr: { isoId: result.isoId, status: 'complete' }, attestation: { url: URL } });
    // Without the flag nothing is claimed.
    const { path: plain } = await builtIso(w.dir, { bytes: 1 << 20 });
    const p = await publish(w, plain);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(JSON.parse(await readFile(plain, 'utf8')).attestation).toBeUndefined();
    expect(JSON.parse(p.stdout).attestation).toBeUndefined();
  });

  it('refuses a value that is not an https URL (exit 2) before calling Vultr', async () => {
    const w = await world();
    const { path } = await builtIso(w.dir, { bytes: 1 << 20 });
    for (const bad of ['http://github.com/x/y/attestations/1', 'attestation-123', '']) {
      const r = await publish(w, path, ['--attestation', bad]);
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr).toContain(`--attestation must be an https:// URL, got "${bad}"`);
    }
    expect(w.fake.requests).toEqual([]);
  });
});
