import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../src/config/json-schema.js';
import { ROOT } from '../helpers/project.js';

describe('iso.config.schema.json', () => {
  it('is the one generated from the zod schema (run: node dist/scripts/write-config-schema.js)', async () => {
    expect(await readFile(join(ROOT, 'iso.config.schema.json'), 'utf8')).toBe(configJsonSchema());
  });

  it('refuses unknown keys, like the loader', () => {
    const schema = JSON.parse(configJsonSchema());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.docker.additionalProperties).toBe(false);
  });
});
