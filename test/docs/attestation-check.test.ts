// docs/ci.md, "Checking an ISO before booting it": its two shell blocks run as written, with
// the real CLI (`npx vultr-sid-iso iso list --json`, against the fake Vultr), sha256sum, jq and
// head. Only gh and cosign are stand-ins, which cannot run here (GitHub's API, Sigstore): they
// hand out attestation bundles shaped as `gh attestation download` writes them (one Sigstore
// bundle per line: cli/cli pkg/cmd/attestation/download/metadata.go) and record how they
// were called. What is proven: the checksum line is the one the nightly attests, the jq filter
// keeps exactly the attestation of nightly.yml on main, and gh and cosign get that bundle with
// the flags the page names. Not proven: gh's and cosign's verdicts.
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it, onTestFinished } from 'vitest';
import { blocks } from '../helpers/markdown.js';
import { ROOT } from '../helpers/project.js';
import { recordOutput, useVultrChecks, world } from '../helpers/vultr-world.js';

useVultrChecks();

const SECTION = /^## Checking an ISO before booting it$/m;
const ISO = 'vultr-sid-0123456789ab.iso';
const REPO = 'OWNER/REPO';

/** The section's ```sh blocks, in order. */
async function shellBlocks(): Promise<string[]> {
  const page = await readFile(join(ROOT, 'docs/ci.md'), 'utf8');
  const section = page.split(SECTION)[1]?.split(/^## /m)[0] ?? '';
  return blocks(section).filter((b) => b.kind === 'code' && b.lang === 'sh').map((b) => b.text);
}

/** A Sigstore bundle as gh saves it, whose in-toto statement says WORKFLOW at REF built it. */
function bundle(path: string, ref: string): string {
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: `${ISO}.sha512`, digest: { sha256: '…' } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: { buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1', externalParameters: { workflow: { ref, repository: `https://github.com/${REPO}`, path } } } },
  };
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { certificate: { rawBytes: 'MII…' } },
    dsseEnvelope: { payload: Buffer.from(JSON.stringify(statement)).toString('base64'), payloadType: 'application/vnd.in-toto+json', signatures: [{ sig: 'MEU…' }] },
  });
}

const NIGHTLY_MAIN = bundle('.github/workflows/nightly.yml', 'refs/heads/main');
const NIGHTLY_BRANCH = bundle('.github/workflows/nightly.yml', 'refs/heads/feature');
const OTHER_WORKFLOW = bundle('.github/workflows/release.yml', 'refs/heads/main');

/** gh and cosign stand-ins: `gh attestation download` writes BUNDLES as sha256:<hex>.jsonl; every call is logged. */
async function standIns(dir: string, bundles: string[]): Promise<{ bin: string; calls: string }> {
  const bin = join(dir, 'bin');
  const calls = join(dir, 'calls.log');
  await mkdir(bin);
  await writeFile(join(dir, 'bundles.jsonl'), `${bundles.join('\n')}\n`);
  const log = `printf '%s\\n' "$(basename "$0") $*" >> ${calls}`;
  await writeFile(
    join(bin, 'gh'),
    ['#!/bin/sh', log, 'if [ "$1 $2" = "attestation download" ]; then', `  cp ${join(dir, 'bundles.jsonl')} "sha256:$(sha256sum "$3" | cut -d ' ' -f 1).jsonl"`, 'fi', ''].join('\n'),
  );
  await writeFile(join(bin, 'cosign'), ['#!/bin/sh', log, ''].join('\n'));
  await chmod(join(bin, 'gh'), 0o755);
  await chmod(join(bin, 'cosign'), 0o755);
  return { bin, calls };
}

async function runDocs(bundles: string[], inLibrary = ISO) {
  const w = await world();
  const iso = w.fake.addIso(inLibrary);
  w.fake.addIso('vultr-sid-fedcba987654.iso');
  // As a user in the clone, where npx finds the package's own bin: in its build area (ignored by git).
  const dir = await mkdtemp(join(ROOT, 'iso', 'docs-check-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const { bin, calls } = await standIns(dir, bundles);
  // The clone's config, which names our ISOs (the CLI's own advice: cp iso.config.yaml).
  await copyFile(join(ROOT, 'iso.config.yaml'), join(dir, 'iso.config.yaml'));
  const [check, cosign] = await shellBlocks();
  const r = await execa('sh', ['-euc', `${check}\n${cosign}`], { cwd: dir, env: { ...w.env, PATH: `${bin}:${process.env.PATH}`, npm_config_offline: 'true' }, reject: false });
  recordOutput(String(r.stdout), String(r.stderr));
  const read = (name: string) => readFile(join(dir, name), 'utf8').catch(() => '');
  return { r, iso, checksumLine: await read(`${ISO}.sha512`), chosen: await read('nightly.jsonl'), forCosign: await read('nightly.sigstore.json'), calls: (await readFile(calls, 'utf8').catch(() => '')).trim().split('\n') };
}

describe("docs/ci.md's check of an ISO before booting it, run as written", () => {
  it('has the two blocks: the gh check and the cosign check', async () => {
    const found = await shellBlocks();
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(new RegExp(`^export ISO=${ISO.replaceAll('.', '\\.')} .*\nREPO=${REPO} `));
  });

  it("writes the attested checksum line from Vultr's sha512, keeps only nightly.yml on main's attestation, and hands it to gh and cosign with the page's flags", async () => {
    const { r, iso, checksumLine, chosen, forCosign, calls } = await runDocs([NIGHTLY_BRANCH, NIGHTLY_MAIN, OTHER_WORKFLOW]);
    expect(r.exitCode, r.stderr).toBe(0);
    // The line sha512sum prints for the ISO, which the nightly attests (scripts/attestation-subjects.ts).
    expect(checksumLine).toBe(`${iso.sha512sum}  ${ISO}\n`);
    expect(chosen).toBe(`${NIGHTLY_MAIN}\n`);
    expect(forCosign).toBe(`${NIGHTLY_MAIN}\n`);
    const identity = `https://github.com/${REPO}/.github/workflows/nightly.yml@refs/heads/main`;
    expect(calls).toEqual([
      `gh attestation download ${ISO}.sha512 --repo ${REPO}`,
      `gh attestation verify ${ISO}.sha512 --repo ${REPO} --bundle nightly.jsonl --cert-identity ${identity}`,
      `cosign verify-blob-attestation --new-bundle-format --bundle nightly.sigstore.json --type slsaprovenance1 --certificate-identity ${identity} --certificate-oidc-issuer https://token.actions.githubusercontent.com ${ISO}.sha512`,
    ]);
  });

  it('the control: with only a branch build and another workflow attested, nothing is chosen, and the check stops before gh verifies', async () => {
    const { r, chosen, calls } = await runDocs([NIGHTLY_BRANCH, OTHER_WORKFLOW]);
    expect(r.exitCode).not.toBe(0);
    expect(chosen).toBe('');
    expect(calls).toEqual([`gh attestation download ${ISO}.sha512 --repo ${REPO}`]);
  });

  it('an ISO the library does not hold stops the check at once, before gh is asked', async () => {
    const { r, checksumLine, calls } = await runDocs([NIGHTLY_MAIN], 'vultr-sid-aaaaaaaaaaaa.iso');
    expect(r.exitCode).not.toBe(0);
    expect(checksumLine).toBe('');
    expect(calls).toEqual(['']);
  });
});
