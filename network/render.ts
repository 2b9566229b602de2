import { MINISTRY_ID } from '../fabric/index.js';
import { formatPrefix, mustParsePrefix, type Prefix } from '../lib/cidr.js';
import { ALL, SERVICES, aclFlows, type Flow } from './acl.js';
import type { NodeKeys } from './keys.js';
import { drNodeId, isPairLink, type WanLink, type WanNode, type WanPlan } from './topology.js';

/**
 * Rendering: the plan becomes, per node, one wg-quick configuration per WireGuard interface, the
 * node's nftables ruleset and its failover watch list. Pure: keys and interface names come in.
 */

/** `dr`: a hub's link to its DR center; `site`: a province DR node's link to the province hub it protects. */
export type IfaceRole = 'down' | 'up1' | 'up2' | 'dr' | 'site';

export const LISTEN_PORTS: Readonly<Record<IfaceRole, number>> = { down: 51820, up1: 51821, up2: 51822, dr: 51823, site: 51824 };
/**
 * Policy routing on a province DR node: what its spokes send it for elsewhere (they do only when
 * their line to the province hub is down) goes to the province hub over the `site` link, not up
 * to the ministry, which accepts a prefecture's addresses only from the province hub.
 */
export const SPOKE_TABLE = 200;
export const SPOKE_RULE_PRIORITY = 1000;
/** Route metrics: the peer's own network, the primary path, the backup path. */
export const METRIC = { own: 50, primary: 100, backup: 200 } as const;
export const KEEPALIVE_SECONDS = 25;

export interface Route {
  readonly prefix: string;
  readonly metric: number;
  /** Source address for traffic on this route (the link addresses of watched links). */
  readonly src?: string;
}

/** Metric of the pinned host route to a watched link's far end: never withdrawn, so probes always use the line itself. */
export const LINK_PROBE_METRIC = 10;
/** Link addresses of watched links come from IPv4 link-local space: they never leave the tunnel they probe. */
const LINK_SPACE_BASE = (169 << 24) + (254 << 16) + 256;

export interface PeerPlan {
  readonly node: string;
  readonly endpoint?: string;
  readonly allowedIps: readonly string[];
  readonly keepalive?: number;
}

/** Traffic that enters by interface `iif` and goes to one of `prefixes` is routed by table `table`, which sends it out this interface. */
export interface SpokePolicy {
  readonly iif: string;
  readonly table: number;
  readonly priority: number;
  readonly prefixes: readonly string[];
}

export interface IfacePlan {
  readonly role: IfaceRole;
  readonly name: string;
  /** Link addresses on this interface, besides the node's overlay address. */
  readonly linkAddresses: readonly string[];
  readonly listenPort: number;
  readonly peers: readonly PeerPlan[];
  readonly routes: readonly Route[];
  readonly policy?: SpokePolicy;
}

/** A primary link a node probes; when the probe fails its `routes` are withdrawn so the backup routes carry the traffic. */
export interface Watch {
  readonly iface: string;
  readonly peer: string;
  /** The far end's link address, reached over a pinned host route on this interface. */
  readonly probe: string;
  readonly routes: readonly Route[];
}

export interface NodeConfig {
  readonly node: WanNode;
  readonly ifaces: readonly IfacePlan[];
  readonly watches: readonly Watch[];
}

export type IfaceNamer = (node: WanNode, role: IfaceRole) => string;
/** Production interface names: one set per node, so plain role names do. */
export const defaultIfaceName: IfaceNamer = (_node, role) => `wg-${role}`;

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

function endpointOf(node: WanNode, role: IfaceRole): string | undefined {
  return node.endpoint ? `${node.endpoint}:${LISTEN_PORTS[role]}` : undefined;
}

function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Watched links (a spoke with two uplinks) get a pair of link addresses, in plan order: the probes
 * of the failover watch run between them over pinned host routes, so a probe proves the line in
 * both directions whatever the overlay routes do meanwhile.
 */
function linkAddresses(plan: WanPlan, index: Index): Map<string, { hub: string; spoke: string }> {
  const out = new Map<string, { hub: string; spoke: string }>();
  let i = 0;
  for (const l of plan.links) {
    if (isPairLink(l)) continue;
    if ((index.up.get(l.spoke) ?? []).filter((u) => !isPairLink(u)).length < 2) continue;
    const n = LINK_SPACE_BASE + 2 * i++;
    out.set(`${l.hub}>${l.spoke}`, { hub: ipv4(n), spoke: ipv4(n + 1) });
  }
  return out;
}

