// iso.config.schema.json, for editor completion and validation, generated from the zod
// schema (the single source of truth); a test keeps the committed file in sync.
import { z } from 'zod';
import { configSchema } from './schema.js';

export function configJsonSchema(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  const out = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'vultr-sid-iso configuration (iso.config.yaml)',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
