// Regenerates iso.config.schema.json from src/config/schema.ts.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchema } from '../src/config/json-schema.js';
import { PROJECT_ROOT } from '../src/paths.js';

writeFileSync(join(PROJECT_ROOT, 'iso.config.schema.json'), configJsonSchema());
console.log('wrote iso.config.schema.json');
