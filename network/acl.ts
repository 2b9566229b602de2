import { MINISTRY_ID } from '../fabric/index.js';
import { drNodeId, isPairLink, type WanNode, type WanPlan } from './topology.js';

/**
 * The overlay's access policy, derived from the tier model. Everything not allowed here is dropped
 * by the nodes' and hubs' firewalls; AllowedIPs and routes already keep spokes from even addressing
 * nodes outside their branch (a prefecture has no route to another prefecture).
 */

export const SERVICES = {
  /** The system integration platform: inter-tier data exchange. */
  exchange: { proto: 'tcp', port: 7443 },
  /** Monitoring: Prometheus scraping node exporters. */
  scrape: { proto: 'tcp', port: 9100 },
  /** Management: operators' SSH. */
  ssh: { proto: 'tcp', port: 22 },
  /** Database replication between a site and its DR center. */
  replication: { proto: 'tcp', port: 5432 },
  /** ICMP echo, for diagnosis and the connectivity matrix. */
  ping: { proto: 'icmp', port: 0 },
} as const;
export type Service = keyof typeof SERVICES;
export const SERVICE_NAMES = Object.keys(SERVICES) as Service[];

/** Every node of the overlay. */
export const ALL = 'all' as const;

export interface Flow {
  /** The policy rule this flow comes from. */
  readonly rule: string;
  readonly from: readonly string[] | typeof ALL;
  readonly to: readonly string[] | typeof ALL;
  readonly services: readonly Service[];
  /** The province the flow stays inside; absent for flows that involve the ministry. */
  readonly province?: string;
}

export const RULES: Readonly<Record<string, string>> = {
  'ministry-operates-all': 'the ministry (core and DR center) manages and scrapes every node',
  'echo-to-ministry': 'every node may ping the ministry, to check its path',
  'ministry-province-exchange': 'the ministry and each province exchange data, both ways',
  'province-operates-own': 'a province manages and scrapes its own prefectures and access platforms',
  'province-prefecture-exchange': 'a province exchanges data with its prefectures and its own access platforms, both ways',
  'prefecture-operates-counties': 'a prefecture manages and scrapes its access platforms',
  'prefecture-county-exchange': 'a prefecture exchanges data with its access platforms, both ways',
  'dr-replication': 'a site replicates to its DR center, both ways',
};

/** The flows of the policy for `plan`. Pure; the firewall renderer and the lab's expected matrix both read it. */
export function aclFlows(plan: WanPlan): Flow[] {
  const flows: Flow[] = [];
  const has = (id: string) => plan.nodes.has(id);
  const ministry = [MINISTRY_ID, drNodeId(MINISTRY_ID)].filter(has);
  const both = (rule: string, a: readonly string[], b: readonly string[], services: Service[], province?: string) => {
    if (a.length === 0 || b.length === 0) return;
    const p = province ? { province } : {};
    flows.push({ rule, from: a, to: b, services, ...p }, { rule, from: b, to: a, services, ...p });
  };
  if (ministry.length > 0) {
    flows.push({ rule: 'ministry-operates-all', from: ministry, to: ALL, services: ['ssh', 'scrape', 'ping'] });
    flows.push({ rule: 'echo-to-ministry', from: ALL, to: ministry, services: ['ping'] });
  }
  const spokesOf = new Map<string, string[]>();
  for (const l of plan.links) {
    if (isPairLink(l)) continue;
    const list = spokesOf.get(l.hub);
    if (list) list.push(l.spoke);
    else spokesOf.set(l.hub, [l.spoke]);
  }
  const byRole = (role: WanNode['role']) => [...plan.nodes.values()].filter((n) => n.role === role);
  for (const p of byRole('province')) {
    const heads = [p.id, drNodeId(p.id)].filter(has);
    both('ministry-province-exchange', ministry, heads, ['exchange']);
    const direct = (spokesOf.get(p.id) ?? []).filter((s) => plan.nodes.get(s)!.role !== 'province-dr');
    const prefectures = direct.filter((s) => plan.nodes.get(s)!.role === 'prefecture');
    const counties = prefectures.flatMap((f) => (spokesOf.get(f) ?? []).filter((s) => plan.nodes.get(s)!.role === 'county'));
    const below = [...direct, ...counties];
    if (below.length > 0) flows.push({ rule: 'province-operates-own', from: heads, to: below, services: ['ssh', 'scrape', 'ping'], province: p.id });
    both('province-prefecture-exchange', heads, direct, ['exchange', 'ping'], p.id);
    for (const f of prefectures) {
      const own = (spokesOf.get(f) ?? []).filter((s) => plan.nodes.get(s)!.role === 'county');
      if (own.length === 0) continue;
      flows.push({ rule: 'prefecture-operates-counties', from: [f], to: own, services: ['ssh', 'scrape', 'ping'], province: p.id });
      both('prefecture-county-exchange', [f], own, ['exchange'], p.id);
    }
  }
  for (const n of plan.nodes.values()) {
    if (n.role !== 'ministry-dr' && n.role !== 'province-dr') continue;
    if (has(n.site)) both('dr-replication', [n.site], [n.id], ['replication', 'ping'], n.province);
  }
  return flows;
}

/** Which services `from` may open towards `to`, by `flows`. */
export function allowedServices(flows: readonly Flow[], from: string, to: string): Set<Service> {
  const out = new Set<Service>();
  for (const f of flows) {
    if ((f.from === ALL || f.from.includes(from)) && (f.to === ALL || f.to.includes(to))) for (const s of f.services) out.add(s);
  }
  return out;
}
