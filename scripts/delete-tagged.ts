// Deletes every Vultr instance carrying a tag (a CI run's own, e.g. vsi-run-<run id>), waiting
// out Vultr's locks, and fails if any is left: the nightly's clean-up after a smoke-test VM,
// which runs whatever happened before it (a failure, a cancellation, a timeout). Which VMs
// carry the tag is decided here, from each one's tags[], never by Vultr's `?tag=` filter
// (VultrClient.listTagged): what it deletes and its "none left" are ours to decide.
//   node dist/scripts/delete-tagged.js --tag TAG   (--help)
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { readSettings } from '../src/config/settings.js';
import { vultrClient } from '../src/systems/vultr-api.js';
import { parseScriptArgs, scriptCommand } from './script-cli.js';

const values = parseScriptArgs(
  scriptCommand('delete-tagged', 'Delete every Vultr instance carrying a tag this project gives its CI runs, waiting out locks; exit 1 if any is left.').requiredOption(
    '--tag <tag>',
    'the run\'s tag, vsi-…',
    (tag) => {
      if (!/^vsi-[A-Za-z0-9_.:-]+$/.test(tag)) throw new InvalidArgumentError('only tags this project gives its CI runs (vsi-…) are accepted');
      return tag;
    },
  ),
).opts();

async function main(): Promise<number> {
  const vultr = vultrClient(readSettings(process.env), new AbortController().signal);
  for (const vm of await vultr.listTagged(values.tag)) {
    console.error(`deleting VM ${vm.id} (${vm.label})`);
    await vultr.whenUnlocked(vm.id, 'delete it', () => vultr.deleteInstance(vm.id), { intervalMs: 10_000, info: (m) => console.error(m) });
  }
  const left = await vultr.listTagged(values.tag);
  for (const vm of left) console.error(`still there: VM ${vm.id} (${vm.label})`);
  return left.length ? 1 : 0;
}

process.exitCode = await main();
