import { Gauge, type Registry } from 'prom-client';
import type { CheckResult } from './lab/index.js';

/**
 * WAN gauges from the last recorded lab check (never from running the lab at scrape time):
 * per link up / handshake age / latency, per node links up, and the matrix failures.
 */
export function registerWanMetrics(registry: Registry, last: () => CheckResult | undefined): void {
  const registers = [registry];
  const linkLabels = ['hub', 'spoke', 'kind'];
  new Gauge({
    name: 'jinbao_wan_link_up',
    help: 'WAN lab link state at the last check: 1 when its probe answered and its handshake is younger than 180 s.',
    labelNames: linkLabels,
    registers,
    collect() {
      this.reset();
      for (const l of last()?.links ?? []) this.set({ hub: l.hub, spoke: l.spoke, kind: l.kind }, l.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'jinbao_wan_handshake_age_seconds',
    help: 'Age of the latest WireGuard handshake of each WAN lab link at the last check.',
    labelNames: linkLabels,
    registers,
    collect() {
      this.reset();
      for (const l of last()?.links ?? []) if (l.handshakeAgeSeconds !== undefined) this.set({ hub: l.hub, spoke: l.spoke, kind: l.kind }, l.handshakeAgeSeconds);
    },
  });
  new Gauge({
    name: 'jinbao_wan_link_latency_seconds',
    help: 'Mean round-trip time over each WAN lab link at the last check.',
    labelNames: linkLabels,
    registers,
    collect() {
      this.reset();
      for (const l of last()?.links ?? []) if (l.latencyMs !== undefined) this.set({ hub: l.hub, spoke: l.spoke, kind: l.kind }, l.latencyMs / 1000);
    },
  });
  new Gauge({
    name: 'jinbao_wan_node_links_up',
    help: 'Links up per WAN lab node (as hub or spoke) at the last check.',
    labelNames: ['node', 'state'],
    registers,
    collect() {
      this.reset();
      for (const l of last()?.links ?? []) for (const node of [l.hub, l.spoke]) this.inc({ node, state: l.up ? 'up' : 'down' });
    },
  });
  new Gauge({
    name: 'jinbao_wan_matrix_failures',
    help: 'Pairs of the last WAN lab check whose observed reachability differed from the policy.',
    registers,
    collect() {
      const c = last();
      if (c) this.set(c.summary.failures);
      else this.reset();
    },
  });
  new Gauge({
    name: 'jinbao_wan_check_timestamp_seconds',
    help: 'When the last WAN lab check ran (unix time).',
    registers,
    collect() {
      const c = last();
      if (c) this.set(Date.parse(c.checkedAt) / 1000);
      else this.reset();
    },
  });
}
