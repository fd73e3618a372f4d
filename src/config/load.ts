// Loads and validates iso.config.yaml. The first problem is reported as one line:
// "<file>: <path>: <value> <what is expected>", exit code 2, before anything is written.
import { readdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import yaml from 'js-yaml';
import type { z } from 'zod';
import { readInputFile } from '../files/read-input.js';
import { hasCredentials } from '../net/urls.js';
import { PROJECT_ROOT } from '../paths.js';
import { UserInputError } from '../pipeline/errors.js';
import { configInputSchema } from './json-schema.js';
import { configSchema, type Config } from './schema.js';
import { SECRET_VARIABLES, type SecretValues } from './settings.js';

const SECRET_PATTERNS: [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
  [/\bAKIA[0-9A-Z]{16}\b/, 'an AWS access key id'],
  [/\b[A-Z0-9]{36}\b/, 'something shaped like a Vultr API key'],
];

function show(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return 'nothing';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function pathOf(path: PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top level)';
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  default?: unknown;
}

/** "a number", "an array": the type's name with its article. */
const withArticle = (word: string) => `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;

/** The JSON Schema node of the key at `path` (array indexes go to the items' node). */
function schemaNodeAt(path: PropertyKey[]): SchemaNode {
  let node = configInputSchema() as SchemaNode;
  for (const p of path) node = (typeof p === 'number' ? node.items : node.properties?.[String(p)]) ?? {};
  return node;
}

/** The fix for a value of the wrong type: what to write, shown with the key's default where it has one. */
function typeFix(path: PropertyKey[], expected: string, input: unknown): string {
  if (expected === 'array' && typeof input === 'string') return `; write a list, such as [${show(input)}]`;
  if (expected === 'object') return `; write its keys under it, indented (docs/config.md lists them)`;
  const fallback = schemaNodeAt(path).default;
  const example = fallback === undefined || expected === 'boolean' || (Array.isArray(fallback) && fallback.length === 0) ? '' : `, such as its default ${show(fallback)}`;
  const what = expected === 'boolean' ? 'true or false' : expected === 'array' ? 'a list' : withArticle(expected);
  return `; write ${what}${example} (docs/config.md describes each key)`;
}

/** Edit distance (insert, delete, substitute, swap two neighbours): how far a typo is from a key. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** "section.key" for each section of the config that has `key`. */
function sectionsWithKey(key: string): string[] {
  return Object.entries(schemaNodeAt([]).properties ?? {})
    .filter(([, node]) => Object.hasOwn(node.properties ?? {}, key))
    .map(([section]) => `${section}.${key}`);
}

/** The schema's key nearest to `key` at `path`, if one is near enough to be the one meant. */
function nearestKey(path: PropertyKey[], key: string): string | undefined {
  const near = Object.keys(schemaNodeAt(path).properties ?? {})
    .map((k) => [k, distance(key.toLowerCase(), k.toLowerCase())] as const)
    .filter(([k, n]) => n <= Math.max(1, Math.floor(k.length / 3)))
    .sort((a, b) => a[1] - b[1]);
  return near[0]?.[0];
}

export function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  const input = 'input' in issue ? issue.input : issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k], root);
  const path = pathOf(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = issue.keys.map((k) => `${path === '(top level)' ? '' : `${path}.`}${k}`);
      if (keys.includes('docker.ip6tables')) return 'docker.ip6tables: replaced by docker.exposure; use published (the default: only published ports answer) or all-ports (what ip6tables: false did)';
      const meant = issue.keys.length === 1 ? nearestKey(issue.path, issue.keys[0]!) : undefined;
      if (meant) return `${keys[0]}: unknown key; did you mean ${path === '(top level)' ? '' : `${path}.`}${meant}?`;
      // "timeout: 5" at the top level: a key of a section, written without its section.
      const sectioned = issue.keys.length === 1 && issue.path.length === 0 ? sectionsWithKey(issue.keys[0]!) : [];
      if (sectioned.length) return `${keys[0]}: not a top-level key; did you mean ${sectioned.join(' or ')}, indented under its section?`;
      return `${keys.join(', ')}: unknown key${keys.length > 1 ? 's' : ''}; check the spelling against iso.config.schema.json`;
    }
    case 'invalid_type':
      if (input === undefined) return `${path}: missing; expected ${issue.expected}`;
      if (!issue.message.startsWith('Invalid input')) return `${path}: ${show(input)} ${issue.message}`;
      return `${path}: ${show(input)} is not ${withArticle(issue.expected)}${typeFix(issue.path, issue.expected, input)}`;
    default:
      if (/^(Invalid|Too|Expected)/.test(issue.message)) {
        return `${path}: ${show(input)} is invalid (${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)})`;
      }
      return `${path}: ${show(input)} ${issue.message}`;
  }
}

function walkStrings(value: unknown, path: PropertyKey[], visit: (s: string, path: PropertyKey[]) => void): void {
  if (typeof value === 'string') visit(value, path);
  else if (Array.isArray(value)) value.forEach((v, i) => walkStrings(v, [...path, i], visit));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walkStrings(v, [...path, k], visit);
}

/** Refuses anything secret-looking: the config's values are baked into a public ISO. */
export function assertNoSecrets(config: unknown, secrets: SecretValues, file: string): void {
  const envSecrets = SECRET_VARIABLES.map((name) => [name, secrets[name] ?? ''] as const).filter(([, v]) => v.length >= 8);
  walkStrings(config, [], (s, path) => {
    // A public SSH key is not a secret and legitimately contains long base64 runs.
    if (path[0] === 'admin' && path[1] === 'sshAuthorizedKeys') return;
    for (const [name, secret] of envSecrets) {
      if (s.includes(secret)) {
        throw new UserInputError(`${file}: ${pathOf(path)}: holds the value of $${name}; secrets come from the environment only, never the config (the ISO is public)`);
      }
    }
    for (const [pattern, what] of SECRET_PATTERNS) {
      if (pattern.test(s)) {
        throw new UserInputError(`${file}: ${pathOf(path)}: looks like ${what}; secrets must not be in the config because the ISO is published at a URL`);
      }
    }
  });
}

/** `secrets`: the secret environment values (Settings.secrets), none of which may appear in the config. */
/** URLs must not carry user:password@: they would be printed, and written to the manifest. Never echoes the value. */
function assertNoUrlCredentials(config: Config, file: string): void {
  const urls: [string, string | undefined][] = [
    ['base.url', config.base.url],
    ['publish.s3.endpoint', config.publish.s3.endpoint],
  ];
  for (const [path, value] of urls) {
    if (value && hasCredentials(new URL(value))) {
      throw new UserInputError(`${file}: ${path}: carries credentials (user:password@ in the URL), which would end up in logs and the manifest; remove them (object storage keys come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`);
    }
  }
}

export function parseConfig(text: string, file: string, secrets: SecretValues = {}): Config {
  let raw: unknown;
  try {
    raw = yaml.load(text, { filename: file, schema: yaml.CORE_SCHEMA });
  } catch (error) {
    const e = error as { reason?: string; mark?: { line: number; column: number } };
    const where = e.mark ? `line ${e.mark.line + 1}, column ${e.mark.column + 1}` : 'unknown position';
    throw new UserInputError(`${file}: YAML syntax error at ${where}: ${e.reason ?? 'cannot parse'}; fix the file and try again`, { cause: error });
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserInputError(`${file}: the top level is ${show(raw)}, expected a mapping of settings`);
  }
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    const issues = result.error.issues;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
    throw new UserInputError(`${file}: ${describeIssue(issues[0]!, raw)}${more}`);
  }
  assertNoSecrets(result.data, secrets, file);
  assertNoUrlCredentials(result.data, file);
  return result.data;
}

export async function loadConfig(file: string, secrets: SecretValues = {}): Promise<Config> {
  const example = join(PROJECT_ROOT, 'iso.config.yaml');
  const text = await readInputFile(file, {
    what: `config file ${file}${isAbsolute(file) ? '' : ` (in ${process.cwd()})`}`,
    // Every key is optional: the example is the defaults, with each key explained.
    missing: `pass --config FILE, or start from the example: cp ${example} ${file}`,
    directory: () => {
      let yamls: string[] = [];
      try {
        yamls = readdirSync(file).filter((n) => /\.ya?ml$/.test(n)).sort();
      } catch {
        // an unreadable directory: no names to offer
      }
      return yamls.length ? `pass --config with one of the YAML files in it: ${yamls.map((n) => join(file, n)).join(', ')}` : 'pass --config with a YAML file';
    },
  });
  return parseConfig(text.toString('utf8'), file, secrets);
}
