// The layering of src/ (docs/architecture.md, "Layers"): a module imports only from its own
// layer or the ones below, and no chain of imports leads back to where it started. Type-only
// and on-demand (`await import`) imports count too: they are dependencies all the same.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/project.js';

// Highest first. A module may import from its own layer and any later one.
const LAYERS: [name: string, owns: (path: string) => boolean][] = [
  ['entry', (p) => p === 'bin.ts' || p === 'cli.ts'],
  ['commands', (p) => p.startsWith('commands/')],
  ['steps', (p) => p.startsWith('steps/')],
  ['iso, base-image, vm', (p) => /^(iso|base-image|vm)\//.test(p)],
  // Below iso/: the ISO packs what render/ produces (initrd-overlay.ts), never the reverse.
  ['render', (p) => p.startsWith('render/')],
  ['systems, config', (p) => /^(systems|config)\//.test(p)],
  ['pipeline, files, net, paths', (p) => /^(pipeline|files|net)\//.test(p) || p === 'paths.ts'],
];

const SRC = join(ROOT, 'src');

async function sources(dir = SRC): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(full)));
    else if (e.name.endsWith('.ts')) out.push(relative(SRC, full));
  }
  return out.sort();
}

/** The src-relative .ts files a module imports (static, type-only and dynamic). */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'";]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]!);
  return specs.filter((s) => s.startsWith('.')).map((s) => relative(SRC, resolve(SRC, dirname(file), s)).replace(/\.js$/, '.ts'));
}

const layerOf = (path: string) => LAYERS.findIndex(([, owns]) => owns(path));

/** Every import that points to a higher layer, as "from → to (layer → layer)". */
function upwardImports(g: Map<string, string[]>): string[] {
  const upward: string[] = [];
  for (const [file, imports] of g) {
    for (const target of imports) {
      if (layerOf(target) < layerOf(file)) upward.push(`${file} → ${target} (${LAYERS[layerOf(file)]![0]} → ${LAYERS[layerOf(target)]![0]})`);
    }
  }
  return upward;
}

async function graph(): Promise<Map<string, string[]>> {
  const g = new Map<string, string[]>();
  for (const file of await sources()) g.set(file, importsOf(file, await readFile(join(SRC, file), 'utf8')));
  return g;
}

/** Every cycle's members (Tarjan's strongly connected components of size > 1, or a self-import). */
export function cycles(g: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return found;
}

describe('the layering of src/', () => {
  it('puts every module in a layer, and every import at its own layer or below', async () => {
    const g = await graph();
    const unplaced = [...g.keys()].filter((f) => layerOf(f) < 0);
    expect(unplaced, 'modules outside every layer').toEqual([]);
    for (const [file, imports] of g) {
      for (const target of imports) expect(g.has(target), `${file} imports ${target}, which does not exist`).toBe(true);
    }
    expect(upwardImports(g)).toEqual([]);
  });

  it('has no import cycle', async () => {
    expect(cycles(await graph())).toEqual([]);
  });

  it('finds what it looks for (controls: an upward import and a cycle are caught)', () => {
    expect(importsOf('steps/a.ts', "import type { X } from '../commands/run.js';\nconst m = await import('./b.js');")).toEqual(['commands/run.ts', 'steps/b.ts']);
    expect(upwardImports(new Map([['steps/a.ts', ['commands/run.ts']]]))).toEqual(['steps/a.ts → commands/run.ts (steps → commands)']);
    // render/ may not reach up into iso/ (where WIPE_PARAMETER once lived); iso/ may use render/.
    expect(upwardImports(new Map([['render/render.ts', ['iso/boot-parameters.ts']]]))).toEqual(['render/render.ts → iso/boot-parameters.ts (render → iso, base-image, vm)']);
    expect(upwardImports(new Map([['iso/initrd-overlay.ts', ['render/artifacts.ts']]]))).toEqual([]);
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']], ['d.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('reads the environment only at the entry and in the settings module', async () => {
    const readers: string[] = [];
    for (const file of await sources()) {
      if ((await readFile(join(SRC, file), 'utf8')).includes('process.env')) readers.push(file);
    }
    expect(readers.filter((f) => f !== 'bin.ts' && f !== 'config/settings.ts')).toEqual([]);
  });
});
