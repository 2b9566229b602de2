import type { Fabric, SiteAllocation } from '../fabric/index.js';
import { MINISTRY_ID, sourceParam } from '../fabric/index.js';
import { formatIpv4, parsePrefix, prefixSize, type Prefix } from '../lib/cidr.js';
import { InputError } from '../lib/errors.js';
import { catalogueMessage, inputError, type MessageParams } from '../lib/i18n/index.js';
import { NETWORK_MESSAGES } from './messages.js';

/**
 * The overlay's topology, derived from the fabric and its address allocations.
 *
 * Nodes: the ministry core; the ministry's DR center (a node of its own, hosted in the data center
 * its `dr.site` names); one hub per province; a DR node per province that has a DR pairing; one
 * node per prefecture; one spoke per county access platform. Grassroots outlets are not nodes: they
 * sit in their access platform's /24 behind its router, so the overlay carries them as one prefix.
 *
 * Links (hub ← spoke): provinces and province DR nodes uplink to the core (primary) and the
 * ministry DR center (secondary); prefectures uplink to their province hub (primary) and the
 * province's DR node (secondary); county platforms to their prefecture (or to the province for
 * counties under the province directly). The ministry DR center uplinks to the core on a
 * dedicated link, which also carries the backup path between the two ministry hubs; a province DR
 * node has the same kind of link to its province hub (kind `dr`): when a prefecture loses its line
 * to the province hub, its traffic goes over the DR node and this link.
 */

export type NodeRole = 'core' | 'ministry-dr' | 'province' | 'province-dr' | 'prefecture' | 'county';

export interface WanNode {
  /** Site id for site nodes, `dr-<site>` for DR centers, the county code for access platforms. */
  readonly id: string;
  readonly role: NodeRole;
  readonly name: string;
  /** The fabric site this node belongs to (for a DR node: the protected site). */
  readonly site: string;
  /** The province this node belongs to; absent for the ministry's nodes. */
  readonly province?: string;
  /** Overlay router address: the first host of the node's own network. */
  readonly address: string;
  /** The node's own network (data center, DR or access-platform /24). */
  readonly network: string;
  /** What a hub routes to this node: its site block when it has one (covers its spokes), else its network. */
  readonly aggregate: string;
  /** Underlay address; absent for access platforms, which dial in from wherever they are. */
  readonly endpoint?: string;
  /** The underlay prefix the endpoint lies in, and the gateway a lab uses on it. */
  readonly underlay?: { readonly prefix: string; readonly gateway: string };
}

/**
 * `ministry`: the dedicated link between the ministry core and its DR center; `dr`: the dedicated
 * link between a province hub and its DR node. Both carry each side's own traffic and are the
 * backup path to the other side's spokes; neither makes a spoke of the DR node.
 */
export type LinkKind = 'primary' | 'secondary' | 'ministry' | 'dr';

/**
 * A router that carries no transit: a prefecture forwards only its own branch, so it announces
 * only its own block and its links carry only what it talks to. The WireGuard AllowedIPs and the
 * routing daemon's export filter both follow this one rule.
 */
export function isLeaf(n: Pick<WanNode, 'role'>): boolean {
  return n.role === 'prefecture';
}

/** The links that pair a hub with its DR center rather than a hub with a spoke. */
export function isPairLink(l: { readonly kind: LinkKind }): boolean {
  return l.kind === 'ministry' || l.kind === 'dr';
}

export interface WanLink {
  readonly hub: string;
  readonly spoke: string;
  readonly kind: LinkKind;
}

export interface WanPlan {
  readonly nodes: ReadonlyMap<string, WanNode>;
  readonly links: readonly WanLink[];
  /** The overlay supernet. */
  readonly overlay: string;
}

export const DR_PREFIX = 'dr-';

export function drNodeId(site: string): string {
  return `${DR_PREFIX}${site}`;
}

/** A network of the plan, named for messages (a topology.what.* entry). */
function network(kind: 'dc' | 'dr' | 'accessPlatform', params: MessageParams): MessageParams[string] {
  return catalogueMessage(NETWORK_MESSAGES, `topology.what.${kind}`, params).localized;
}

function firstHost(prefix: string, what: MessageParams[string]): string {
  const p = parsePrefix(prefix);
  if ('error' in p) throw inputError(NETWORK_MESSAGES, 'topology.badPrefix', { what, reason: p.reason });
  return formatIpv4(p.prefix.base + 1);
}

function mustPrefix(text: string): Prefix {
  const p = parsePrefix(text);
  if ('error' in p) throw new InputError(p.error, { localized: p.reason });
  return p.prefix;
}

/**
 * Build the overlay plan. Every site must have an allocation (`jinbao ipam` makes them);
 * `counties: false` leaves the access platforms out (a lab does).
 */
