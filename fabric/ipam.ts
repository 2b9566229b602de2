import { contains, formatPrefix, overlaps, parsePrefix, prefixEnd, prefixSize, type Prefix } from '../lib/cidr.js';
import type { Inventory, Site } from './model.js';
import type { Problem } from './problems.js';

/**
 * Addressing for the whole fabric.
 *
 * The overlay supernet is split hierarchically: the ministry and each province get a block; each
 * prefecture gets a block inside its province's; inside its own block every site gets a /24-sized
 * data-center network, a DR network when it has a DR pairing, and one network per county access
 * platform. Each site also gets a small underlay (transport) prefix from the underlay supernet.
 *
 * Stability: allocation is a pure function of the inventory and a *ledger* of earlier allocations.
 * Entries already in the ledger (or pinned in the inventory) are kept as they are; only new keys
 * are placed, first-fit, in free space. So adding a site never renumbers an existing one. The
 * embedded state keeps the ledger; `jinbao inventory export --pin` writes it into the inventory.
 */

export type LedgerKey = `${'block' | 'dc' | 'dr' | 'underlay'}:${string}` | `agency:${string}`;
export type Ledger = ReadonlyMap<string, string>;

export interface SiteAllocation {
  readonly site: string;
  readonly block: string;
  readonly dc: string;
  readonly dr?: string;
  readonly underlay: string;
  readonly agencies: Readonly<Record<string, string>>;
}

export interface IpamResult {
  readonly allocations: ReadonlyMap<string, SiteAllocation>;
  /** Every allocation, old and new, keyed as in the ledger. */
  readonly ledger: ReadonlyMap<string, string>;
  /** Keys that were placed in this run (not pinned, not in the ledger). */
  readonly added: readonly string[];
  readonly problems: readonly Problem[];
}

interface Claim {
  readonly key: string;
  readonly owner: string;
  readonly prefix: Prefix;
  readonly path: readonly (string | number)[];
}

/** Free-space bookkeeping for one allocation scope (a supernet or a site block). */
class Scope {
  private readonly taken: Prefix[] = [];
  constructor(readonly range: Prefix) {}

  isFree(p: Prefix): boolean {
    return !this.taken.some((t) => overlaps(t, p));
  }

  occupy(p: Prefix): void {
    this.taken.push(p);
  }

  /** First aligned prefix of `length` in range that overlaps nothing taken nor any pin. */
  firstFit(length: number, pins: readonly Prefix[]): Prefix | undefined {
    if (length < this.range.length) return undefined;
    const size = prefixSize(length);
    const end = prefixEnd(this.range);
    const blockers = [...this.taken, ...pins.filter((p) => overlaps(p, this.range))].sort((a, b) => a.base - b.base);
    // One pass over the blockers in address order: skip past each one that collides.
    let candidate = this.range.base;
    for (const b of blockers) {
      if (prefixEnd(b) < candidate) continue;
      if (b.base > candidate + size - 1) break;
      candidate = Math.ceil((prefixEnd(b) + 1) / size) * size;
    }
    return candidate + size - 1 <= end ? { base: candidate, length } : undefined;
  }
}

function siteOrder(a: Site, b: Site): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Allocate every prefix of the fabric. `ledger` holds earlier allocations to keep.
 * Problems (overlapping pins, pins outside the supernet, exhausted space) are returned, not thrown.
 */
