// Regenerates iso.config.schema.json and the committed iso.config.yaml (the defaults, each key
// with its description) from src/config/schema.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleConfigYaml } from '../src/config/example-yaml.js';
import { configJsonSchema } from '../src/config/json-schema.js';
import { PROJECT_ROOT } from '../src/paths.js';

writeFileSync(join(PROJECT_ROOT, 'iso.config.schema.json'), configJsonSchema());
writeFileSync(join(PROJECT_ROOT, 'iso.config.yaml'), exampleConfigYaml());
console.log('wrote iso.config.schema.json and iso.config.yaml');
