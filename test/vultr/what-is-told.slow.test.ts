// Traces and logs tell no more than they must (issue 20): a --trace (which CI keeps as an
// artifact) records our ISOs and our instances only, never anyone else's labels, file names or
// addresses; a presigned --url is masked in every line, the error, --json and the trace, and
// in GitHub Actions the runner is told to mask it before any line could show it.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { builtIso, cli, config, useVultrChecks, vmCreate, world } from '../helpers/vultr-world.js';

useVultrChecks();

const SIGNATURE = 'X-Amz-Signature=5ec7e75ec7e75ec7e7';

/** Serves the ISO at any path ending in its name (whatever the query), 404 elsewhere. */
async function host(name: string, data: Buffer): Promise<string> {
  const server = createServer((req, res) => {
    const found = new URL(req.url ?? '/', 'http://x').pathname === `/isos/${name}.iso`;
    res.writeHead(found ? 200 : 404, { 'Content-Length': found ? data.length : 0 });
    res.end(req.method === 'HEAD' || !found ? undefined : data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('what traces and logs tell', { timeout: 180_000 }, () => {
  it('a --trace records our ISOs and instances only: no one else\'s ISO names, labels or addresses', async () => {
    const w = await world('vultr-2026', { librarySize: 5 });
    const yaml = await config(w, 'publish:\n  librarySize: 5\n');
    const rescue = [...w.fake.isos.values()][0]!;
    const theirs = w.fake.addInstance({ label: 'payroll-db', isoId: rescue.id, tags: ['accounting'] });
    const ours = w.fake.addInstance({ label: 'web-1', tags: ['vultr-sid-iso'] });
    const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 16 });
    const trace = `${w.dir}/publish.trace`;
    const published = await cli(w, ['publish', '--config', yaml, '--manifest', path, '--poll-interval', '0.1', '--trace', trace]);
    expect(published.exitCode, published.stderr).toBe(0);
    const vmTrace = `${w.dir}/vm.trace`;
    const created = await vmCreate(w, ['--config', yaml, '--trace', vmTrace]);
    expect(created.exitCode, created.stderr).toBe(0);

    const text = (await readFile(trace, 'utf8')) + (await readFile(vmTrace, 'utf8'));
    for (const secret of [rescue.filename, 'payroll-db', 'accounting', theirs.main_ip]) expect(text, secret).not.toContain(secret);
    // It still records all of ours, and each call (the other instance by its id alone).
    for (const mine of [`${manifest.name}.iso`, 'web-1', ours.main_ip, JSON.parse(created.stdout).id]) expect(text, mine).toContain(mine);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.kind === 'api')).toHaveLength(w.fake.requests.length);
    expect(lines.some((l) => l.body?.instances?.some((i: { id: string; label?: string }) => i.id === theirs.id && i.label === undefined))).toBe(true);
  });

  it('a presigned --url is masked in every line, the error, --json and the trace; in Actions the runner is told to mask it', async () => {
    const w = await world();
    const { manifest, path } = await builtIso(w.dir, { bytes: 1 << 16 });
    const base = await host(manifest.name, await readFile(manifest.iso.path));
    const url = `${base}/isos/${manifest.name}.iso?X-Amz-Algorithm=AWS4-HMAC-SHA256&${SIGNATURE}`;
    const trace = `${w.dir}/publish.trace`;
    const plain = await cli(w, ['publish', '--manifest', path, '--url', url, '--poll-interval', '0.1', '--trace', trace]);
    expect(plain.exitCode, plain.stderr).toBe(0);
    expect(w.fake.downloads).toEqual([url]); // Vultr got the real URL
    expect(plain.stderr).toContain('hosted at ***');
    for (const text of [plain.stdout, plain.stderr, await readFile(trace, 'utf8')]) expect(text).not.toContain(SIGNATURE);

    // Another build, at a URL that answers 404: the error names the URL, masked.
    const other = await builtIso(w.dir, { bytes: 1 << 16 });
    const missing = `${base}/gone/${other.manifest.name}.iso?${SIGNATURE}`;
    const failed = await cli(w, ['publish', '--manifest', other.path, '--url', missing, '--poll-interval', '0.1']);
    expect(failed.exitCode).toBe(2);
    expect(failed.stderr.trimEnd().split('\n').at(-1)).toBe(`vultr-sid-iso: --url *** answers HTTP 404 with 0 bytes, but the ISO has ${other.manifest.iso.size}; upload the ISO there first`);

    const actions = await cli(w, ['publish', '--manifest', other.path, '--url', missing, '--poll-interval', '0.1'], { GITHUB_ACTIONS: 'true' });
    expect(actions.exitCode).toBe(2);
    // The only lines that carry it are the runner's orders to mask it.
    const told = actions.stderr.split('\n').filter((l) => l.includes(SIGNATURE));
    expect(told).toEqual([`::add-mask::${missing}`, `::add-mask::${new URL(missing).search.slice(1)}`]);
    expect(actions.stderr).toMatch(/^::error title=vultr-sid-iso publish::--url \*\*\* answers HTTP 404/m);
  });
});
