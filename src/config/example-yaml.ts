// The committed iso.config.yaml, written from the zod schema: every key with its default and
// its description as a comment, and a key without a default commented out. So the file that
// "shows the defaults" cannot leave one out or explain one differently from the schema (and
// from iso.config.schema.json, which editors show); a test keeps the committed file in sync.
import yaml from 'js-yaml';
import { configInputSchema } from './json-schema.js';

interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  properties?: Record<string, Node>;
  /** A retired key (z.never()): refused with its own message, never shown. */
  not?: unknown;
}

const WIDTH = 96;

const HEADER = `# yaml-language-server: $schema=./iso.config.schema.json
# vultr-sid-iso configuration. Everything here is baked into an ISO that is published at a
# URL: no secrets (API keys come from the environment; passwords only as crypted hashes).
# Every key is optional: the values below are the defaults, and a key without a default is
# shown commented out. Reference: docs/config.md. Written from src/config/schema.ts by
# \`node dist/scripts/write-config-schema.js\`: to change a setting, copy this file and pass
# --config FILE (a test keeps this one equal to the defaults).
`;

/** The words of `text`, a code span (`vm list`) kept whole. */
function words(text: string): string[] {
  return text.match(/(?:`[^`]*`|[^\s`])+/g) ?? [];
}

/** `text` as comment lines of at most WIDTH columns at `indent`. */
function comment(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words(text)) {
    if (line && indent.length + 2 + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => `${indent}# ${l}`);
}

/** `key: value` in YAML, a list as a block, indented. */
function entry(key: string, value: unknown, indent: string): string[] {
  const text = yaml.dump({ [key]: value }, { indent: 2, lineWidth: -1 });
  return text.trimEnd().split('\n').map((l) => `${indent}${l}`);
}

function lines(node: Node, indent: string, top: boolean): string[] {
  const out: string[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (child.not !== undefined) continue;
    if (child.properties) {
      if (top) out.push('');
      if (child.description) out.push(...comment(child.description, indent));
      out.push(`${indent}${key}:`, ...lines(child, `${indent}  `, false));
      continue;
    }
    if (top) out.push('');
    out.push(...comment(child.description ?? '', indent));
    if (child.default === undefined) out.push(`${indent}# ${key}:`);
    else out.push(...entry(key, child.default, indent));
  }
  return out;
}

export function exampleConfigYaml(): string {
  const schema = configInputSchema() as Node;
  return `${HEADER}${lines(schema, '', true).join('\n')}\n`;
}
