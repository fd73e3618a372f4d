// The CLI in GitHub Actions mode (GITHUB_ACTIONS=true) against the fake Vultr API and
// s3rver: log groups, masked secrets, annotations, the job summary and step outputs; and
// none of it outside Actions.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { standinIso } from '../helpers/fixtures.js';
import { API_KEY, cli, useVultrChecks, world } from '../helpers/vultr-world.js';

useVultrChecks();

describe('GitHub Actions mode', { timeout: 180_000 }, () => {
  it('groups, masks, writes the job summary and the outputs; without GITHUB_ACTIONS none of it', async () => {
    const w = await world();
    const summary = join(w.dir, 'summary.md');
    const output = join(w.dir, 'output.txt');
    await writeFile(summary, '');
    await writeFile(output, '');
    const config = join(w.dir, 'presigned.yaml');
    await writeFile(config, 'publish:\n  s3:\n    access: presigned\n');
    const actions = { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output };

    const built = await cli(w, ['build', '--config', config, '--base-iso', await standinIso('netinst'), '--out-dir', join(w.dir, 'out')], actions);
    expect(built.exitCode, built.stderr).toBe(0);
    const manifest = JSON.parse(built.stdout); // stdout holds only the JSON result
    const published = await cli(w, ['publish', '--config', config, '--manifest', manifest.iso.path.replace(/\.iso$/, '.json'), '--poll-interval', '0.1', '--allow-unverified'], actions);
    expect(published.exitCode, published.stderr).toBe(0);
    const result = JSON.parse(published.stdout);

    expect(built.stderr).toContain(`::add-mask::${API_KEY}`);
    expect(built.stderr).toMatch(/^::group::Write ISO \(xorriso replay\)$/m);
    expect(built.stderr).toMatch(/^::endgroup::$/m);
    expect(built.stderr).toMatch(/^::warning::base ISO .* is a local file/m);
    // The presigned URL (it grants access) is masked before anything could print it.
    expect(published.stderr).toMatch(/^::add-mask::http:\/\/127\.0\.0\.1:\d+\/isos\/.*X-Amz-Signature=/m);
    for (const o of [built, published]) expect(o.stderr.split(API_KEY).length - 1, o.stderr).toBe(1); // only inside add-mask

    const table = await readFile(summary, 'utf8');
    for (const text of [manifest.name, `${(manifest.iso.size / 2 ** 20).toFixed(1)} MiB`, manifest.iso.sha256, 'Base verified', 'no (local file)', result.isoId, 'complete', 'Pruned ISOs', 'Write ISO (xorriso replay)', 'Register the ISO with Vultr']) {
      expect(table).toContain(text);
    }
    const outputs = await readFile(output, 'utf8');
    expect(outputs).toMatch(new RegExp(`^iso-path<<(ghadelimiter_[^\\n]+)\\n${manifest.iso.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n\\1$`, 'm'));
    expect(outputs).toContain(manifest.iso.sha256);
    expect(outputs).toMatch(new RegExp(`^vultr-iso-id<<(ghadelimiter_[^\\n]+)\\n${result.isoId}\\n\\1$`, 'm'));

    // A failure becomes an error annotation.
    const failed = await cli(w, ['publish', '--config', config, '--manifest', join(w.dir, 'nope.json')], actions);
    expect(failed.exitCode).toBe(2);
    expect(failed.stderr).toMatch(/^::error title=vultr-sid-iso publish::manifest .*nope\.json does not exist; pass the <name>\.json/m);

    // Outside Actions: no workflow commands anywhere, and nothing appended to the files.
    const before = [await readFile(summary, 'utf8'), await readFile(output, 'utf8')];
    const plain = await cli(w, ['iso', 'list'], { GITHUB_STEP_SUMMARY: summary, GITHUB_OUTPUT: output });
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(`${plain.stdout}${plain.stderr}`).not.toMatch(/::[a-z-]+/);
    expect([await readFile(summary, 'utf8'), await readFile(output, 'utf8')]).toEqual(before);
  });
});
