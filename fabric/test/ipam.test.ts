import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contains, mustParsePrefix, overlaps } from '../../lib/cidr.js';
import { allocate, type IpamResult } from '../ipam.js';
import { loadFabric } from '../load.js';
import { inventorySchema, type Inventory, type InventoryInput } from '../model.js';
import { agency, site } from './builders.js';

type Shape = { province: number; prefectures: { city: number; counties: number[] }[]; direct: number[] }[];

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Random fabric shapes: provinces 11..65, prefectures 01..40, counties 01..60. */
const shapeArb: fc.Arbitrary<Shape> = fc.uniqueArray(
  fc.record({
    province: fc.integer({ min: 11, max: 65 }),
    prefectures: fc.uniqueArray(fc.record({ city: fc.integer({ min: 1, max: 40 }), counties: fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 8 }) }), {
      maxLength: 5,
      selector: (p) => p.city,
    }),
    direct: fc.uniqueArray(fc.integer({ min: 61, max: 99 }), { maxLength: 3 }),
  }),
  { minLength: 1, maxLength: 8, selector: (p) => p.province },
);

function inventoryOf(shape: Shape, addressing?: InventoryInput['addressing']): Inventory {
  const sites: InventoryInput['sites'] = [site('000000', 'ministry')];
  for (const p of shape) {
    const pid = `${p.province}0000`;
    sites.push(site(pid, 'province', { accessPlatforms: p.direct.map((d) => agency(`${p.province}90${pad2(d)}`)), ...(p.prefectures.length ? { dr: { site: `${p.province}${pad2(p.prefectures[0]!.city)}00` } } : {}) }));
    for (const c of p.prefectures) {
      const cid = `${p.province}${pad2(c.city)}00`;
      sites.push(site(cid, 'prefecture', { accessPlatforms: c.counties.map((d) => agency(`${p.province}${pad2(c.city)}${pad2(d)}`)) }));
    }
  }
  return inventorySchema.parse({ apiVersion: 'jinbao/v1', kind: 'Inventory', metadata: { name: 'random' }, ...(addressing ? { addressing } : {}), sites });
}

/** Every allocated network (not the blocks) is disjoint from every other; each sits inside its own site's block. */
function assertNoOverlap(inv: Inventory, r: IpamResult): void {
  expect(r.problems).toEqual([]);
  const leaves: { key: string; p: ReturnType<typeof mustParsePrefix> }[] = [];
  for (const [key, text] of r.ledger) if (!key.startsWith('block:')) leaves.push({ key, p: mustParsePrefix(text) });
  leaves.sort((a, b) => a.p.base - b.p.base);
  for (let i = 1; i < leaves.length; i++) {
    const a = leaves[i - 1]!;
    const b = leaves[i]!;
    if (a.key.startsWith('underlay:') !== b.key.startsWith('underlay:')) continue;
    expect(overlaps(a.p, b.p), `${a.key} ${a.p.base} overlaps ${b.key}`).toBe(false);
  }
  for (const s of inv.sites) {
    const a = r.allocations.get(s.id)!;
    const block = mustParsePrefix(a.block);
    expect(contains(block, mustParsePrefix(a.dc))).toBe(true);
    for (const p of Object.values(a.agencies)) expect(contains(block, mustParsePrefix(p))).toBe(true);
    if (s.tier === 'prefecture') expect(contains(mustParsePrefix(r.allocations.get(s.parent!)!.block), block)).toBe(true);
  }
  const topBlocks = inv.sites.filter((s) => s.tier !== 'prefecture').map((s) => mustParsePrefix(r.allocations.get(s.id)!.block));
  for (let i = 0; i < topBlocks.length; i++) for (let j = i + 1; j < topBlocks.length; j++) expect(overlaps(topBlocks[i]!, topBlocks[j]!)).toBe(false);
}