export function allocate(inventory: Inventory, ledger: Ledger = new Map()): IpamResult {
  const problems: Problem[] = [];
  const { addressing } = inventory;
  const overlayRoot = parsePrefix(addressing.overlay);
  const underlayRoot = parsePrefix(addressing.underlay);
  if ('error' in overlayRoot) problems.push({ path: ['addressing', 'overlay'], message: overlayRoot.error });
  if ('error' in underlayRoot) problems.push({ path: ['addressing', 'underlay'], message: underlayRoot.error });
  if ('error' in overlayRoot || 'error' in underlayRoot) {
    return { allocations: new Map(), ledger: new Map(), added: [], problems };
  }
  if (overlaps(overlayRoot.prefix, underlayRoot.prefix)) {
    problems.push({
      path: ['addressing', 'underlay'],
      message: `underlay supernet ${addressing.underlay} overlaps the overlay supernet ${addressing.overlay}; choose disjoint supernets`,
    });
  }

  const sites = [...inventory.sites].sort(siteOrder);
  const indexOf = new Map(inventory.sites.map((s, i) => [s.id, i]));
  const byId = new Map(sites.map((s) => [s.id, s]));

  // 1. Pins: honoured as written, checked against the supernets and each other.
  const pins = collectPins(inventory, indexOf, problems);
  const pinByKey = new Map(pins.map((c) => [c.key, c]));
  checkPinOverlaps(pins, byId, problems);
  for (const c of pins) {
    const root = c.key.startsWith('underlay:') ? underlayRoot.prefix : overlayRoot.prefix;
    if (!contains(root, c.prefix)) {
      problems.push({
        path: c.path,
        message: `pinned prefix ${formatPrefix(c.prefix)} is outside the ${c.key.startsWith('underlay:') ? 'underlay' : 'overlay'} supernet ${formatPrefix(root)}`,
      });
    }
  }
  const overlayPins = pins.filter((c) => !c.key.startsWith('underlay:')).map((c) => c.prefix);
  const underlayPins = pins.filter((c) => c.key.startsWith('underlay:')).map((c) => c.prefix);

  const result = new Map<string, string>();
  const added: string[] = [];
  const { lengths } = addressing;

  /** Place `key` of `length` inside `scope`: pin, then ledger, then first fit. */
  const place = (key: string, length: number, scope: Scope, scopePins: readonly Prefix[], path: readonly (string | number)[]): Prefix | undefined => {
    const pinned = pinByKey.get(key);
    if (pinned) {
      result.set(key, formatPrefix(pinned.prefix));
      return pinned.prefix;
    }
    const previous = ledger.get(key);
    if (previous !== undefined) {
      const parsed = parsePrefix(previous);
      if (!('error' in parsed) && parsed.prefix.length === length && contains(scope.range, parsed.prefix)) {
        const p = parsed.prefix;
        if (!scopePins.some((q) => overlaps(q, p)) && scope.isFree(p)) {
          scope.occupy(p);
          result.set(key, formatPrefix(p));
          return p;
        }
      }
    }
    const p = scope.firstFit(length, scopePins);
    if (!p) {
      problems.push({
        path,
        message: `no free /${length} left in ${formatPrefix(scope.range)} for ${key}; use a larger supernet (addressing.overlay / addressing.underlay) or pin smaller blocks`,
      });
      return undefined;
    }
    scope.occupy(p);
    result.set(key, formatPrefix(p));
    added.push(key);
    return p;
  };

  // 2. Site blocks, top-down (ministry and provinces in the supernet, prefectures in their province).
  const rootScope = new Scope(overlayRoot.prefix);
  const blockScopes = new Map<string, Scope>();
  const lengthFor = (s: Site): number => lengths[s.tier];
  const children = new Map<string, Site[]>();
  for (const s of sites) {
    if (s.tier !== 'prefecture' || !s.parent) continue;
    const list = children.get(s.parent);
    if (list) list.push(s);
    else children.set(s.parent, [s]);
  }
  // Keys kept from the ledger are placed before new keys in every scope, so a new site never
  // takes a slot an existing one held.
  const byLedgerFirst = (list: Site[]): Site[] => [
    ...list.filter((s) => ledger.has(`block:${s.id}`) || pinByKey.has(`block:${s.id}`)),
    ...list.filter((s) => !ledger.has(`block:${s.id}`) && !pinByKey.has(`block:${s.id}`)),
  ];
  for (const s of byLedgerFirst(sites.filter((x) => x.tier !== 'prefecture'))) {
    const p = place(`block:${s.id}`, lengthFor(s), rootScope, overlayPins, ['sites', indexOf.get(s.id)!, 'addressing', 'block']);
    if (p) blockScopes.set(s.id, new Scope(p));
  }
  for (const [parentId, list] of children) {
    const parentScope = blockScopes.get(parentId);
    if (!parentScope) continue;
    for (const s of byLedgerFirst(list)) {
      const p = place(`block:${s.id}`, lengthFor(s), parentScope, overlayPins, ['sites', indexOf.get(s.id)!, 'addressing', 'block']);
      if (p) blockScopes.set(s.id, new Scope(p));
    }
  }

  // 3. Networks inside each site's own block; 4. underlay links.
  const underlayScope = new Scope(underlayRoot.prefix);
  const ledgerFirstKeys = (keys: { key: string; path: (string | number)[] }[]) => [
    ...keys.filter((k) => ledger.has(k.key) || pinByKey.has(k.key)),
    ...keys.filter((k) => !ledger.has(k.key) && !pinByKey.has(k.key)),
  ];
  const allocations = new Map<string, SiteAllocation>();
  for (const s of sites) {
    const scope = blockScopes.get(s.id);
    if (!scope) continue;
    const i = indexOf.get(s.id)!;
    const wanted = [
      { key: `dc:${s.id}`, path: ['sites', i, 'addressing', 'dc'] },
      ...(s.dr ? [{ key: `dr:${s.id}`, path: ['sites', i, 'addressing', 'dr'] }] : []),
      ...s.accessPlatforms
        .map((a, j) => ({ key: `agency:${a.code}`, path: ['sites', i, 'accessPlatforms', j, 'prefix'] }))
        .sort((a, b) => (a.key < b.key ? -1 : 1)),
    ];
    for (const w of ledgerFirstKeys(wanted)) place(w.key, lengths.network, scope, overlayPins, w.path);
  }
  const underlayWanted = sites.map((s) => ({ key: `underlay:${s.id}`, path: ['sites', indexOf.get(s.id)!, 'addressing', 'underlay'] }));
  for (const w of ledgerFirstKeys(underlayWanted)) place(w.key, lengths.underlay, underlayScope, underlayPins, w.path);

  for (const s of sites) {
    const block = result.get(`block:${s.id}`);
    const dc = result.get(`dc:${s.id}`);
    const underlay = result.get(`underlay:${s.id}`);
    if (!block || !dc || !underlay) continue;
    const agencies: Record<string, string> = {};
    for (const a of s.accessPlatforms) {
      const p = result.get(`agency:${a.code}`);
      if (p) agencies[a.code] = p;
    }
    const dr = result.get(`dr:${s.id}`);
    allocations.set(s.id, { site: s.id, block, dc, ...(dr ? { dr } : {}), underlay, agencies });
  }
  return { allocations, ledger: result, added, problems };
}

