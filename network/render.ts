import { MINISTRY_ID } from '../fabric/index.js';
import { formatPrefix, mustParsePrefix, type Prefix } from '../lib/cidr.js';
import { ALL, SERVICES, aclFlows, type Flow } from './acl.js';
import type { NodeKeys } from './keys.js';
import { renderBird } from './routing.js';
import type { IfacePlan, IfaceRole, LineKind, NodeConfig, PeerPlan, RenderedFile, Route, RouterLink } from './render-model.js';

export type { IfacePlan, IfaceRole, LineKind, NodeConfig, PeerPlan, RenderedFile, Route, RouterLink } from './render-model.js';
import { drNodeId, isLeaf, isPairLink, type WanLink, type WanNode, type WanPlan } from './topology.js';

/**
 * Rendering: the plan becomes, per node, one wg-quick configuration per WireGuard interface, the
 * node's nftables ruleset and, on routers, its routing daemon's configuration (routing.ts). Pure:
 * keys and interface names come in.
 *
 * Routers (every node but a county platform) meet on point-to-point interfaces, one per link, with
 * a pair of link addresses: the routing daemon chooses among them, so one interface never has to
 * give a prefix to several peers. County platforms run no daemon: their hub's `down` interface
 * carries all of them, with static routes.
 */


/** Listen ports of the fixed roles; a hub's `link` interfaces take `LINK_PORT_BASE` + the spoke's position among its router spokes. */
export const LISTEN_PORTS: Readonly<Record<Exclude<IfaceRole, 'link'>, number>> = { down: 51820, up1: 51821, up2: 51822, dr: 51823, site: 51824 };
export const LINK_PORT_BASE = 51830;
/** Static route metrics (county links only): the peer's own network, the path through the hub. */
export const METRIC = { own: 50, primary: 100 } as const;
export const KEEPALIVE_SECONDS = 25;


/** Link addresses of router links come from IPv4 link-local space: they never leave the tunnel they name. */
const LINK_SPACE_BASE = (169 << 24) + (254 << 16) + 256;






/** Interface names; `peer` is the spoke of a hub's `link` interface. */
export type IfaceNamer = (node: WanNode, role: IfaceRole, peer?: WanNode) => string;
/** Production interface names: one set per node, so role names do, and the spoke's id for a hub's links (at most 15 characters). */
export const defaultIfaceName: IfaceNamer = (_node, role, peer) => (role === 'link' ? `wg-d-${peer!.id}` : `wg-${role}`);

/** Every node but a county platform runs the routing daemon. */
export function isRouter(n: WanNode): boolean {
  return n.role !== 'county';
}

interface Index {
  readonly down: Map<string, WanLink[]>;
  readonly up: Map<string, WanLink[]>;
  readonly related: Map<string, Set<string>>;
  readonly ministry: readonly string[];
}

function push<V>(map: Map<string, V[]>, key: string, v: V): void {
  const l = map.get(key);
  if (l) l.push(v);
  else map.set(key, [v]);
}

function indexPlan(plan: WanPlan, flows: readonly Flow[]): Index {
  const down = new Map<string, WanLink[]>();
  const up = new Map<string, WanLink[]>();
  for (const l of plan.links) {
    push(down, l.hub, l);
    push(up, l.spoke, l);
  }
  // Who each node exchanges anything with; flows with ALL relate every node to the ministry.
  const related = new Map<string, Set<string>>();
  const relate = (a: string, b: string) => {
    if (a === b) return;
    let s = related.get(a);
    if (!s) related.set(a, (s = new Set()));
    s.add(b);
  };
  const ministry = [MINISTRY_ID, drNodeId(MINISTRY_ID)].filter((id) => plan.nodes.has(id));
  for (const f of flows) {
    if (f.from === ALL || f.to === ALL) continue;
    for (const a of f.from) for (const b of f.to) {
      relate(a, b);
      relate(b, a);
    }
  }
  for (const id of plan.nodes.keys()) for (const m of ministry) relate(id, m);
  return { down, up, related, ministry };
}