/** The WireGuard interfaces, routes and failover watches of every node in `plan`. */
export function planConfigs(plan: WanPlan, namer: IfaceNamer = defaultIfaceName, flows: readonly Flow[] = aclFlows(plan)): Map<string, NodeConfig> {
  const index = indexPlan(plan, flows);
  const links = linkAddresses(plan, index);
  const node = (id: string) => plan.nodes.get(id)!;
  const out = new Map<string, NodeConfig>();
  for (const n of plan.nodes.values()) {
    const ifaces: IfacePlan[] = [];
    const watches: Watch[] = [];
    const downLinks = (index.down.get(n.id) ?? []).filter((l) => !isPairLink(l));
    const ministryDown = (index.down.get(n.id) ?? []).find((l) => l.kind === 'ministry');
    const ministryUp = (index.up.get(n.id) ?? []).find((l) => l.kind === 'ministry');
    const drDown = (index.down.get(n.id) ?? []).find((l) => l.kind === 'dr');
    const drUp = (index.up.get(n.id) ?? []).find((l) => l.kind === 'dr');
    const spokeAggregates = downLinks.map((l) => node(l.spoke).aggregate);

    if (downLinks.length > 0) {
      const name = namer(n, 'down');
      const linked = downLinks.map((l) => ({ l, s: node(l.spoke), pair: links.get(`${l.hub}>${l.spoke}`) }));
      ifaces.push({
        role: 'down',
        name,
        linkAddresses: linked.flatMap((x) => (x.pair ? [x.pair.hub] : [])),
        listenPort: LISTEN_PORTS.down,
        peers: linked.map(({ l, s, pair }) => {
          const ep = endpointOf(s, l.kind === 'secondary' ? 'up2' : 'up1');
          return { node: s.id, ...(ep ? { endpoint: ep } : {}), allowedIps: [s.aggregate, ...(pair ? [`${pair.spoke}/32`] : [])] };
        }),
        routes: [
          ...spokeAggregates.map((prefix) => ({ prefix, metric: METRIC.primary })),
          ...linked.flatMap(({ pair }) => (pair ? [{ prefix: `${pair.spoke}/32`, metric: LINK_PROBE_METRIC, src: pair.hub }] : [])),
        ],
      });
      // A hub paired with its DR center (or DR node with its hub) has a second way to its spokes: watch each spoke's direct link.
      if (ministryDown || ministryUp || drDown || drUp) {
        for (const { s, pair } of linked) {
          if (pair) watches.push({ iface: name, peer: s.id, probe: pair.spoke, routes: [{ prefix: s.aggregate, metric: METRIC.primary }] });
        }
      }
    }
    // The dedicated link between the two ministry hubs: each side's own network, plus the other's spokes as backup.
    const ministryLink = ministryDown ? { role: 'dr' as const, peer: node(ministryDown.spoke), peerRole: 'up1' as const } : ministryUp ? { role: 'up1' as const, peer: node(ministryUp.hub), peerRole: 'dr' as const } : undefined;
    if (ministryLink) {
      const ep = endpointOf(ministryLink.peer, ministryLink.peerRole);
      const backup = spokeAggregates.filter((p) => p !== ministryLink.peer.network);
      ifaces.push({
        role: ministryLink.role,
        name: namer(n, ministryLink.role),
        linkAddresses: [],
        listenPort: LISTEN_PORTS[ministryLink.role],
        peers: [{ node: ministryLink.peer.id, ...(ep ? { endpoint: ep } : {}), allowedIps: [ministryLink.peer.network, ...backup], keepalive: KEEPALIVE_SECONDS }],
        routes: [{ prefix: ministryLink.peer.network, metric: METRIC.own }, ...backup.map((prefix) => ({ prefix, metric: METRIC.backup }))],
      });
    }
    // A province hub and its DR node: each side's own network, the other's spokes as backup. The DR
    // node also sends what its spokes send it for outside their branch to the hub (policy routing on
    // its down interface), and accepts the answers: the hub is where those addresses are routed.
    if (drDown) {
      const peer = node(drDown.spoke);
      const ep = endpointOf(peer, 'site');
      const backup = spokeAggregates.filter((p) => p !== peer.network);
      ifaces.push({
        role: 'dr',
        name: namer(n, 'dr'),
        linkAddresses: [],
        listenPort: LISTEN_PORTS.dr,
        peers: [{ node: peer.id, ...(ep ? { endpoint: ep } : {}), allowedIps: [peer.network, ...backup], keepalive: KEEPALIVE_SECONDS }],
        routes: [{ prefix: peer.network, metric: METRIC.own }, ...backup.map((prefix) => ({ prefix, metric: METRIC.backup }))],
      });
    }
    if (drUp) {
      const peer = node(drUp.hub);
      const ep = endpointOf(peer, 'dr');
      const below = subtree(index, n.id);
      const beyond = [...new Set([...below].flatMap((id) => [...(index.related.get(id) ?? [])]))].filter((id) => id !== n.id && !below.has(id)).sort().map((id) => node(id).network);
      const backup = spokeAggregates.filter((p) => p !== peer.network);
      const name = namer(n, 'site');
      ifaces.push({
        role: 'site',
        name,
        linkAddresses: [],
        listenPort: LISTEN_PORTS.site,
        peers: [{ node: peer.id, ...(ep ? { endpoint: ep } : {}), allowedIps: [...new Set([peer.network, ...backup, ...beyond])], keepalive: KEEPALIVE_SECONDS }],
        routes: [{ prefix: peer.network, metric: METRIC.own }, ...backup.map((prefix) => ({ prefix, metric: METRIC.backup }))],
        ...(downLinks.length > 0 && beyond.length > 0 ? { policy: { iif: namer(n, 'down'), table: SPOKE_TABLE, priority: SPOKE_RULE_PRIORITY, prefixes: beyond } } : {}),
      });
    }
    // Uplinks: everything the node talks to outside its own branch.
    const uplinks = (index.up.get(n.id) ?? []).filter((l) => !isPairLink(l)).sort((a, b) => (a.kind < b.kind ? -1 : 1));
    if (uplinks.length > 0) {
      const below = subtree(index, n.id);
      const remote = [...(index.related.get(n.id) ?? [])].filter((id) => !below.has(id)).sort().map(node);
      const allowed = remote.map((r) => r.network);
      for (const l of uplinks) {
        const role: IfaceRole = l.kind === 'primary' ? 'up1' : 'up2';
        const hub = node(l.hub);
        const name = namer(n, role);
        const ep = endpointOf(hub, 'down');
        const routes = remote.map((r) => ({ prefix: r.network, metric: r.id === hub.id ? METRIC.own : l.kind === 'primary' ? METRIC.primary : METRIC.backup }));
        const pair = links.get(`${l.hub}>${l.spoke}`);
        const base = allowed.includes(hub.network) ? allowed : [hub.network, ...allowed];
        ifaces.push({
          role,
          name,
          linkAddresses: pair ? [pair.spoke] : [],
          listenPort: LISTEN_PORTS[role],
          peers: [{ node: hub.id, ...(ep ? { endpoint: ep } : {}), allowedIps: pair ? [...base, `${pair.hub}/32`] : base, keepalive: KEEPALIVE_SECONDS }],
          routes: [...routes, ...(pair ? [{ prefix: `${pair.hub}/32`, metric: LINK_PROBE_METRIC, src: pair.spoke }] : [])],
        });
        if (pair) watches.push({ iface: name, peer: hub.id, probe: pair.hub, routes });
      }
    }
    out.set(n.id, { node: n, ifaces, watches });
  }
  return out;
}

