// Checks Debian's detached OpenPGP signature on a checksum file, in-process with openpgp.js,
// against pinned keys only: a key is trusted when it is in the shipped keyring AND its
// fingerprint is listed in the config. There is no way to skip this check.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { PROJECT_ROOT } from '../paths.js';

export const SHIPPED_KEYRING = join(PROJECT_ROOT, 'keys/debian-cd-signing.asc');
export const SHIPPED_ARCHIVE_KEYRING = join(PROJECT_ROOT, 'keys/debian-archive-signing.asc');

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

export async function loadPinnedKeys(keyringPath: string, fingerprints: string[]): Promise<openpgp.PublicKey[]> {
  const armored = await readFile(keyringPath, 'utf8');
  const keys = await openpgp.readKeys({ armoredKeys: armored });
  const wanted = new Set(fingerprints.map((f) => f.toLowerCase()));
  return keys.filter((k) => wanted.has(k.getFingerprint().toLowerCase()));
}

type Verification = Awaited<ReturnType<typeof openpgp.verify>>['signatures'][number];

/** openpgp.js's reason for a failed verification, as the one sentence our errors carry. */
function failureText(error: unknown): string {
  const msg = (error as Error).message;
  return /Could not find signing key/i.test(msg) ? 'it was made by a key that is not pinned' : msg.replace(/^Error verifying signed message: /, '');
}

/** The first signature that verifies by a pinned key (a file may carry several, e.g. in a key rollover). */
async function pinnedSigner(signatures: Verification[], keys: openpgp.PublicKey[]): Promise<string> {
  let firstProblem = 'no signature found';
  for (const [i, s] of signatures.entries()) {
    try {
      await s.verified;
      const signer = keys.find((k) => k.getKeys(s.keyID).length > 0);
      return signer?.getFingerprint().toUpperCase() ?? s.keyID.toHex();
    } catch (error) {
      if (i === 0) firstProblem = failureText(error);
    }
  }
  throw new SignatureError(signatures.length > 1 ? `no signature on it is a valid one by a pinned key (the first: ${firstProblem})` : firstProblem);
}

/** Returns the fingerprint of the key that made the signature; throws SignatureError otherwise. */
export async function verifyDetached(data: Uint8Array, signature: Uint8Array, keys: openpgp.PublicKey[]): Promise<string> {
  if (keys.length === 0) throw new SignatureError('no pinned signing key is available');
  const text = Buffer.from(signature).toString('latin1');
  let sig: openpgp.Signature;
  try {
    sig = text.includes('-----BEGIN PGP SIGNATURE')
      ? await openpgp.readSignature({ armoredSignature: text })
      : await openpgp.readSignature({ binarySignature: signature });
  } catch (error) {
    throw new SignatureError(`the signature file is not an OpenPGP signature (${(error as Error).message})`);
  }
  const message = await openpgp.createMessage({ binary: data });
  let result: Awaited<ReturnType<typeof openpgp.verify>>;
  try {
    result = await openpgp.verify({ message, signature: sig, verificationKeys: keys, expectSigned: true });
  } catch (error) {
    throw new SignatureError(failureText(error));
  }
  return pinnedSigner(result.signatures, keys);
}

/**
 * Verifies a clearsigned file (the archive's InRelease, often signed by two keys) and returns
 * the signed text; at least one signature must be by a pinned key.
 */
export async function verifyCleartext(text: string, keys: openpgp.PublicKey[]): Promise<{ signer: string; text: string }> {
  if (keys.length === 0) throw new SignatureError('no pinned signing key is available');
  let message: openpgp.CleartextMessage;
  try {
    message = await openpgp.readCleartextMessage({ cleartextMessage: text });
  } catch (error) {
    throw new SignatureError(`it is not a clearsigned OpenPGP message (${(error as Error).message})`);
  }
  const result = await openpgp.verify({ message, verificationKeys: keys });
  return { signer: await pinnedSigner(result.signatures, keys), text: message.getText() };
}
