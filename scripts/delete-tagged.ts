// Deletes every Vultr instance carrying a tag (a CI run's own, e.g. vsi-run-<run id>), waiting
// out Vultr's locks, and fails if any is left: the nightly's clean-up after a smoke-test VM,
// which runs whatever happened before it (a failure, a cancellation, a timeout).
//   node dist/scripts/delete-tagged.js --tag TAG
import { parseArgs } from 'node:util';
import { readSettings } from '../src/config/settings.js';
import { vultrClient } from '../src/systems/vultr-api.js';

const { values } = parseArgs({ options: { tag: { type: 'string' } } });

async function main(): Promise<number> {
  if (!values.tag || !/^vsi-[A-Za-z0-9_.:-]+$/.test(values.tag)) {
    console.error('usage: delete-tagged --tag vsi-<run tag> (only tags this project gives its CI runs)');
    return 2;
  }
  const vultr = vultrClient(readSettings(process.env), new AbortController().signal);
  for (const vm of await vultr.listInstances({ tag: values.tag })) {
    console.error(`deleting VM ${vm.id} (${vm.label})`);
    await vultr.whenUnlocked(vm.id, 'delete it', () => vultr.deleteInstance(vm.id), { intervalMs: 10_000, info: (m) => console.error(m) });
  }
  const left = await vultr.listInstances({ tag: values.tag });
  for (const vm of left) console.error(`still there: VM ${vm.id} (${vm.label})`);
  return left.length ? 1 : 0;
}

process.exitCode = await main();
