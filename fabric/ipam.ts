import { contains, formatPrefix, mustParsePrefix, overlaps, parsePrefix, prefixEnd, prefixSize, type Prefix } from '../lib/cidr.js';
import type { Inventory, Site } from './model.js';
import { problem } from './messages.js';
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
 * are placed, first-fit, in free space. So adding a site never renumbers an existing one. Ledger
 * entries of sites and platforms this inventory does not have (an older or newer inventory wrote
 * them into the same store) stay reserved: a new allocation never lands on them. The state store
 * keeps the ledger; `jinbao inventory export --pin` writes it into the inventory.
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
  constructor(
    readonly range: Prefix,
    /** A supernet: pins anywhere inside it are fine. */
    readonly isRoot = false,
  ) {}

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

/** Ledger entries whose key no item of this inventory has: their prefixes are not free. */
function reservedByOthers(sites: readonly Site[], ledger: Ledger): { overlay: Prefix[]; underlay: Prefix[] } {
  const own = new Set<string>();
  for (const s of sites) {
    for (const kind of ['block', 'dc', 'underlay'] as const) own.add(`${kind}:${s.id}`);
    if (s.dr) own.add(`dr:${s.id}`);
    for (const a of s.accessPlatforms) own.add(`agency:${a.code}`);
  }
  const reserved = { overlay: [] as Prefix[], underlay: [] as Prefix[] };
  for (const [key, text] of ledger) {
    if (own.has(key)) continue;
    const parsed = parsePrefix(text);
    if ('error' in parsed) continue;
    (key.startsWith('underlay:') ? reserved.underlay : reserved.overlay).push(parsed.prefix);
  }
  return reserved;
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
  if ('error' in overlayRoot) problems.push({ path: ['addressing', 'overlay'], message: overlayRoot.error, said: overlayRoot.reason });
  if ('error' in underlayRoot) problems.push({ path: ['addressing', 'underlay'], message: underlayRoot.error, said: underlayRoot.reason });
  if ('error' in overlayRoot || 'error' in underlayRoot) {
    return { allocations: new Map(), ledger: new Map(), added: [], problems };
  }
  if (overlaps(overlayRoot.prefix, underlayRoot.prefix)) {
    problems.push(problem(['addressing', 'underlay'], 'problem.ipam.supernetsOverlap', { underlay: addressing.underlay, overlay: addressing.overlay }));
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
      problems.push(problem(c.path, c.key.startsWith('underlay:') ? 'problem.ipam.outsideUnderlay' : 'problem.ipam.outsideOverlay', { prefix: formatPrefix(c.prefix), supernet: formatPrefix(root) }));
    }
  }

  const reserved = reservedByOthers(sites, ledger);
  const result = new Map<string, string>();
  const added: string[] = [];
  const { lengths } = addressing;

  const children = new Map<string, Site[]>();
  for (const s of sites) {
    if (s.tier !== 'prefecture' || !s.parent) continue;
    const list = children.get(s.parent);
    if (list) list.push(s);
    else children.set(s.parent, [s]);
  }
  const subtreeOf = (id: string) => new Set([id, ...(children.get(id) ?? []).map((c) => c.id)]);
  const siteIndex = (id: string) => indexOf.get(id)!;

  interface Item {
    readonly key: string;
    readonly length: number;
    readonly path: readonly (string | number)[];
    /** For a site block: the site, whose own pins must end up inside it. */
    readonly blockOf?: string;
  }

  /**
   * Place the items of one scope: pins as written, then ledger entries that still fit, then new
   * items first-fit (largest first). Kept items are placed before any new one, so a new item can
   * never take the slot of an existing one.
   */
  const allocScope = (scope: Scope, items: readonly Item[], pinsIn: readonly Claim[], reservedIn: readonly Prefix[]) => {
    const foreignPins = (item: Item) => {
      if (!item.blockOf) return pinsIn.map((c) => c.prefix);
      const own = subtreeOf(item.blockOf);
      return pinsIn.filter((c) => !own.has(c.owner)).map((c) => c.prefix);
    };
    const obstacles = (item: Item) => [...foreignPins(item), ...reservedIn];
    const fresh: Item[] = [];
    for (const item of items) {
      const pinned = pinByKey.get(item.key);
      if (pinned) {
        if (!contains(scope.range, pinned.prefix) && !scope.isRoot) {
          problems.push(problem(item.path, 'problem.ipam.outsideBlock', { prefix: formatPrefix(pinned.prefix), key: item.key, block: formatPrefix(scope.range) }));
        }
        scope.occupy(pinned.prefix);
        result.set(item.key, formatPrefix(pinned.prefix));
      }
    }
    for (const item of items) {
      if (pinByKey.has(item.key)) continue;
      const previous = ledger.get(item.key);
      const parsed = previous === undefined ? undefined : parsePrefix(previous);
      if (parsed && !('error' in parsed)) {
        const p = parsed.prefix;
        if (p.length === item.length && contains(scope.range, p) && scope.isFree(p) && !foreignPins(item).some((q) => overlaps(q, p))) {
          scope.occupy(p);
          result.set(item.key, formatPrefix(p));
          continue;
        }
      }
      fresh.push(item);
    }
    fresh.sort((a, b) => a.length - b.length);
    for (const item of fresh) {
      const p = item.blockOf ? placeBlock(scope, item, obstacles(item)) : scope.firstFit(item.length, obstacles(item));
      if (!p) {
        problems.push(problem(item.path, 'problem.ipam.exhausted', { length: item.length, range: formatPrefix(scope.range), key: item.key }));
        continue;
      }
      scope.occupy(p);
      result.set(item.key, formatPrefix(p));
      added.push(item.key);
    }
  };

  /** A block whose site (or its children) has pinned networks goes where it contains them. */
  const placeBlock = (scope: Scope, item: Item, foreign: readonly Prefix[]): Prefix | undefined => {
    const own = subtreeOf(item.blockOf!);
    const anchors = pins.filter((c) => own.has(c.owner) && !c.key.startsWith('underlay:') && c.key !== item.key);
    if (anchors.length === 0) return scope.firstFit(item.length, foreign);
    const size = prefixSize(item.length);
    const first = anchors[0]!.prefix;
    const candidate: Prefix = { base: first.base - (first.base % size), length: item.length };
    const fits =
      contains(scope.range, candidate) &&
      scope.isFree(candidate) &&
      !foreign.some((q) => overlaps(q, candidate)) &&
      anchors.every((a) => contains(candidate, a.prefix));
    if (fits) return candidate;
    problems.push(problem(item.path, 'problem.ipam.pinsDoNotFit', { site: item.blockOf!, pins: anchors.map((a) => formatPrefix(a.prefix)).join(', '), length: item.length }));
    return undefined;
  };

  const blockItem = (s: Site): Item => ({ key: `block:${s.id}`, length: lengths[s.tier], path: ['sites', siteIndex(s.id), 'addressing', 'block'], blockOf: s.id });
  const networkItems = (s: Site): Item[] => {
    const i = siteIndex(s.id);
    return [
      { key: `dc:${s.id}`, length: lengths.network, path: ['sites', i, 'addressing', 'dc'] },
      ...(s.dr ? [{ key: `dr:${s.id}`, length: lengths.network, path: ['sites', i, 'addressing', 'dr'] }] : []),
      ...s.accessPlatforms
        .map((a, j) => ({ key: `agency:${a.code}`, length: lengths.network, path: ['sites', i, 'accessPlatforms', j, 'prefix'] }))
        .sort((a, b) => (a.key < b.key ? -1 : 1)),
    ];
  };
  const overlayPinClaims = pins.filter((c) => !c.key.startsWith('underlay:'));
  // A pin that covers the whole scope (the block itself) is not an obstacle inside it.
  const pinsWithin = (range: Prefix) => overlayPinClaims.filter((c) => overlaps(c.prefix, range) && !contains(c.prefix, range));
  const reservedWithin = (range: Prefix) => reserved.overlay.filter((p) => overlaps(p, range) && !contains(p, range));

  // The supernet holds the ministry's and the provinces' blocks; a province's block holds its
  // prefectures' blocks and its own networks; a prefecture's block holds its own networks.
  const rootScope = new Scope(overlayRoot.prefix, true);
  allocScope(rootScope, sites.filter((s) => s.tier !== 'prefecture').map(blockItem), overlayPinClaims, reserved.overlay);
  const blockScopes = new Map<string, Scope>();
  for (const s of sites) {
    if (s.tier === 'prefecture') continue;
    const block = result.get(`block:${s.id}`);
    if (!block) continue;
    const scope = new Scope(mustParsePrefix(block));
    blockScopes.set(s.id, scope);
    allocScope(scope, [...(children.get(s.id) ?? []).map(blockItem), ...networkItems(s)], pinsWithin(scope.range), reservedWithin(scope.range));
  }
  for (const s of sites) {
    if (s.tier !== 'prefecture') continue;
    const block = result.get(`block:${s.id}`);
    if (!block) continue;
    const scope = new Scope(mustParsePrefix(block));
    allocScope(scope, networkItems(s), pinsWithin(scope.range), reservedWithin(scope.range));
  }
  const underlayScope = new Scope(underlayRoot.prefix, true);
  allocScope(
    underlayScope,
    sites.map((s) => ({ key: `underlay:${s.id}`, length: lengths.underlay, path: ['sites', siteIndex(s.id), 'addressing', 'underlay'] })),
    pins.filter((c) => c.key.startsWith('underlay:')),
    reserved.underlay,
  );

  const allocations = new Map<string, SiteAllocation>();
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
    if ('error' in parsed) problems.push({ path, message: parsed.error, said: parsed.reason });
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
      problems.push(problem(b.path, 'problem.ipam.pinsOverlap', { prefix: formatPrefix(b.prefix), key: b.key, other: formatPrefix(a.prefix), otherKey: a.key }));
    }
  }
}
