// How `vm create` sees that an install is done, decided before anything is made.
//   - ssh: the installed system's SSH banner, on the VM's IPv4 and IPv6 addresses (a
//     dual-stack VM), or on its IPv6 address alone (an IPv6-only VM, from a machine with a
//     public IPv6 route).
//   - report: an IPv6-only VM that this machine cannot reach (GitHub's hosted runners have no
//     IPv6) reports itself: its user-data carries a program (src/vm/install-report-program.ts)
//     that, at the end of its first boot, PUTs a small status to a presigned URL for one
//     object in the user's object storage; vm create polls that object, checks it as
//     untrusted input (src/vm/install-report.ts) and deletes it. The object storage must
//     answer over IPv6, or the VM could not reach it.
// Where neither works, the run stops here, before anything is made, and says what would.
// Trust model: docs/security.md, "The install report".
import { randomUUID } from 'node:crypto';
import { hasPublicIpv6Route, ipv6AddressesOf } from '../../net/ipv6-reach.js';
import { secretPartsOf } from '../../net/urls.js';
import { CLI_COMMAND } from '../../paths.js';
import { messageOf, OperationError, UserInputError } from '../../pipeline/errors.js';
import type { Step, StepContext } from '../../pipeline/runner.js';
import { reportUserData } from '../../vm/report-user-data.js';
import type { VmState } from './state.js';

import type { StorageSettings } from '../../systems/object-storage.js';

/** The longest a presigned URL may live (SigV4: 7 days). */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Object storage from the environment and the config, if all of it is set. */
function configuredStorage(state: VmState): { settings: StorageSettings; keys: { accessKeyId?: string; secretAccessKey?: string; sessionToken?: string } } | undefined {
  const env = state.options.settings.s3;
  const s3 = state.config!.publish.s3;
  const endpoint = env.endpoint ?? s3.endpoint;
  const bucket = env.bucket ?? s3.bucket;
  if (!endpoint || !bucket || !env.accessKeyId || !env.secretAccessKey) return undefined;
  return { settings: { endpoint, bucket, region: env.region ?? s3.region, forcePathStyle: s3.forcePathStyle }, keys: env };
}

const STORAGE_VARIABLES = 'S3_ENDPOINT, S3_BUCKET, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
const ALTERNATIVES = `or pass --no-wait and detach the ISO once the VM is installed, with ${CLI_COMMAND} vm detach ID (an ISO left attached is harmless: it boots the installed system)`;