/** Nodes below `id` through primary or secondary links (its spokes, their spokes, ...). */
function subtree(index: Index, id: string): Set<string> {
  const out = new Set<string>();
  const stack = [id];
  while (stack.length > 0) {
    const n = stack.pop()!;
    for (const l of index.down.get(n) ?? []) {
      if (isPairLink(l) || out.has(l.spoke)) continue;
      out.add(l.spoke);
      stack.push(l.spoke);
    }
  }
  return out;
}

function withPort(node: WanNode, port: number): string | undefined {
  return node.endpoint ? `${node.endpoint}:${port}` : undefined;
}

function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Every link between two routers gets a pair of link addresses, in plan order. */
function linkAddresses(plan: WanPlan): Map<string, { hub: string; spoke: string }> {
  const out = new Map<string, { hub: string; spoke: string }>();
  let i = 0;
  for (const l of plan.links) {
    if (!isRouter(plan.nodes.get(l.hub)!) || !isRouter(plan.nodes.get(l.spoke)!)) continue;
    const n = LINK_SPACE_BASE + 2 * i++;
    out.set(`${l.hub}>${l.spoke}`, { hub: ipv4(n), spoke: ipv4(n + 1) });
  }
  return out;
}

function lineOf(l: WanLink): LineKind {
  return isPairLink(l) ? 'pair' : l.kind === 'secondary' ? 'secondary' : 'primary';
}

