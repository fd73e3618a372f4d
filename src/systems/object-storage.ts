// S3-compatible object storage (Vultr Object Storage or any other) where the ISO waits for
// Vultr to fetch it: POST /v2/iso takes a URL, not an upload. Credentials come from the
// environment only (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, read once into Settings).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { OperationError, UserInputError } from '../pipeline/errors.js';

export interface StorageSettings {
  endpoint: string;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
}

/** The object storage keys (Settings.s3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). */
export interface StorageCredentials {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

export function storageClient(settings: StorageSettings, keys: StorageCredentials): S3Client {
  if (!keys.accessKeyId || !keys.secretAccessKey) {
    throw new UserInputError('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set; export the object storage keys (Vultr: Object Storage → your subscription → S3 credentials), or pass --url for an ISO hosted elsewhere');
  }
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey, sessionToken: keys.sessionToken },
    // Since SDK 3.729 checksums are added by default (aws/aws-sdk-js-v3#6810), which many
    // S3-compatible stores reject; s3rver, tried by hand, stored a stream body's aws-chunked
    // framing as the object.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A store that holds a request open must not hold the run: the SDK sets no limit of its
    // own. This is the socket's idle time, so a large part that keeps flowing is not cut.
    requestHandler: { requestTimeout: 60_000 },
  });
}

export async function uploadFile(
  client: S3Client,
  bucket: string,
  key: string,
  path: string,
  options: { publicRead: boolean; onProgress?: (done: number, total: number) => void; signal?: AbortSignal },
): Promise<void> {
  const size = (await stat(path)).size;
  const upload = new Upload({
    client,
    params: {
      Bucket: bucket,
      Key: key,
      Body: createReadStream(path),
      ContentType: 'application/x-iso9660-image',
      ContentLength: size,
      ...(options.publicRead ? { ACL: 'public-read' as const } : {}),
    },
    partSize: 16 * 1024 * 1024,
    queueSize: 4,
    leavePartsOnError: false,
  });
  upload.on('httpUploadProgress', (p) => options.onProgress?.(p.loaded ?? 0, size));
  const abort = () => void upload.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    await upload.done();
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new OperationError(`uploading to s3://${bucket}/${key} failed: ${(error as Error).message}; check S3_ENDPOINT, S3_BUCKET and the credentials`, { cause: error });
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  if (head.ContentLength !== size) {
    throw new OperationError(`s3://${bucket}/${key} holds ${head.ContentLength} bytes after the upload, expected ${size}`);
  }
}

/** A plain URL (public-read objects), path- or virtual-host-style like the client. */
export function publicUrl(settings: StorageSettings, key: string): string {
  const endpoint = new URL(settings.endpoint);
  const path = key.split('/').map(encodeURIComponent).join('/');
  if (settings.forcePathStyle) return `${endpoint.origin}/${settings.bucket}/${path}`;
  return `${endpoint.protocol}//${settings.bucket}.${endpoint.host}/${path}`;
}

export function presignedUrl(client: S3Client, bucket: string, key: string, expiresInSeconds: number): Promise<string> {
  return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSeconds });
}

export async function deleteObject(client: S3Client, bucket: string, key: string, signal?: AbortSignal): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
}

/** A URL that lets whoever holds it PUT one object (and nothing else) until it expires: a secret. */
export function presignedPutUrl(client: S3Client, bucket: string, key: string, expiresInSeconds: number): Promise<string> {
  return getSignedUrl(client, new PutObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: expiresInSeconds });
}

/** The bucket answers these credentials (before anything is made that depends on it). */
export async function checkBucket(client: S3Client, bucket: string, signal?: AbortSignal): Promise<void> {
  await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
}

/** The object's bytes if it exists (undefined if not); one larger than maxBytes is an error, unread. */
export async function readSmallObject(client: S3Client, bucket: string, key: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    if ((head.ContentLength ?? 0) > maxBytes) throw new OperationError(`s3://${bucket}/${key} holds ${head.ContentLength} bytes, more than the ${maxBytes} expected`);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${maxBytes}` }), { abortSignal: signal });
    const bytes = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    if (bytes.length > maxBytes) throw new OperationError(`s3://${bucket}/${key} holds more than the ${maxBytes} bytes expected`);
    return bytes;
  } catch (error) {
    // HEAD answers a missing key with a bare 404 (NotFound), GET with NoSuchKey.
    if (error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey' || error.name === 'NotFound')) return undefined;
    throw error;
  }
}
