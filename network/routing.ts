import { inputError } from '../lib/i18n/index.js';
import { NETWORK_MESSAGES } from './messages.js';
import { isLeaf, type WanNode, type WanPlan } from './topology.js';
import type { LineKind, NodeConfig, RenderedFile } from './render-model.js';

/**
 * The routing daemon's configuration (BIRD 2) for one router of the overlay: eBGP over each
 * point-to-point WireGuard link, BFD on every link, a cost carried with every route, and the filter
 * that lets each router originate only its own block. Pure: the plan and the node's interfaces in,
 * the text of `bird.conf` out.
 *
 * Why BGP, and why it behaves like a link-state protocol here: each router is its own AS and adds
 * the cost of the line a route leaves on to the route's MED as it exports it; the receiver turns the
 * accumulated cost into its local preference (lower cost, higher preference). Every router so picks
 * its least-cost path, a path vector with no loops, and with symmetric line costs the path from A to
 * B is the path from B to A: the nodes' firewalls are stateful and drop a flow seen in one direction
 * only. BGP reacts to BFD at once (a session down withdraws its routes, the next best is sent on
 * straight away); BIRD's OSPF waits for its next one-second tick to recompute. Why BIRD: one small
 * daemon with one configuration file, a parser that checks a file without starting (`bird -p -c`), a
 * per-instance control socket (one per lab namespace), a filter language that sees a route's origin.
 */

/**
 * Cost of a line: the primary path first, a hub's dedicated link to its DR center next (cheap: a DR
 * node reaches its prefectures through its hub while their lines are up), the secondary uplink last
 * (used only when the others are down). In the lab's topologies no two paths cost the same.
 */
export const LINE_COST: Readonly<Record<LineKind, number>> = { primary: 10, pair: 15, secondary: 100 };
/** Cost of a router's own block, where it starts. */
export const STUB_COST = 1;
/** Local preference of a route is this minus its accumulated cost (BGP prefers the higher). */
export const PREFERENCE_BASE = 1_000_000;
/** BFD on every router link: 100 ms × 3, a dead line is noticed in 0.3 s. */
export const BFD = { intervalMs: 100, multiplier: 3 } as const;
/**
 * BGP's own timers, all in whole seconds (BIRD accepts no less). Keepalive 1 s, hold 3 s: the
 * fallback when BFD itself is stuck. A session starts 1 s after the daemon, and a connection that
 * failed is tried again after 2 s. After a session fails (BFD down, hold timer) it is restarted
 * after `errorWait[0]` s; each further failure within `errorForget` s doubles the wait, up to
 * `errorWait[1]` s: the hold-down that keeps a flapping line out of the routing.
 */
export const BGP_TIMERS = { keepalive: 1, hold: 3, connectDelay: 1, connectRetry: 2, errorWait: [2, 30], errorForget: 60 } as const;
/** Private 4-byte AS numbers (RFC 6996) start here; a router's AS adds the last 24 bits of its router address. */
export const ASN_BASE = 4_200_000_000;
/** Link addresses (point-to-point router links) are the daemon's own business: never carried into the kernel's overlay routes. */
export const LINK_SPACE = '169.254.0.0/16';

export interface BirdOptions {
  /** Where the daemon logs. @default syslog */
  readonly logFile?: string;
}

/** A router's AS number: its own, derived from its router address (unique while the overlay fits in a /8). */
export function asnOf(address: string): number {
  const [, b, c, d] = address.split('.').map(Number);
  return ASN_BASE + ((b! << 16) | (c! << 8) | d!);
}

/** What a router may originate: its own block (which covers its own network and its county platforms). */
export function originPrefixes(n: WanNode): string[] {
  return n.network === n.aggregate ? [n.network] : [n.aggregate, n.network];
}

function prefixSet(prefixes: readonly string[]): string {
  return `[ ${prefixes.map((p) => `${p}+`).join(', ')} ]`;
}

const filterCache = new WeakMap<WanPlan, string[]>();

/** The import filter: a route is accepted only from the router whose block it lies in; anything else is rejected, logged and counted. The same for every router of a plan: rendered once. */
export function renderOriginFilter(plan: WanPlan): string[] {
  const cached = filterCache.get(plan);
  if (cached) return cached;
  const name = 'wan_origin';
  const routers = [...plan.nodes.values()].filter((n) => n.role !== 'county').sort((a, b) => (a.id < b.id ? -1 : 1));
  const byAsn = new Map<number, string>();
  for (const r of routers) {
    const asn = asnOf(r.address);
    const other = byAsn.get(asn);
    if (other !== undefined) throw inputError(NETWORK_MESSAGES, 'routing.asnClash', { a: other, b: r.id, asn, overlay: plan.overlay });
    byAsn.set(asn, r.id);
  }
  const lines = [
    `# Each router originates only its own block; a route from any other router is a wrong announcement:`,
    `# rejected here, kept as filtered (counted by "show protocols all"), and logged. A route that is`,
    `# accepted is preferred by its accumulated cost (MED): ${PREFERENCE_BASE} minus the cost.`,
    `filter ${name} {`,
    `\tif ! defined(bgp_med) then { print "wrong announcement: ", net, " without a cost from AS ", bgp_path.last; reject; }`,
    `\tbgp_local_pref = ${PREFERENCE_BASE} - bgp_med;`,
    ...routers.map((r) => `\tif bgp_path.last = ${asnOf(r.address)} then { if net ~ ${prefixSet(originPrefixes(r))} then accept; print "wrong announcement: ", net, " from ${r.id} (AS ", bgp_path.last, ")"; reject; }`),
    `\tprint "wrong announcement: ", net, " from unknown AS ", bgp_path.last;`,
    '\treject;',
    '}',
  ];
  filterCache.set(plan, lines);
  return lines;
}