export const checkInstallSignal: Step<VmState> = {
  title: 'Choose how to see that the install is done',
  skip: (state) => (state.options.noWait ? '--no-wait' : undefined),
  async run(state, { signal }) {
    const reach = state.options.settings.ipv6Reach ?? (await hasPublicIpv6Route());
    if (!state.options.ipv6Only) {
      // Its IPv6 address only where this machine has a route to it: elsewhere a probe there
      // could only fail (or, behind a NAT66 gateway, reach something else), and IPv4 does.
      state.signal = { kind: 'ssh', ipv4: true, ipv6: reach };
      return `the installed system's SSH banner, on the VM's IPv4${reach ? ' or IPv6' : ''} address`;
    }
    const reachWhy = state.options.settings.ipv6Reach === undefined ? 'this machine has no public IPv6 route (GitHub\'s hosted runners have none)' : 'VULTR_SID_ISO_IPV6_REACH=no says this machine cannot reach IPv6 addresses';
    const storage = configuredStorage(state);
    let storageWhy = `no object storage is configured for the VM's report (${STORAGE_VARIABLES})`;
    if (storage) {
      const host = new URL(storage.settings.endpoint).hostname;
      // Path-style URLs name the endpoint's host; virtual-host ones the bucket's.
      const urlHost = storage.settings.forcePathStyle ? host : `${storage.settings.bucket}.${host.replace(/^\[|\]$/g, '')}`;
      const addresses = await ipv6AddressesOf(urlHost);
      if (addresses.length > 0) {
        const { checkBucket, storageClient } = await import('../../systems/object-storage.js');
        const client = storageClient(storage.settings, storage.keys);
        try {
          await checkBucket(client, storage.settings.bucket, signal);
        } catch (error) {
          if (signal.aborted) throw error;
          throw new UserInputError(
            `the object storage for the VM's report does not answer for bucket ${storage.settings.bucket} at ${storage.settings.endpoint} (${messageOf(error)}); check S3_ENDPOINT, S3_BUCKET and the keys, ${ALTERNATIVES}`,
            { cause: error },
          );
        }
        state.signal = { kind: 'report', ipv6Banner: reach, client, storage: storage.settings, prefix: state.config!.publish.s3.prefix, addresses };
        return `the VM's own report, through s3://${storage.settings.bucket}${reach ? " (and its SSH banner on its IPv6 address after the detach)" : ''}`;
      }
      storageWhy = `the object storage endpoint's host ${urlHost} has no IPv6 address, so an IPv6-only VM could not send its report there`;
    }
    if (reach) {
      state.signal = { kind: 'ssh', ipv4: false, ipv6: true };
      return "the installed system's SSH banner, on the VM's IPv6 address";
    }
    throw new UserInputError(
      `vm create --ipv6-only cannot tell when the install is done: ${reachWhy}, and ${storageWhy}; configure object storage that answers over IPv6 (${STORAGE_VARIABLES}), run it on a machine with public IPv6, ${ALTERNATIVES}`,
    );
  },
};

/** Seconds a report URL stays valid: the wait for the install, and the program's own retries. */
const presignSeconds = (state: VmState) => Math.min(MAX_PRESIGN_SECONDS, Math.ceil(state.options.timeoutMs / 1000) + 3600);

/** Deletes this VM's report object (S3 answers a missing key as done). */
export async function deleteReport(state: VmState, { leftovers, signal: abort }: Pick<StepContext, 'leftovers' | 'signal'>): Promise<void> {
  const leftoverKey = 'report';
  const signal = state.signal;
  const key = state.reportKey;
  if (signal?.kind !== 'report' || !key) return;
  const { deleteObject } = await import('../../systems/object-storage.js');
  try {
    await deleteObject(signal.client, signal.storage.bucket, key, abort);
    state.reportKey = undefined;
    leftovers.delete(leftoverKey);
  } catch (error) {
    const text = `the VM's install report object s3://${signal.storage.bucket}/${key} may still be there (it could not be deleted: ${messageOf(error)}); delete it with your S3 client`;
    leftovers.set(leftoverKey, text);
    throw new OperationError(text, { cause: error });
  }
}

export const prepareUserData: Step<VmState> = {
  title: 'Prepare the user-data',
  async run(state, { reporter }) {
    const signal = state.signal;
    if (signal?.kind !== 'report') {
      if (state.userData) state.request!.user_data = state.userData.toString('base64');
      return state.userData ? 'yours' : 'none';
    }
    const { presignedPutUrl } = await import('../../systems/object-storage.js');
    const key = `${signal.prefix.replace(/\/+$/, '')}/install-reports/${randomUUID()}.json`.replace(/^\/+/, '');
    const url = await presignedPutUrl(signal.client, signal.storage.bucket, key, presignSeconds(state));
    // Whoever holds the URL may write the object: never printed, traced or put in a result.
    for (const secret of secretPartsOf(url)) reporter.mask(secret);
    state.reportKey = key;
    state.request!.user_data = reportUserData(state.userData, url, { addresses: signal.addresses }).toString('base64');
    return `${state.userData ? 'yours, and ' : ''}the install report to s3://${signal.storage.bucket}/${key}`;
  },
  async cleanup(state, ctx) {
    // Gone already when the report was read; else whatever the VM may have sent goes now
    // (after the instance's own cleanup, so a deleted VM cannot send one later).
    await deleteReport(state, ctx);
  },
};