/** The WireGuard interfaces of every node in `plan`: point-to-point links between routers, a shared `down` interface for county platforms. */
export function planConfigs(plan: WanPlan, namer: IfaceNamer = defaultIfaceName, flows: readonly Flow[] = aclFlows(plan)): Map<string, NodeConfig> {
  const index = indexPlan(plan, flows);
  const addresses = linkAddresses(plan);
  const node = (id: string) => plan.nodes.get(id)!;
  const routerSpokes = (hub: string) => (index.down.get(hub) ?? []).filter((l) => isRouter(node(l.spoke)));
  /** The port a hub listens on for one link, and the name of its interface. */
  const hubSide = (l: WanLink): { port: number; role: IfaceRole } => {
    if (isPairLink(l)) return { port: LISTEN_PORTS.dr, role: 'dr' };
    if (!isRouter(node(l.spoke))) return { port: LISTEN_PORTS.down, role: 'down' };
    return { port: LINK_PORT_BASE + routerSpokes(l.hub).filter((x) => !isPairLink(x)).indexOf(l), role: 'link' };
  };
  const spokeSide = (l: WanLink): { port: number; role: IfaceRole } => {
    if (l.kind === 'ministry') return { port: LISTEN_PORTS.up1, role: 'up1' };
    if (l.kind === 'dr') return { port: LISTEN_PORTS.site, role: 'site' };
    return l.kind === 'secondary' ? { port: LISTEN_PORTS.up2, role: 'up2' } : { port: LISTEN_PORTS.up1, role: 'up1' };
  };
  /**
   * What may cross a router link. A prefecture carries no transit (its firewall forwards only its
   * branch): its hub accepts only its block from it, and its uplinks carry only what it talks to.
   * Between hubs and DR centers the routing daemon picks the path, so their links carry the overlay.
   * (`isLeaf`: the routing daemon's export filter follows the same rule.)
   */
  const routerLink = (l: WanLink, side: 'hub' | 'spoke'): RouterLink | undefined => {
    const a = addresses.get(`${l.hub}>${l.spoke}`);
    if (!a) return undefined;
    return side === 'hub' ? { local: a.hub, remote: a.spoke, line: lineOf(l), peer: l.spoke } : { local: a.spoke, remote: a.hub, line: lineOf(l), peer: l.hub };
  };
  const extras = (link: RouterLink | undefined) => (link ? [`${link.remote}/32`] : []);
  const out = new Map<string, NodeConfig>();
  for (const n of plan.nodes.values()) {
    const ifaces: IfacePlan[] = [];
    const downLinks = (index.down.get(n.id) ?? []).filter((l) => !isPairLink(l));
    const counties = downLinks.filter((l) => !isRouter(node(l.spoke)));
    // County platforms share one interface; their routes are static.
    if (counties.length > 0) {
      ifaces.push({
        role: 'down',
        name: namer(n, 'down'),
        listenPort: LISTEN_PORTS.down,
        peers: counties.map((l) => {
          const s = node(l.spoke);
          const ep = withPort(s, spokeSide(l).port);
          return { node: s.id, ...(ep ? { endpoint: ep } : {}), allowedIps: [s.aggregate] };
        }),
        routes: counties.map((l) => ({ prefix: node(l.spoke).aggregate, metric: METRIC.primary })),
      });
    }
    // One point-to-point interface per router spoke: what lies behind that spoke, and nothing else.
    for (const l of downLinks.filter((x) => isRouter(node(x.spoke)))) {
      const s = node(l.spoke);
      const link = routerLink(l, 'hub')!;
      const ep = withPort(s, spokeSide(l).port);
      ifaces.push({
        role: 'link',
        name: namer(n, 'link', s),
        listenPort: hubSide(l).port,
        peers: [{ node: s.id, ...(ep ? { endpoint: ep } : {}), allowedIps: [...(isLeaf(s) ? [s.aggregate] : [plan.overlay]), ...extras(link)] }],
        routes: [],
        link,
      });
    }
    // A hub and its DR center back each other up for everything: their dedicated link carries the whole overlay.
    for (const l of (index.down.get(n.id) ?? []).filter(isPairLink)) {
      const peer = node(l.spoke);
      const link = routerLink(l, 'hub')!;
      const ep = withPort(peer, spokeSide(l).port);
      ifaces.push({ role: 'dr', name: namer(n, 'dr'), listenPort: LISTEN_PORTS.dr, peers: [{ node: peer.id, ...(ep ? { endpoint: ep } : {}), allowedIps: [plan.overlay, ...extras(link)], keepalive: KEEPALIVE_SECONDS }], routes: [], link });
    }
    for (const l of (index.up.get(n.id) ?? []).filter(isPairLink)) {
      const peer = node(l.hub);
      const link = routerLink(l, 'spoke')!;
      const side = spokeSide(l);
      const ep = withPort(peer, hubSide(l).port);
      ifaces.push({ role: side.role, name: namer(n, side.role), listenPort: side.port, peers: [{ node: peer.id, ...(ep ? { endpoint: ep } : {}), allowedIps: [plan.overlay, ...extras(link)], keepalive: KEEPALIVE_SECONDS }], routes: [], link });
    }
    // Uplinks: everything the node and its branch talk to outside the branch.
    const uplinks = (index.up.get(n.id) ?? []).filter((l) => !isPairLink(l)).sort((a, b) => (a.kind < b.kind ? -1 : 1));
    if (uplinks.length > 0) {
      const below = subtree(index, n.id);
      const remote = [...(index.related.get(n.id) ?? [])].filter((id) => !below.has(id)).sort().map(node);
      const allowed = remote.map((r) => r.network);
      for (const l of uplinks) {
        const side = spokeSide(l);
        const hub = node(l.hub);
        const link = routerLink(l, 'spoke');
        const ep = withPort(hub, hubSide(l).port);
        const base = allowed.includes(hub.network) ? allowed : [hub.network, ...allowed];
        ifaces.push({
          role: side.role,
          name: namer(n, side.role),
          listenPort: side.port,
          peers: [{ node: hub.id, ...(ep ? { endpoint: ep } : {}), allowedIps: [...(link && !isLeaf(n) ? [plan.overlay] : base), ...extras(link)], keepalive: KEEPALIVE_SECONDS }],
          // A county platform has one uplink and no daemon: static routes.
          routes: link ? [] : remote.map((r) => ({ prefix: r.network, metric: r.id === hub.id ? METRIC.own : METRIC.primary })),
          ...(link ? { link } : {}),
        });
      }
    }
    out.set(n.id, { node: n, ifaces, router: isRouter(n) });
  }
  return out;
}


