// What the nightly's build job attests (actions/attest-build-provenance, subject-checksums):
// the ISO by sha512 (the digest Vultr reports for an ISO in the library) and by sha256 (gh
// attestation verify's default), the manifest, and <name>.iso.sha512 beside the ISO: the one
// checksum line "<sha512>  <name>.iso" that a user can write again, byte for byte, from Vultr's
// listing alone, and so verify with gh without the ISO's bytes (docs/ci.md). The ISO is hashed
// again here and must match its manifest, so nothing but what build made is attested.
// Prints `sha512=<hex>` for $GITHUB_OUTPUT (the build job's output, which publish checks).
//   node dist/scripts/attestation-subjects.js --manifest iso/out/<name>.json --subjects FILE
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../src/files/atomic-write.js';
import { hashFile } from '../src/files/hash-file.js';
import { readManifestFile } from '../src/iso/manifest.js';
import { isoFileName } from '../src/iso/output-name.js';
import { CLI_COMMAND } from '../src/paths.js';
import { exitCodeOf, UserInputError } from '../src/pipeline/errors.js';
import { parseScriptArgs, scriptCommand } from './script-cli.js';

/** The line sha512sum prints for the ISO; the attested sidecar holds exactly this. */
const checksumLine = (sha512: string, isoName: string) => `${sha512}  ${isoName}\n`;

const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

const values = parseScriptArgs(
  scriptCommand('attestation-subjects', "Hash a built ISO again against its manifest and write the subjects the nightly attests; prints sha512=<hex> for $GITHUB_OUTPUT.")
    .requiredOption('--manifest <file>', `the manifest that ${CLI_COMMAND} build wrote next to its ISO`)
    .requiredOption('--subjects <file>', 'where to write the list of subjects (sha256sum format)'),
).opts();

async function main(): Promise<void> {
  const manifest = await readManifestFile(values.manifest);
  const name = isoFileName(manifest.name);
  // The manifest records the build machine's path; beside the manifest is where the ISO is otherwise.
  const iso = existsSync(manifest.iso.path) ? manifest.iso.path : join(dirname(values.manifest), name);
  if (!existsSync(iso)) throw new UserInputError(`the ISO of manifest ${values.manifest} is neither at ${manifest.iso.path} nor beside the manifest; pass the manifest that ${CLI_COMMAND} build wrote next to its ISO`);
  const digests = await hashFile(iso, ['sha512', 'sha256']);
  if (digests.sha512 !== manifest.iso.sha512 || digests.sha256 !== manifest.iso.sha256) {
    throw new UserInputError(`${iso} does not match the digests in its manifest ${values.manifest}; rebuild it with ${CLI_COMMAND} build`);
  }
  const line = checksumLine(digests.sha512, name);
  const sidecar = `${iso}.sha512`;
  await writeFileAtomic(sidecar, line);
  const subjects = [
    `${digests.sha512}  ${name}`,
    `${digests.sha256}  ${name}`,
    `${sha256(await readFile(values.manifest))}  ${basename(values.manifest)}`,
    `${sha256(line)}  ${basename(sidecar)}`,
  ];
  await writeFileAtomic(values.subjects, `${subjects.join('\n')}\n`);
  console.log(`sha512=${digests.sha512}`);
}

try {
  await main();
} catch (error) {
  console.error(`attestation-subjects: ${(error as Error).message}`);
  process.exitCode = exitCodeOf(error);
}