function collectPins(inventory: Inventory, indexOf: Map<string, number>, problems: Problem[]): Claim[] {
  const pins: Claim[] = [];
  const add = (key: string, owner: string, text: string | undefined, path: (string | number)[]) => {
    if (text === undefined) return;
    const parsed = parsePrefix(text);
    if ('error' in parsed) problems.push({ path, message: parsed.error });
    else pins.push({ key, owner, prefix: parsed.prefix, path });
  };
  for (const s of inventory.sites) {
    const i = indexOf.get(s.id)!;
    const a = s.addressing;
    add(`block:${s.id}`, s.id, a?.block, ['sites', i, 'addressing', 'block']);
    add(`dc:${s.id}`, s.id, a?.dc, ['sites', i, 'addressing', 'dc']);
    add(`dr:${s.id}`, s.id, a?.dr, ['sites', i, 'addressing', 'dr']);
    add(`underlay:${s.id}`, s.id, a?.underlay, ['sites', i, 'addressing', 'underlay']);
    s.accessPlatforms.forEach((ap, j) => add(`agency:${ap.code}`, s.id, ap.prefix, ['sites', i, 'accessPlatforms', j, 'prefix']));
  }
  return pins;
}

/** Two pins may nest only when the outer is a site block and the inner belongs to that site or its children. */
function checkPinOverlaps(pins: readonly Claim[], byId: ReadonlyMap<string, Site>, problems: Problem[]): void {
  const sorted = [...pins].sort((a, b) => a.prefix.base - b.prefix.base || a.prefix.length - b.prefix.length);
  const nestsLegitimately = (outer: Claim, inner: Claim): boolean => {
    if (!outer.key.startsWith('block:') || !contains(outer.prefix, inner.prefix)) return false;
    if (inner.owner === outer.owner) return !inner.key.startsWith('block:') || inner.key === outer.key;
    return byId.get(inner.owner)?.parent === outer.owner;
  };
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j]!;
      if (b.prefix.base > prefixEnd(a.prefix)) break;
      if (a.key.startsWith('underlay:') !== b.key.startsWith('underlay:')) continue;
      if (nestsLegitimately(a, b) || nestsLegitimately(b, a)) continue;
      problems.push({
        path: b.path,
        message: `pinned prefix ${formatPrefix(b.prefix)} (${b.key}) overlaps ${formatPrefix(a.prefix)} (${a.key}); give one of them a free prefix or remove the pin`,
      });
    }
  }
}