/** The node's `bird.conf`; undefined for nodes that run no daemon (county platforms). */
export function renderBird(plan: WanPlan, cfg: NodeConfig, opts: BirdOptions = {}): RenderedFile {
  const n = cfg.node;
  const links = cfg.ifaces.filter((i) => i.link !== undefined);
  const own = originPrefixes(n);
  const q = (s: string) => `"${s}"`;
  const lines = [
    `# jinbao WAN routing: node ${n.id} (${n.name}), BIRD 2. Rendered from the inventory by "jinbao wan render"; edit the inventory, not this file.`,
    '# Check: bird -p -c bird.conf    Run: bird -c bird.conf -s <control socket> -P <pid file>',
    `router id ${n.address};`,
    opts.logFile ? `log ${q(opts.logFile)} all;` : 'log syslog all;',
    'timeformat protocol iso long;',
    '',
    'protocol device { scan time 10; }',
    '',
    '# Overlay routes go to the kernel with the node\'s own address as their source; link addresses and the own block do not.',
    'protocol kernel {',
    '\tlearn off;',
    '\tipv4 {',
    '\t\timport none;',
    `\t\texport filter { if net ~ [ ${LINK_SPACE}+ ] then reject; if net ~ [ ${own.join(', ')} ] then reject; krt_prefsrc = ${n.address}; accept; };`,
    '\t};',
    '}',
    '',
    ...renderOriginFilter(plan),
    '',
  ];
  if (links.length > 0) {
    lines.push(
      `# Bidirectional forwarding detection on every router link: ${BFD.intervalMs} ms x ${BFD.multiplier}.`,
      'protocol bfd {',
      '\tdebug { events };  # logs each session change: a session going down is a failover',
      `\tinterface ${links.map((i) => q(i.name)).join(', ')} { min rx interval ${BFD.intervalMs} ms; min tx interval ${BFD.intervalMs} ms; multiplier ${BFD.multiplier}; };`,
      '}',
      '',
    );
  }
  lines.push(
    `# The router's own block, announced to every neighbour (never installed here: the kernel export above refuses it).`,
    'protocol static own {',
    '\tipv4;',
    ...own.map((p) => `\troute ${p} blackhole;`),
    '}',
    '',
    `# One eBGP session per router link, on the link's own addresses, taken down by BFD. AS ${asnOf(n.address)}.`,
    'template bgp wan {',
    `\tlocal as ${asnOf(n.address)};`,
    '\tdirect;',
    '\tbfd on;',
    `\tkeepalive time ${BGP_TIMERS.keepalive}; hold time ${BGP_TIMERS.hold};`,
    `\tconnect delay time ${BGP_TIMERS.connectDelay}; connect retry time ${BGP_TIMERS.connectRetry};`,
    `\terror wait time ${BGP_TIMERS.errorWait[0]}, ${BGP_TIMERS.errorWait[1]}; error forget time ${BGP_TIMERS.errorForget};`,
    '\tipv4 { import keep filtered on; import filter wan_origin; next hop self; };',
    '}',
    ...links.flatMap((i) => {
      const link = i.link!;
      const peer = plan.nodes.get(link.peer)!;
      const cost = LINE_COST[link.line];
      // A prefecture is a leaf: it announces its own block and nothing it learned, so no path ever crosses it.
      const learned = isLeaf(n) ? '' : ` if source = RTS_BGP then { bgp_med = bgp_med + ${cost}; accept; }`;
      return [
        '',
        `protocol bgp ${sessionName(i.name)} from wan {`,
        `\tdescription "${link.line} line to ${link.peer}";`,
        `\tneighbor ${link.remote} as ${asnOf(peer.address)};`,
        `\tsource address ${link.local};`,
        `\tinterface ${q(i.name)};`,
        `\tipv4 { export filter { if proto = "own" then { bgp_med = ${STUB_COST + cost}; accept; }${learned} reject; }; };`,
        '}',
      ];
    }),
  );
  return { name: 'bird.conf', content: lines.join('\n') + '\n' };
}

/** The BGP session of a router link is named after its interface (`link_wg_up1`): a BIRD symbol, letters, digits and `_`. */
export function sessionName(iface: string): string {
  return `link_${iface.replace(/[^A-Za-z0-9_]/g, '_')}`;
}