/** What a rendered file holds; `secret` files carry private keys and are written mode 0600. */
export interface RenderedFile {
  readonly name: string;
  readonly content: string;
  readonly secret?: boolean;
}

export interface RenderOptions {
  readonly keys: ReadonlyMap<string, NodeKeys>;
  /** Put private keys into the configurations. @default false: a PostUp loads it from `privateKeyPath` */
  readonly withPrivateKeys?: boolean;
  /** @default '/etc/jinbao/wan/private.key' */
  readonly privateKeyPath?: string;
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
    `Address = ${[n.address, ...iface.linkAddresses].map((a) => `${a}/32`).join(', ')}`,
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
  for (const r of iface.routes) lines.push(`PostUp = ip -4 route replace ${r.prefix} dev %i metric ${r.metric}${r.src ? ` src ${r.src}` : ''}`);
  if (iface.policy) {
    const p = iface.policy;
    const rule = `iif ${p.iif} lookup ${p.table} priority ${p.priority}`;
    for (const prefix of p.prefixes) lines.push(`PostUp = ip -4 route replace ${prefix} dev %i table ${p.table}`);
    lines.push(`PostUp = ip -4 rule del ${rule} 2>/dev/null; ip -4 rule add ${rule}`, `PostDown = ip -4 rule del ${rule}`);
  }
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

/** The failover watch list: one line per watched link: interface, probe address, routes withdrawn on failure. */
export function renderWatches(cfg: NodeConfig): RenderedFile {
  const lines = [
    `# jinbao WAN failover watches for node ${cfg.node.id}: when a probe over the interface fails twice, its routes are withdrawn`,
    '# and the backup routes (higher metric, other interface) carry the traffic; they come back when the probe answers.',
    '# The probe goes to the far end\'s link address over a pinned host route, so it always tests the line itself.',
    '# interface probe routes(prefix@metric,...)',
    ...cfg.watches.map((w) => `${w.iface} ${w.probe} ${w.routes.map((r) => `${r.prefix}@${r.metric}`).join(',')}`),
  ];
  return { name: 'failover.conf', content: lines.join('\n') + '\n' };
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
  readonly watches: number;
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
  let watches = 0;
  const nodes = wanted.map((cfg) => {
    const nft = renderNftables(plan, cfg, index, [...subtree(planIndex, cfg.node.id)]);
    const files = [...cfg.ifaces.map((i) => renderWgQuick(plan, cfg, i, opts)), nft];
    if (cfg.watches.length > 0) files.push(renderWatches(cfg));
    interfaces += cfg.ifaces.length;
    peers += cfg.ifaces.reduce((s, i) => s + i.peers.length, 0);
    if (cfg.ifaces.some((i) => i.role === 'down')) hubs += 1;
    rules += nft.content.split(' accept comment ').length - 1;
    watches += cfg.watches.length;
    return { node: cfg.node, config: cfg, files };
  });
  return { nodes, summary: { nodes: nodes.length, hubs, peers, interfaces, firewallRules: rules, watches } };
}
