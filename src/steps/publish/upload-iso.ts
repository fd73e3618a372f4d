// Put the ISO at a URL Vultr can fetch: an object under <prefix>/<random>/<name>.iso,
// presigned (the default: the URL stops working after a few hours) or public-read (a plain
// URL). The ISO carries the config's password hash and key comments, so the random part keeps
// its URL from being guessed, and neither a presigned URL nor that part is printed (Actions
// logs of a public repository are public). With --url the ISO is already hosted: its size is
// checked with a GET of its first byte, never HEAD, which a presigned URL refuses
// (systems/hosted-url.ts). The object is deleted once Vultr has the ISO, and
// on failure.
import { randomBytes } from 'node:crypto';
import { messageOf, OperationError, UserInputError } from '../../pipeline/errors.js';
import type { Step } from '../../pipeline/runner.js';
import { isoFileName } from '../../iso/output-name.js';
import { secretPartsOf } from '../../net/urls.js';
import { checkHostedIso } from '../../systems/hosted-url.js';
import type { PublishState } from './state.js';

const PRESIGN_SECONDS = 6 * 3600;

export const uploadIso: Step<PublishState> = {
  title: 'Upload to object storage',
  skip: (state) => (state.alreadyInLibrary ? 'the library has it' : undefined),
  async run(state, { reporter, signal, leftovers }) {
    const manifest = state.manifest!;
    if (state.options.url) {
      const { http } = state.options.settings;
      await checkHostedIso(state.options.url, manifest.iso.size, { signal, backoffMs: http.backoffMs, timeoutMs: http.timeoutMs });
      state.url = state.options.url;
      return `hosted at ${state.url}`;
    }
    const env = state.options.settings.s3;
    const s3 = state.config!.publish.s3;
    const endpoint = env.endpoint ?? s3.endpoint;
    const bucket = env.bucket ?? s3.bucket;
    if (!endpoint || !bucket) {
      throw new UserInputError('no object storage is configured; set S3_ENDPOINT and S3_BUCKET (or publish.s3.endpoint and .bucket in the config), or pass --url for an ISO hosted elsewhere');
    }
    const settings = { endpoint, bucket, region: env.region ?? s3.region, forcePathStyle: s3.forcePathStyle };
    const unguessable = randomBytes(16).toString('hex');
    reporter.mask(unguessable);
    // Ends in the ISO's own name, which Vultr takes from the URL and which marks it as ours.
    const key = [s3.prefix.replace(/^\/+|\/+$/g, ''), unguessable, isoFileName(manifest.name)].filter(Boolean).join('/');
    // The AWS SDK loads only when something is uploaded.
    const { presignedUrl, publicUrl, storageClient, uploadFile } = await import('../../systems/object-storage.js');
    const client = storageClient(settings, env);
    state.storage = { client, settings, key };
    state.objectUploaded = true; // from here on a partial object may exist: cleanup deletes it
    leftovers.set('object', `the uploaded object s3://${bucket}/${key} is still there; delete it with your S3 client`);
    await uploadFile(client, bucket, key, manifest.iso.path, {
      publicRead: s3.access === 'public-read',
      signal,
      onProgress: (done, total) => reporter.progress('uploading', done, total),
    });
    state.url = s3.access === 'public-read' ? publicUrl(settings, key) : await presignedUrl(client, bucket, key, PRESIGN_SECONDS);
    for (const secret of secretPartsOf(state.url)) reporter.mask(secret);
    return `s3://${bucket}/${key}`;
  },
  async cleanup(state, { reporter, leftovers }) {
    if (!state.objectUploaded || !state.storage) return;
    if (state.options.keepObject) return leftovers.delete('object');
    const { client, settings, key } = state.storage;
    const { deleteObject } = await import('../../systems/object-storage.js');
    try {
      await deleteObject(client, settings.bucket, key);
      leftovers.delete('object');
      reporter.info(`deleted s3://${settings.bucket}/${key}`);
    } catch (error) {
      throw new OperationError(`could not delete s3://${settings.bucket}/${key} (${messageOf(error)}); delete it by hand`);
    }
  },
};
