// Deployment settings and secrets from the environment, parsed once at the entry under one
// set of rules: a bad value is exit 2 with a sentence naming the variable (and never its
// value when that could be a secret). Nothing below the entry reads process.env: steps and
// systems receive these values.
import { hasCredentials, isLoopbackHost } from '../net/urls.js';
import { UserInputError } from '../pipeline/errors.js';

export const DEFAULT_VULTR_API_URL = 'https://api.vultr.com/v2';

/** Variables whose values are secret: never printed, logged, or allowed into the config (the ISO is public). */
export const SECRET_VARIABLES = ['VULTR_API_KEY', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN'] as const;

export interface Settings {
  vultr: {
    /** VULTR_API_KEY; checked where the API is used, since build needs none. */
    apiKey?: string;
    /** VULTR_API_URL: https:// (http:// only for a loopback address, where tests run a fake). */
    apiUrl: string;
  };
  /** S3_ENDPOINT, S3_BUCKET, S3_REGION (each beats the config's publish.s3) and the AWS_* keys. */
  s3: {
    endpoint?: string;
    bucket?: string;
    region?: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    sessionToken?: string;
  };
  /** VULTR_SID_ISO_HTTP_TIMEOUT / _BACKOFF in ms: tuning for slow networks, and for tests. */
  http: { timeoutMs?: number; backoffMs?: number };
  /** VULTR_SID_ISO_SSH_PORT: where vm create looks for the installed system's SSH banner (22; tests use another). */
  ssh: { port: number };
  /**
   * VULTR_SID_ISO_IPV6_REACH=yes|no: whether this machine can reach a VM's public IPv6 address
   * (vm create dials it only then; --ipv6-only needs it or a report); unset: checked (a route
   * with a global source address).
   */
  ipv6Reach?: boolean;
  terminal: {
    /** NO_COLOR is set (to anything). */
    noColor: boolean;
    /** TERM=dumb or CI set: no live progress bar. */
    plain: boolean;
  };
  /** Set when GITHUB_ACTIONS=true: where Actions wants step outputs and the job summary. */
  actions?: { outputFile?: string; summaryFile?: string };
  /** The secret variables that are set, by name. */
  secrets: SecretValues;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Secret variable name → value. */
export type SecretValues = Readonly<Partial<Record<(typeof SECRET_VARIABLES)[number], string>>>;

const nonEmpty = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

function seconds(env: Env, name: string): number | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UserInputError(`${name} must be a positive number of seconds, got "${raw}"; fix or unset it`);
  return n * 1000;
}

function port(env: Env, name: string): number | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UserInputError(`${name} must be a TCP port from 1 to 65535, got "${raw}"; fix or unset it`);
  return n;
}

function yesNo(env: Env, name: string): boolean | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  if (raw !== 'yes' && raw !== 'no') throw new UserInputError(`${name} must be yes or no, got "${raw}"; fix or unset it`);
  return raw === 'yes';
}

/**
 * An http(s) URL from a variable, with no credentials in it (they would be printed in logs
 * and job summaries). `httpsOnly`: plain http only for loopback, because a bearer key goes
 * with every request to it.
 */
export function urlVariable(env: Env, name: string, httpsOnly: boolean): string | undefined {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UserInputError(`${name} is not a URL; set it to an https:// URL or unset it`);
  }
  if (hasCredentials(url)) {
    throw new UserInputError(`${name} carries credentials (user:password@ in the URL), which would end up in logs; remove them and use the variables meant for keys`);
  }
  const plainAllowed = !httpsOnly || isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && plainAllowed)) {
    throw new UserInputError(
      httpsOnly
        ? `${name} must be an https:// URL (http:// only for a loopback address), got "${raw}"; the API key must not travel in clear text`
        : `${name} must be an http(s):// URL, got "${raw}"`,
    );
  }
  return raw;
}

export function readSettings(env: Env): Settings {
  return {
    vultr: {
      apiKey: nonEmpty(env.VULTR_API_KEY),
      apiUrl: urlVariable(env, 'VULTR_API_URL', true) ?? DEFAULT_VULTR_API_URL,
    },
    s3: {
      endpoint: urlVariable(env, 'S3_ENDPOINT', false),
      bucket: nonEmpty(env.S3_BUCKET),
      region: nonEmpty(env.S3_REGION),
      accessKeyId: nonEmpty(env.AWS_ACCESS_KEY_ID),
      secretAccessKey: nonEmpty(env.AWS_SECRET_ACCESS_KEY),
      sessionToken: nonEmpty(env.AWS_SESSION_TOKEN),
    },
    http: { timeoutMs: seconds(env, 'VULTR_SID_ISO_HTTP_TIMEOUT'), backoffMs: seconds(env, 'VULTR_SID_ISO_HTTP_BACKOFF') },
    ssh: { port: port(env, 'VULTR_SID_ISO_SSH_PORT') ?? 22 },
    ipv6Reach: yesNo(env, 'VULTR_SID_ISO_IPV6_REACH'),
    terminal: { noColor: env.NO_COLOR !== undefined, plain: env.TERM === 'dumb' || Boolean(env.CI) },
    actions: env.GITHUB_ACTIONS === 'true' ? { outputFile: nonEmpty(env.GITHUB_OUTPUT), summaryFile: nonEmpty(env.GITHUB_STEP_SUMMARY) } : undefined,
    secrets: Object.fromEntries(SECRET_VARIABLES.flatMap((name) => (nonEmpty(env[name]) === undefined ? [] : [[name, env[name]!]]))),
  };
}
