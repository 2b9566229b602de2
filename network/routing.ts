import type { WanNode, WanPlan } from './topology.js';
import type { LineKind, NodeConfig, RenderedFile } from './render-model.js';

/**
 * The routing daemon's configuration (BIRD 2) for one router of the overlay: OSPFv2 over the
 * point-to-point WireGuard links, BFD on every link, and the filter that lets each router originate
 * only its own block. Pure: the plan and the node's interfaces in, the text of `bird.conf` out.
 *
 * Why OSPF: with symmetric link costs a link-state protocol computes the same path in both directions
 * between any two routers, and the nodes' firewalls are stateful (a node that sees only one direction
 * of a flow drops it). The costs below make the primary path win, then the DR node, then the
 * ministry DR center. Why BIRD: one small daemon with one configuration file, a parser that checks a
 * file without starting (`bird -p -c`), a per-instance control socket (one per lab namespace).
 */

/**
 * OSPF cost of a line: the primary path first, a hub's dedicated link to its DR center next (cheap:
 * a DR node reaches its prefectures through its hub while their lines are up), the secondary uplink
 * last (used only when the others are down). In the lab's topologies no two paths cost the same.
 */
export const OSPF_COST: Readonly<Record<LineKind, number>> = { primary: 10, pair: 15, secondary: 100 };
/** Cost of a router's own block inside its router LSA. */
export const STUB_COST = 1;
/** BFD on every router link: 100 ms × 3, a dead line is noticed in 0.3 s. */
export const BFD = { intervalMs: 100, multiplier: 3 } as const;
/**
 * OSPF hellos every second, a neighbour is dead after 4 silent ones (BFD is faster; this is the
 * fallback). Unacknowledged database packets are sent again after 2 s (BIRD's minimum; its default
 * is 5): when two routers meet, a first database description that arrives before its receiver has
 * seen the sender's hello is dropped, and the adjacency waits one retransmission for it.
 */
export const OSPF_HELLO = { seconds: 1, deadCount: 4, retransmitSeconds: 2 } as const;
/** Link addresses (point-to-point router links) are the daemon's own business: never carried into the kernel's overlay routes. */
export const LINK_SPACE = '169.254.0.0/16';

export interface BirdOptions {
  /** Where the daemon logs. @default syslog */
  readonly logFile?: string;
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
  const lines = [
    `# Each router originates only its own block; a route from any other router is a wrong announcement:`,
    `# rejected here, kept as filtered (counted by "show protocols all"), and logged.`,
    `filter ${name} {`,
    `\tif net ~ [ ${LINK_SPACE}+ ] then accept;`,
    ...routers.map((r) => `\tif ospf_router_id = ${r.address} then { if net ~ ${prefixSet(originPrefixes(r))} then accept; print "wrong announcement: ", net, " from ${r.id} (router ", ospf_router_id, ")"; reject; }`),
    `\tprint "wrong announcement: ", net, " from unknown router ", ospf_router_id;`,
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
    'protocol ospf v2 wan {',
    '\tecmp no;',
    '\tipv4 { import keep filtered on; import filter wan_origin; export none; };',
    '\tarea 0 {',
    ...own.map((p) => `\t\tstubnet ${p} { cost ${STUB_COST}; };`),
    ...links.map((i) => `\t\tinterface ${q(i.name)} ${LINK_SPACE} { type ptp; cost ${OSPF_COST[i.link!.line]}; hello ${OSPF_HELLO.seconds}; retransmit ${OSPF_HELLO.retransmitSeconds}; dead count ${OSPF_HELLO.deadCount}; bfd yes; };  # ${i.link!.line} line to ${i.link!.peer}`),
    '\t};',
    '}',
  );
  return { name: 'bird.conf', content: lines.join('\n') + '\n' };
}