describe('IPAM', () => {
  it('never allocates overlapping prefixes (property)', () => {
    fc.assert(
      fc.property(shapeArb, (shape) => {
        const inv = inventoryOf(shape);
        assertNoOverlap(inv, allocate(inv));
      }),
      { numRuns: 150 },
    );
  });

  it('never renumbers an existing allocation when sites and agencies are added (property)', () => {
    fc.assert(
      fc.property(shapeArb, shapeArb, (before, extra) => {
        // `after` is `before` plus whatever `extra` adds (new provinces, prefectures, counties).
        const after: Shape = structuredClone(before);
        for (const p of extra) {
          const existing = after.find((q) => q.province === p.province);
          if (!existing) after.push(p);
          else
            for (const c of p.prefectures) {
              const ec = existing.prefectures.find((q) => q.city === c.city);
              if (!ec) existing.prefectures.push(c);
              else for (const d of c.counties) if (!ec.counties.includes(d)) ec.counties.push(d);
            }
        }
        after.sort((a, b) => b.province - a.province); // order in the file does not matter either
        const invBefore = inventoryOf(before);
        const first = allocate(invBefore);
        const invAfter = inventoryOf(after);
        const second = allocate(invAfter, first.ledger);
        assertNoOverlap(invAfter, second);
        for (const [key, prefix] of first.ledger) expect(second.ledger.get(key), key).toBe(prefix);
      }),
      { numRuns: 150 },
    );
  });

  it('honours pinned prefixes and allocates around them (property)', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 0, max: 1000 }), (shape, seed) => {
        const inv = inventoryOf(shape);
        const reference = allocate(inv);
        // Pin a subset of another run's allocations, in reverse order, then allocate afresh.
        const input = structuredClone(inv) as InventoryInput;
        input.sites.reverse();
        const pinned = new Map<string, string>();
        input.sites.forEach((s, i) => {
          if ((i + seed) % 3 !== 0) return;
          const a = reference.allocations.get(s.id)!;
          s.addressing = { block: a.block, dc: a.dc };
          pinned.set(`block:${s.id}`, a.block);
          pinned.set(`dc:${s.id}`, a.dc);
        });
        const pinnedInv = inventorySchema.parse(input);
        const r = allocate(pinnedInv);
        assertNoOverlap(pinnedInv, r);
        for (const [key, prefix] of pinned) expect(r.ledger.get(key)).toBe(prefix);
      }),
      { numRuns: 100 },
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(shapeArb, (shape) => {
        const inv = inventoryOf(shape);
        expect([...allocate(inv).ledger]).toEqual([...allocate(inv).ledger]);
      }),
      { numRuns: 50 },
    );
  });

  it('allocates the whole national inventory without overlap', () => {
    const fabric = loadFabric();
    const r = fabric.allocate();
    assertNoOverlap(fabric.inventory, r);
    expect(r.allocations.size).toBe(fabric.sites.length);
    const agencies = fabric.sites.reduce((n, s) => n + s.accessPlatforms.length, 0);
    expect([...r.ledger.keys()].filter((k) => k.startsWith('agency:'))).toHaveLength(agencies);
  });

  it('GIVEN a supernet too small THEN it says which key did not fit and how to fix it', () => {
    const inv = inventoryOf([{ province: 11, prefectures: [], direct: [] }, { province: 12, prefectures: [], direct: [] }], {
      overlay: '10.0.0.0/15',
    } as InventoryInput['addressing']);
    const r = allocate(inv);
    expect(r.problems.map((p) => p.message)).toContain(
      'no free /14 left in 10.0.0.0/15 for block:120000; use a larger supernet (addressing.overlay / addressing.underlay) or pin smaller blocks',
    );
  });

  it('GIVEN overlapping supernets THEN it refuses them', () => {
    const inv = inventoryOf([], { overlay: '10.0.0.0/8', underlay: '10.16.0.0/12' } as InventoryInput['addressing']);
    expect(allocate(inv).problems[0]!.message).toBe('underlay supernet 10.16.0.0/12 overlaps the overlay supernet 10.0.0.0/8; choose disjoint supernets');
  });

  it('GIVEN a ledger with sites another inventory has THEN new allocations avoid their prefixes and the others are not kept as this inventory\'s', () => {
    const theirs = inventoryOf([{ province: 12, prefectures: [{ city: 1, counties: [1, 2] }], direct: [61] }]);
    const ours = inventoryOf([{ province: 13, prefectures: [{ city: 1, counties: [1] }], direct: [] }]);
    const ledger = allocate(theirs).ledger;
    const r = allocate(ours, ledger);
    expect(r.problems).toEqual([]);
    const foreign = [...ledger].filter(([key]) => !r.ledger.has(key));
    expect(foreign.map(([key]) => key).sort()).toEqual(['agency:120101', 'agency:120102', 'agency:129061', 'block:120000', 'block:120100', 'dc:120000', 'dc:120100', 'dr:120000', 'underlay:120000', 'underlay:120100'].sort());
    for (const key of r.added) {
      const p = mustParsePrefix(r.ledger.get(key)!);
      for (const [other, text] of foreign) {
        if (key.startsWith('underlay:') !== other.startsWith('underlay:')) continue;
        expect(overlaps(p, mustParsePrefix(text)), `${key} overlaps ${other}`).toBe(false);
      }
    }
  });
});
