// Which of our ISOs publish deletes to fit both publish.keep and the library's size, and what
// it says when they cannot both hold.
import { describe, expect, it } from 'vitest';
import { planRoom, type Library } from '../../src/iso/vultr-library.js';
import type { VultrInstance, VultrIso } from '../../src/systems/vultr-api.js';

let day = 0;
const iso = (filename: string): VultrIso => ({ id: filename, filename, status: 'complete', date_created: new Date(Date.UTC(2026, 10, 1 + day++)).toISOString() });
const vm = (id: string): VultrInstance => ({ id, label: id, region: 'ewr', plan: 'p', status: 'active', power_status: 'running', main_ip: '192.0.2.7', date_created: '' });
const ours = (n: number) => `vultr-sid-${String(n).repeat(12)}.iso`;
const library = (isos: VultrIso[], attached: [string, VultrInstance][] = []): Library => ({ isos, attached: new Map(attached.map(([i, v]) => [i, [v]])) });
const names = (isos: VultrIso[]) => isos.map((i) => i.filename);

describe('planRoom', () => {
  const rules = { prefix: 'vultr-sid', keep: 2, capacity: 2, adding: true };

  it('an empty library, or one with room, needs nothing deleted', () => {
    expect(planRoom(library([]), rules)).toEqual({ remove: [], attachedKept: [] });
    expect(planRoom(library([iso('foreign.iso')]), rules)).toEqual({ remove: [], attachedKept: [] });
  });

  it('a full 2-ISO library with a foreign ISO: our only one goes, the foreign one never', () => {
    const foreign = iso('foreign.iso');
    const mine = iso(ours(1));
    expect(names(planRoom(library([foreign, mine]), rules).remove)).toEqual([ours(1)]);
  });

  it('beyond keep, oldest first; an attached one stays and does not count against keep', () => {
    const isos = [1, 2, 3, 4].map((n) => iso(ours(n)));
    const plan = planRoom(library(isos, [[ours(1), vm('a')]]), { ...rules, capacity: 10 });
    expect(names(plan.remove)).toEqual([ours(2), ours(3)]);
    expect(names(plan.attachedKept)).toEqual([ours(1)]);
    expect(plan.full).toBeUndefined();
  });

  it('cannot make room when only an attached ISO of ours and foreign ones fill it: says what fills it', () => {
    const plan = planRoom(library([iso('foreign.iso'), iso(ours(1))], [[ours(1), vm('web')]]), rules);
    expect(plan.remove).toEqual([]);
    expect(plan.full).toBe(`holds 2 of 2: ${ours(1)} (ours, attached to instance web (web, 192.0.2.7)), foreign.iso (not ours)`);
  });

  it('never counts a look-alike name as ours', () => {
    const plan = planRoom(library([iso('vultr-sid-notours.iso'), iso('vultr-sid-0123456789ab.iso.bak')]), rules);
    expect(plan.remove).toEqual([]);
    expect(plan.full).toMatch(/^holds 2 of 2/);
  });

  it('pruning after a publish (nothing added) keeps the pinned new one and the newest others up to keep', () => {
    const isos = [1, 2, 3].map((n) => iso(ours(n)));
    const plan = planRoom(library(isos), { ...rules, adding: false, capacity: Number.POSITIVE_INFINITY, pinned: [ours(1)] });
    expect(names(plan.remove)).toEqual([ours(2)]);
  });
});
