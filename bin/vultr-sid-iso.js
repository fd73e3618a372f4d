#!/usr/bin/env node
// The command's entry point (package.json "bin"). Committed, unlike the compiled CLI it runs
// (dist/src/bin.js), so that `npx vultr-sid-iso` in a fresh clone finds it and says what to
// run first, instead of the shell's "vultr-sid-iso: not found".
import { existsSync } from 'node:fs';

const cli = new URL('../dist/src/bin.js', import.meta.url);
const notSetUp = (why) => {
  console.error(`vultr-sid-iso: ${why} in ${new URL('..', import.meta.url).pathname}; run npm run setup there first (it installs the node modules and compiles the CLI)`);
  process.exit(2);
};
if (!existsSync(cli)) notSetUp('the CLI is not compiled');
try {
  await import(cli.href);
} catch (error) {
  // A dependency missing: node_modules not installed (or removed) since the compile.
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && /node_modules|Cannot find package/.test(String(error.message))) notSetUp(`a node module is missing (${error.message.split('\n')[0]})`);
  throw error;
}