export interface RenderOptions {
  readonly keys: ReadonlyMap<string, NodeKeys>;
  /** Put private keys into the configurations. @default false: a PostUp loads it from `privateKeyPath` */
  readonly withPrivateKeys?: boolean;
  /** @default '/etc/jinbao/wan/private.key' */
  readonly privateKeyPath?: string;
  /** Routing daemons log to `<dir>/<node>.log`. @default syslog */
  readonly daemonLogDir?: string;
}

const ROLE_TITLE: Readonly<Record<WanNode['role'], string>> = {
  core: 'ministry core hub',
  'ministry-dr': 'ministry DR center hub',
  province: 'province hub',
  'province-dr': 'province DR center hub',
  prefecture: 'prefecture',
  county: 'county access platform',
};

function keyOf(keys: ReadonlyMap<string, NodeKeys>, id: string): NodeKeys {
  const k = keys.get(id);
  if (!k) throw new Error(`no key for WAN node ${id}`);
  return k;
}

/** One wg-quick configuration. Routes are explicit (Table = off) because several interfaces carry the same prefixes with different metrics. */
export function renderWgQuick(plan: WanPlan, cfg: NodeConfig, iface: IfacePlan, opts: RenderOptions): RenderedFile {
  const n = cfg.node;
  const lines = [
    `# jinbao WAN overlay: node ${n.id} (${n.name}), ${ROLE_TITLE[n.role]}, interface ${iface.name} (${iface.role})`,
    '# Rendered from the inventory by "jinbao wan render"; edit the inventory, not this file.',
    '[Interface]',
    `Address = ${n.address}/32`,
    `ListenPort = ${iface.listenPort}`,
    'Table = off',
  ];
  const secret = opts.withPrivateKeys === true;
  if (secret) {
    const k = keyOf(opts.keys, n.id);
    if (!k.privateKey) throw new Error(`node ${n.id} has no private key in the state store (its public key was imported)`);
    lines.push(`PrivateKey = ${k.privateKey}`);
  } else {
    lines.push(`PostUp = wg set %i private-key ${opts.privateKeyPath ?? '/etc/jinbao/wan/private.key'}`);
  }
  // The routing daemon's neighbour is the far end's link address, on-link through the peer address.
  if (iface.link) lines.push(`PostUp = ip -4 address add ${iface.link.local}/32 peer ${iface.link.remote}/32 dev %i`);
  for (const r of iface.routes) lines.push(`PostUp = ip -4 route replace ${r.prefix} dev %i metric ${r.metric}`);
  for (const p of iface.peers) {
    const peer = plan.nodes.get(p.node)!;
    lines.push('', '[Peer]', `# ${peer.id} ${peer.name} (${ROLE_TITLE[peer.role]})`, `PublicKey = ${keyOf(opts.keys, p.node).publicKey}`);
    if (p.endpoint) lines.push(`Endpoint = ${p.endpoint}`);
    lines.push(`AllowedIPs = ${p.allowedIps.join(', ')}`);
    if (p.keepalive) lines.push(`PersistentKeepalive = ${p.keepalive}`);
  }
  return { name: `${iface.name}.conf`, content: lines.join('\n') + '\n', ...(secret ? { secret } : {}) };
}

/** Flows indexed by destination node and by province, so each node's share is found without scanning them all. */
export interface FlowIndex {
  readonly flows: readonly Flow[];
  readonly toNode: ReadonlyMap<string, readonly number[]>;
  readonly fromNode: ReadonlyMap<string, readonly number[]>;
  readonly byProvince: ReadonlyMap<string, readonly number[]>;
  /** Flows towards or from every node. */
  readonly everywhere: readonly number[];
  readonly toEveryone: readonly number[];
}

export function indexFlows(flows: readonly Flow[]): FlowIndex {
  const toNode = new Map<string, number[]>();
  const fromNode = new Map<string, number[]>();
  const byProvince = new Map<string, number[]>();
  const everywhere: number[] = [];
  const toEveryone: number[] = [];
  flows.forEach((f, i) => {
    if (f.to === ALL) toEveryone.push(i);
    else for (const id of f.to) push(toNode, id, i);
    if (f.from !== ALL) for (const id of f.from) push(fromNode, id, i);
    if (f.from === ALL || f.to === ALL) everywhere.push(i);
    if (f.province !== undefined) push(byProvince, f.province, i);
  });
  return { flows, toNode, fromNode, byProvince, everywhere, toEveryone };
}