export function buildPlan(fabric: Fabric, allocations: ReadonlyMap<string, SiteAllocation>, opts: { counties?: boolean } = {}): WanPlan {
  const withCounties = opts.counties ?? true;
  const missing = fabric.sites.filter((s) => !allocations.has(s.id)).map((s) => s.id);
  if (missing.length > 0) {
    throw inputError(NETWORK_MESSAGES, 'topology.unallocated', { n: missing.length, list: `${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}` });
  }
  const nodes = new Map<string, WanNode>();
  const links: WanLink[] = [];
  const alloc = (id: string) => allocations.get(id)!;

  // Endpoints: a site's own node takes the first host of its underlay prefix; DR centers it hosts take the next ones.
  const hostedCount = new Map<string, number>();
  const endpointOn = (hostSite: string, hosted: boolean): WanNode['endpoint'] & {} => {
    const underlay = mustPrefix(alloc(hostSite).underlay);
    const n = hosted ? 2 + (hostedCount.get(hostSite) ?? 0) : 1;
    if (hosted) hostedCount.set(hostSite, (hostedCount.get(hostSite) ?? 0) + 1);
    const size = prefixSize(underlay.length);
    if (n > size - 3) {
      throw inputError(NETWORK_MESSAGES, 'topology.underlayTooSmall', { prefix: alloc(hostSite).underlay, site: hostSite, room: Math.max(0, size - 3), needs: n });
    }
    return formatIpv4(underlay.base + n);
  };
  const underlayOf = (hostSite: string) => {
    const u = mustPrefix(alloc(hostSite).underlay);
    return { prefix: alloc(hostSite).underlay, gateway: formatIpv4(u.base + prefixSize(u.length) - 2) };
  };

  const addSite = (id: string, role: NodeRole, province: string | undefined) => {
    const site = fabric.site(id);
    const a = alloc(id);
    nodes.set(id, {
      id,
      role,
      name: site.name,
      site: id,
      ...(province ? { province } : {}),
      address: firstHost(a.dc, network('dc', { site: id })),
      network: a.dc,
      aggregate: a.block,
      endpoint: endpointOn(id, false),
      underlay: underlayOf(id),
    });
  };
  const addDr = (protectedId: string, role: NodeRole, province: string | undefined): string | undefined => {
    const site = fabric.site(protectedId);
    const a = alloc(protectedId);
    const host = fabric.drCenterOf(site);
    if (!host || !a.dr) return undefined;
    const id = drNodeId(protectedId);
    nodes.set(id, {
      id,
      role,
      name: `${site.name} DR @ ${host.name}`,
      site: protectedId,
      ...(province ? { province } : {}),
      address: firstHost(a.dr, network('dr', { site: protectedId })),
      network: a.dr,
      aggregate: a.dr,
      endpoint: endpointOn(host.id, true),
      underlay: underlayOf(host.id),
    });
    return id;
  };
  const addCounties = (parentId: string, province: string) => {
    if (!withCounties) return;
    const site = fabric.site(parentId);
    for (const ap of site.accessPlatforms) {
      const net = alloc(parentId).agencies[ap.code];
      if (!net) throw inputError(NETWORK_MESSAGES, 'topology.platformUnallocated', { code: ap.code, site: parentId });
      if (nodes.has(ap.code)) throw inputError(NETWORK_MESSAGES, 'topology.platformIsSite', { code: ap.code, site: parentId });
      nodes.set(ap.code, { id: ap.code, role: 'county', name: ap.name, site: parentId, province, address: firstHost(net, network('accessPlatform', { code: ap.code })), network: net, aggregate: net });
      links.push({ hub: parentId, spoke: ap.code, kind: 'primary' });
    }
  };

  addSite(MINISTRY_ID, 'core', undefined);
  const ministryDr = addDr(MINISTRY_ID, 'ministry-dr', undefined);
  if (ministryDr) links.push({ hub: MINISTRY_ID, spoke: ministryDr, kind: 'ministry' });

  const provinces = [...fabric.byTier('province')].sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const p of provinces) {
    addSite(p.id, 'province', p.id);
    const pDr = addDr(p.id, 'province-dr', p.id);
    if (pDr) links.push({ hub: p.id, spoke: pDr, kind: 'dr' });
    for (const n of [p.id, ...(pDr ? [pDr] : [])]) {
      links.push({ hub: MINISTRY_ID, spoke: n, kind: 'primary' });
      if (ministryDr) links.push({ hub: ministryDr, spoke: n, kind: 'secondary' });
    }
    addCounties(p.id, p.id);
    const prefectures = [...fabric.children(p)].filter((c) => c.tier === 'prefecture').sort((a, b) => (a.id < b.id ? -1 : 1));
    for (const f of prefectures) {
      addSite(f.id, 'prefecture', p.id);
      links.push({ hub: p.id, spoke: f.id, kind: 'primary' });
      if (pDr) links.push({ hub: pDr, spoke: f.id, kind: 'secondary' });
      addCounties(f.id, p.id);
    }
  }
  return { nodes, links, overlay: fabric.inventory.addressing.overlay };
}

/** The plan restricted to `keep` (and the links among them). */
export function slicePlan(plan: WanPlan, keep: ReadonlySet<string>): WanPlan {
  return {
    nodes: new Map([...plan.nodes].filter(([id]) => keep.has(id))),
    links: plan.links.filter((l) => keep.has(l.hub) && keep.has(l.spoke)),
    overlay: plan.overlay,
  };
}

/** Look up a node for user input, with a hint when it is not there. */
export function findNode(plan: WanPlan, id: string, where: MessageParams[string]): WanNode {
  const node = plan.nodes.get(id);
  if (node) return node;
  const place = typeof where === 'string' ? sourceParam(where) : where;
  if (plan.nodes.has(drNodeId(id))) throw inputError(NETWORK_MESSAGES, 'node.unknownHasDr', { id, where: place, node: drNodeId(id) });
  throw inputError(NETWORK_MESSAGES, 'node.unknown', { id, where: place });
}

/** Links where `id` is the hub, and where it is the spoke. */
export function linksOf(plan: WanPlan, id: string): { down: WanLink[]; up: WanLink[] } {
  return { down: plan.links.filter((l) => l.hub === id), up: plan.links.filter((l) => l.spoke === id) };
}
