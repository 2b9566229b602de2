import { Gauge, type Registry } from 'prom-client';
import { established, type CheckResult } from './lab/index.js';

/**
 * WAN gauges from the last recorded lab check (never from running the lab at scrape time):
 * per link up / handshake age / latency, per node links up, the matrix failures, and per router its
 * daemon, BGP sessions, BFD sessions, routes, rejected announcements and failovers.
 */
export function registerWanMetrics(registry: Registry, last: () => Promise<CheckResult | undefined>): void {
  const registers = [registry];
  const linkLabels = ['hub', 'spoke', 'kind'];
  new Gauge({
    name: 'jinbao_wan_link_up',
    help: 'WAN lab link state at the last check: 1 when its probe answered and its handshake is younger than 180 s.',
    labelNames: linkLabels,
    registers,
    async collect() {
      this.reset();
      for (const l of (await last())?.links ?? []) this.set({ hub: l.hub, spoke: l.spoke, kind: l.kind }, l.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'jinbao_wan_handshake_age_seconds',
    help: 'Age of the latest WireGuard handshake of each WAN lab link at the last check.',
    labelNames: linkLabels,
    registers,
    async collect() {
      this.reset();
      for (const l of (await last())?.links ?? []) if (l.handshakeAgeSeconds !== undefined) this.set({ hub: l.hub, spoke: l.spoke, kind: l.kind }, l.handshakeAgeSeconds);
    },
  });
  new Gauge({
    name: 'jinbao_wan_link_latency_seconds',
    help: 'Mean round-trip time over each WAN lab link at the last check.',
    labelNames: linkLabels,
    registers,
    async collect() {
      this.reset();
      for (const l of (await last())?.links ?? []) if (l.latencyMs !== undefined) this.set({ hub: l.hub, spoke: l.spoke, kind: l.kind }, l.latencyMs / 1000);
    },
  });
  new Gauge({
    name: 'jinbao_wan_node_links_up',
    help: 'Links up per WAN lab node (as hub or spoke) at the last check.',
    labelNames: ['node', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const l of (await last())?.links ?? []) for (const node of [l.hub, l.spoke]) this.inc({ node, state: l.up ? 'up' : 'down' });
    },
  });
  new Gauge({
    name: 'jinbao_wan_matrix_failures',
    help: 'Pairs of the last WAN lab check whose observed reachability differed from the policy.',
    registers,
    async collect() {
      const c = await last();
      if (c) this.set(c.summary.failures);
      else this.reset();
    },
  });
  new Gauge({
    name: 'jinbao_wan_check_timestamp_seconds',
    help: 'When the last WAN lab check ran (unix time).',
    registers,
    async collect() {
      const c = await last();
      if (c) this.set(Date.parse(c.checkedAt) / 1000);
      else this.reset();
    },
  });

  // The routing daemons, as the last check found them.
  const routers = async () => (await last())?.routing ?? [];
  new Gauge({
    name: 'jinbao_wan_router_running',
    help: 'WAN lab routers whose routing daemon answered at the last check (1) or not (0).',
    labelNames: ['node'],
    registers,
    async collect() {
      this.reset();
      for (const s of await routers()) this.set({ node: s.node }, s.running ? 1 : 0);
    },
  });
  new Gauge({
    name: 'jinbao_wan_bgp_sessions',
    help: 'BGP sessions (one per router link) of each WAN lab router at the last check, by state (established: the session is up).',
    labelNames: ['node', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const s of await routers()) {
        this.set({ node: s.node, state: 'established' }, s.neighbours.filter(established).length);
        this.set({ node: s.node, state: 'other' }, s.neighbours.filter((n) => !established(n)).length);
      }
    },
  });
  new Gauge({
    name: 'jinbao_wan_bfd_sessions',
    help: 'BFD sessions of each WAN lab router at the last check, by state (up: the line answers within 0.3 s).',
    labelNames: ['node', 'state'],
    registers,
    async collect() {
      this.reset();
      for (const s of await routers()) {
        this.set({ node: s.node, state: 'up' }, s.bfd.filter((b) => b.state === 'Up').length);
        this.set({ node: s.node, state: 'down' }, s.bfd.filter((b) => b.state !== 'Up').length);
      }
    },
  });
  new Gauge({
    name: 'jinbao_wan_routes',
    help: 'Routes each WAN lab router accepted from its routing daemon\'s neighbours at the last check.',
    labelNames: ['node'],
    registers,
    async collect() {
      this.reset();
      for (const s of await routers()) this.set({ node: s.node }, s.routes);
    },
  });
  new Gauge({
    name: 'jinbao_wan_routes_rejected',
    help: 'Wrong announcements each WAN lab router rejected (a prefix from a router whose block does not hold it) at the last check.',
    labelNames: ['node'],
    registers,
    async collect() {
      this.reset();
      for (const s of await routers()) this.set({ node: s.node }, s.filtered);
    },
  });
  new Gauge({
    name: 'jinbao_wan_failover_events',
    help: 'BFD sessions that went down on each WAN lab router since its daemon started (each one a failover), at the last check.',
    labelNames: ['node'],
    registers,
    async collect() {
      this.reset();
      for (const s of await routers()) this.set({ node: s.node }, s.failovers);
    },
  });
}