/**
 * The flows one node's firewall needs: towards it, and those it forwards. The ministry's hubs
 * carry every flow (they are each other's backup); another hub carries the flows from or to the
 * nodes below it (`below`, its branch).
 */
export function flowsFor(cfg: NodeConfig, index: FlowIndex, below: readonly string[] = []): { input: Flow[]; forward: Flow[] } {
  const n = cfg.node;
  const ministry = n.role === 'core' || n.role === 'ministry-dr';
  const pick = (lists: (readonly number[] | undefined)[]) => [...new Set(lists.flatMap((l) => l ?? []))].sort((a, b) => a - b).map((i) => index.flows[i]!);
  const toMe = index.toNode.get(n.id);
  return {
    input: pick([index.toEveryone, toMe]),
    forward: ministry ? [...index.flows] : pick([index.everywhere, toMe, ...below.flatMap((id) => [index.toNode.get(id), index.fromNode.get(id)])]),
  };
}

/** The smallest list of prefixes covering exactly `texts`: adjacent siblings merge into their parent. */
export function collapsePrefixes(texts: readonly string[]): string[] {
  let list = [...new Set(texts)].map(mustParsePrefix).sort((a, b) => a.base - b.base || a.length - b.length);
  // Drop prefixes inside an earlier one, then merge sibling pairs until nothing changes.
  const covered = (outer: Prefix, inner: Prefix) => outer.length <= inner.length && inner.base >= outer.base && inner.base < outer.base + 2 ** (32 - outer.length);
  for (let changed = true; changed; ) {
    changed = false;
    const out: Prefix[] = [];
    for (const p of list) {
      const last = out[out.length - 1];
      if (last && covered(last, p)) {
        changed = true;
        continue;
      }
      const size = 2 ** (32 - p.length);
      if (last && last.length === p.length && p.length > 0 && last.base % (size * 2) === 0 && last.base + size === p.base) {
        out[out.length - 1] = { base: last.base, length: p.length - 1 };
        changed = true;
        continue;
      }
      out.push(p);
    }
    list = out;
  }
  return list.map(formatPrefix);
}

function prefixSet(plan: WanPlan, ids: readonly string[] | typeof ALL): string {
  if (ids === ALL) return plan.overlay;
  const nets = collapsePrefixes(ids.map((id) => plan.nodes.get(id)!.network));
  return nets.length === 1 ? nets[0]! : `{ ${nets.join(', ')} }`;
}

function ruleLines(plan: WanPlan, f: Flow, withDst: boolean): string[] {
  const match = `ip saddr ${prefixSet(plan, f.from)}${withDst ? ` ip daddr ${prefixSet(plan, f.to)}` : ''}`;
  const ports = f.services.filter((s) => SERVICES[s].proto === 'tcp').map((s) => SERVICES[s].port);
  const out: string[] = [];
  const comment = ` comment "${f.rule}"`;
  if (ports.length > 0) out.push(`${match} tcp dport ${ports.length === 1 ? ports[0] : `{ ${ports.join(', ')} }`} accept${comment}`);
  if (f.services.includes('ping')) out.push(`${match} icmp type echo-request accept${comment}`);
  return out;
}

export const NFT_TABLE = 'jinbao_wan';

const ruleCache = new WeakMap<Flow, { input?: string[]; forward?: string[] }>();

/** A flow's nft lines, rendered once however many nodes carry it. */
function cachedRuleLines(plan: WanPlan, f: Flow, withDst: boolean): string[] {
  let entry = ruleCache.get(f);
  if (!entry) ruleCache.set(f, (entry = {}));
  const key = withDst ? 'forward' : 'input';
  return (entry[key] ??= ruleLines(plan, f, withDst));
}

