// iso.config.schema.json, for editor completion and validation, generated from the zod
// schema (the single source of truth); a test keeps the committed file in sync.
import { z } from 'zod';
import { configSchema } from './schema.js';

/** The config's JSON Schema as a user writes the config (defaults optional), before our title. */
export function configInputSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

export function configJsonSchema(): string {
  const schema = configInputSchema();
  const out = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'vultr-sid-iso configuration (iso.config.yaml)',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