export function renderNftables(plan: WanPlan, cfg: NodeConfig, flows: FlowIndex, below: readonly string[] = []): RenderedFile {
  const { input, forward } = flowsFor(cfg, flows, below);
  const ind = (l: string) => `\t\t${l}`;
  const lines = [
    `# jinbao WAN overlay firewall: node ${cfg.node.id} (${cfg.node.name}), ${ROLE_TITLE[cfg.node.role]}`,
    '# Policy rules are named in each comment; see docs/network.md. Load with: nft -f nftables.nft',
    `table ip ${NFT_TABLE}`,
    `delete table ip ${NFT_TABLE}`,
    `table ip ${NFT_TABLE} {`,
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy accept;',
    '\t\tiif "lo" accept',
    `\t\tip saddr ${plan.overlay} jump wan_in`,
    '\t}',
    '\tchain wan_in {',
    '\t\tct state established,related accept',
    ...input.flatMap((f) => cachedRuleLines(plan, f, false)).map(ind),
    '\t\tcounter drop comment "not allowed by the WAN policy"',
    '\t}',
    '\tchain forward {',
    '\t\ttype filter hook forward priority filter; policy accept;',
    `\t\tip saddr ${plan.overlay} jump wan_fwd`,
    `\t\tip daddr ${plan.overlay} jump wan_fwd`,
    '\t}',
    '\tchain wan_fwd {',
    '\t\tct state established,related accept',
    ...forward.flatMap((f) => cachedRuleLines(plan, f, true)).map(ind),
    '\t\tcounter drop comment "not allowed by the WAN policy"',
    '\t}',
    '}',
  ];
  return { name: 'nftables.nft', content: lines.join('\n') + '\n' };
}

export interface RenderedNode {
  readonly node: WanNode;
  readonly config: NodeConfig;
  readonly files: readonly RenderedFile[];
}

export interface RenderSummary {
  readonly nodes: number;
  readonly hubs: number;
  readonly peers: number;
  readonly interfaces: number;
  readonly firewallRules: number;
  /** Nodes that run the routing daemon. */
  readonly routers: number;
}

/** Render every node of `plan` (or only `only`). */
export function renderPlan(plan: WanPlan, opts: RenderOptions & { namer?: IfaceNamer; only?: readonly string[] }): { nodes: RenderedNode[]; summary: RenderSummary } {
  const flows = aclFlows(plan);
  const configs = planConfigs(plan, opts.namer, flows);
  const index = indexFlows(flows);
  const planIndex = indexPlan(plan, flows);
  const wanted = opts.only ? opts.only.map((id) => configs.get(id)!) : [...configs.values()];
  let peers = 0;
  let interfaces = 0;
  let hubs = 0;
  let rules = 0;
  let routers = 0;
  const nodes = wanted.map((cfg) => {
    // A hub and its DR center carry each other's flows: the routing daemon may send one's traffic through the other.
    const partner = [...(planIndex.down.get(cfg.node.id) ?? []).filter((l) => l.kind === 'dr').map((l) => l.spoke), ...(planIndex.up.get(cfg.node.id) ?? []).filter((l) => l.kind === 'dr').map((l) => l.hub)];
    const carried = new Set([...subtree(planIndex, cfg.node.id), ...partner.flatMap((p) => [p, ...subtree(planIndex, p)])]);
    const nft = renderNftables(plan, cfg, index, [...carried]);
    const files = [...cfg.ifaces.map((i) => renderWgQuick(plan, cfg, i, opts)), nft];
    if (cfg.router) files.push(renderBird(plan, cfg, opts.daemonLogDir ? { logFile: `${opts.daemonLogDir}/${cfg.node.id}.log` } : {}));
    interfaces += cfg.ifaces.length;
    peers += cfg.ifaces.reduce((s, i) => s + i.peers.length, 0);
    if (cfg.ifaces.some((i) => i.role === 'down' || i.role === 'link')) hubs += 1;
    rules += nft.content.split(' accept comment ').length - 1;
    if (cfg.router) routers += 1;
    return { node: cfg.node, config: cfg, files };
  });
  return { nodes, summary: { nodes: nodes.length, hubs, peers, interfaces, firewallRules: rules, routers } };
}
