import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICES, SERVICE_NAMES, aclFlows, allowedServices, type Service } from '../acl.js';
import { must, systemRunner } from '../exec.js';
import { translator, type Lang } from '../../lib/i18n/index.js';
import { table } from '../../lib/output.js';
import { NETWORK_MESSAGES } from '../messages.js';
import { isRouter, planConfigs } from '../render.js';
import { established, routingState, type RouterState } from './daemon.js';
import { slicePlan, type WanPlan } from '../topology.js';
import { labDir, labNamer, requireLab, type LabJournal, type LabEnv } from './journal.js';
import { nsOf, pool } from './namespaces.js';

/** `wan check`: the connectivity matrix against the policy, and each link's state. */
export interface PairResult {
  readonly from: string;
  readonly to: string;
  readonly service: Service;
  readonly expected: 'allow' | 'deny';
  readonly observed: 'open' | 'blocked';
  readonly ok: boolean;
  readonly ms: number;
}

export interface LinkResult {
  readonly hub: string;
  readonly spoke: string;
  readonly kind: string;
  readonly iface: string;
  readonly up: boolean;
  readonly latencyMs?: number;
  readonly handshakeAgeSeconds?: number;
}

export interface CheckResult {
  readonly tag: string;
  readonly checkedAt: string;
  readonly pairs: readonly PairResult[];
  readonly links: readonly LinkResult[];
  /** Each router's daemon: neighbours, BFD sessions, routes, wrong announcements rejected, failovers. */
  readonly routing: readonly RouterState[];
  readonly summary: { readonly allowed: number; readonly denied: number; readonly failures: number; readonly linksUp: number; readonly links: number };
}

/**
 * The probe agent, run by node inside a source namespace: every TCP connect at once in one event
 * loop (an answer, even "refused" by a closed port, proves the path and the firewalls let it
 * through; a timeout or no route means blocked), ICMP echo through ping. One process per source
 * keeps timeouts honest on a loaded machine, where a process per probe would spend them starting.
 */
const PROBE_AGENT = `import { connect } from 'node:net';
import { execFile } from 'node:child_process';
const [timeoutMs] = process.argv.slice(2).map(Number);
let input = '';
for await (const chunk of process.stdin) input += chunk;
const probes = JSON.parse(input);
const started = (p) => ({ ...p, t0: performance.now() });
const done = (p, open) => process.stdout.write(JSON.stringify({ to: p.to, service: p.service, observed: open ? 'open' : 'blocked', ms: performance.now() - p.t0 }) + '\\n');
const tcp = (p) => new Promise((resolve) => {
  const s = connect({ host: p.address, port: p.port });
  const finish = (open) => { s.destroy(); clearTimeout(timer); done(p, open); resolve(); };
  const timer = setTimeout(() => finish(false), timeoutMs);
  s.once('connect', () => finish(true));
  s.once('error', (e) => finish(e.code === 'ECONNREFUSED'));
});
const icmp = (p) => new Promise((resolve) => {
  execFile('ping', ['-c1', '-q', '-W', String(Math.ceil(timeoutMs / 1000)), p.address], (err) => { done(p, !err); resolve(); });
});
await Promise.all(probes.map(started).map((p) => (p.port === 0 ? icmp(p) : tcp(p))));
`;

function probeAgent(stateDir: string): string {
  const file = join(labDir(stateDir), 'probe-agent.mjs');
  if (!existsSync(file)) writeFileSync(file, PROBE_AGENT, { mode: 0o644 });
  return file;
}


/**
 * Probe every ordered pair of lab nodes for every service. An allowed pair seen blocked is probed
 * once more with a longer timeout before it counts: on a loaded machine a first packet can be late.
 */
export async function probeMatrix(env: LabEnv, plan: WanPlan, j: LabJournal, services: readonly Service[] = SERVICE_NAMES): Promise<PairResult[]> {
  const r = env.runner ?? systemRunner;
  const flows = aclFlows(plan);
  const ids = j.nodes.map((n) => n.id);
  const agent = probeAgent(env.stateDir);
  const run = async (from: string, targets: readonly { to: string; service: Service }[], timeoutMs: number): Promise<PairResult[]> => {
    if (targets.length === 0) return [];
    const probes = targets.map((t) => ({ to: t.to, service: t.service, address: plan.nodes.get(t.to)!.address, port: SERVICES[t.service].port }));
    const out = await must(r, 'ip', ['netns', 'exec', nsOf(j, from), process.execPath, agent, String(timeoutMs)], { input: JSON.stringify(probes), timeoutMs: 60_000 });
    return out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line): PairResult => {
        const { to, service, observed, ms } = JSON.parse(line) as { to: string; service: Service; observed: 'open' | 'blocked'; ms: number };
        const expected = allowedServices(flows, from, to).has(service) ? 'allow' : 'deny';
        return { from, to, service, expected, observed, ok: (expected === 'allow') === (observed === 'open'), ms: Math.round(ms * 10) / 10 };
      });
  };
  const perSource = await pool(ids, 4, async (from) => {
    const first = await run(from, ids.filter((to) => to !== from).flatMap((to) => services.map((service) => ({ to, service }))), 1500);
    const late = first.filter((p) => !p.ok && p.expected === 'allow');
    const again = new Map((await run(from, late, 4000)).map((p) => [`${p.to} ${p.service}`, p]));
    return first.map((p) => again.get(`${p.to} ${p.service}`) ?? p);
  });
  return perSource.flat().sort((a, b) => (a.from + a.to + a.service < b.from + b.to + b.service ? -1 : 1));
}

/**
 * Latency (3 pings over the link) and handshake age of every link of the lab. A router link is
 * pinged at the far end's link address, which only that line reaches; a county link by overlay
 * address (the county pings its hub, or the hub the county where the policy lets only the hub ping).
 */
export async function probeLinks(env: LabEnv, plan: WanPlan, j: LabJournal): Promise<LinkResult[]> {
  const r = env.runner ?? systemRunner;
  const index = new Map(j.nodes.map((n) => [n.id, n.idx]));
  const namer = labNamer(j.tag, index);
  const configs = planConfigs(plan, namer);
  const flows = aclFlows(plan);
  return pool(plan.links, 4, async (l): Promise<LinkResult> => {
    const spoke = plan.nodes.get(l.spoke)!;
    const hub = plan.nodes.get(l.hub)!;
    const own = configs.get(spoke.id)!.ifaces.find((i) => i.peers.some((p) => p.node === hub.id))!;
    const iface = own.name;
    const ns = nsOf(j, l.spoke);
    const upward = own.link !== undefined || allowedServices(flows, spoke.id, hub.id).has('ping');
    const [pingNs, pingIface, target] = upward ? [ns, iface, own.link?.remote ?? hub.address] : [nsOf(j, hub.id), namer(hub, 'down'), spoke.address];
    const ping = await r.run('ip', ['netns', 'exec', pingNs, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '-q', '-I', pingIface, target], { timeoutMs: 10_000 });
    const rtt = /= [\d.]+\/([\d.]+)\//.exec(ping.stdout);
    const hs = await r.run('ip', ['netns', 'exec', ns, 'wg', 'show', iface, 'latest-handshakes']);
    const epoch = Number(hs.stdout.trim().split(/\s+/)[1] ?? 0);
    const age = epoch > 0 ? Math.max(0, Math.round(Date.now() / 1000 - epoch)) : undefined;
    return {
      hub: l.hub,
      spoke: l.spoke,
      kind: l.kind,
      iface,
      up: ping.code === 0 && age !== undefined && age < 180,
      ...(rtt ? { latencyMs: Number(rtt[1]) } : {}),
      ...(age !== undefined ? { handshakeAgeSeconds: age } : {}),
    };
  });
}

export async function labCheck(env: LabEnv, plan: WanPlan): Promise<CheckResult> {
  const j = requireLab(env.stateDir);
  const slice = slicePlan(plan, new Set(j.nodes.map((n) => n.id)));
  // The matrix first: its traffic refreshes every link's handshake before the links are read.
  const pairs = await probeMatrix(env, slice, j);
  const links = await probeLinks(env, slice, j);
  const routers = [...slice.nodes.values()].filter(isRouter).map((n) => ({ id: n.id, address: n.address }));
  const routing = await routingState(env.stateDir, j, routers);
  return {
    tag: j.tag,
    checkedAt: new Date().toISOString(),
    pairs,
    links,
    routing,
    summary: {
      allowed: pairs.filter((p) => p.expected === 'allow').length,
      denied: pairs.filter((p) => p.expected === 'deny').length,
      failures: pairs.filter((p) => !p.ok).length,
      linksUp: links.filter((l) => l.up).length,
      links: links.length,
    },
  };
}

/**
 * The routing part of `wan check` for people: per router its BGP sessions (neighbours), BFD sessions, routes, rejected
 * announcements and failovers; headings and daemon states in `lang`.
 */
export function routingTable(routing: readonly RouterState[], lang: Lang = 'en'): string {
  const t = translator(lang, NETWORK_MESSAGES);
  return table(routing, [
    { header: t('routing.col.router'), value: (s) => s.node },
    { header: t('routing.col.daemon'), value: (s) => (s.running ? t('routing.running') : t('routing.down')) },
    { header: t('routing.col.neighbours'), value: (s) => `${s.neighbours.filter(established).length}/${s.neighbours.length}`, align: 'right' },
    { header: t('routing.col.via'), value: (s) => s.neighbours.map((n) => n.node ?? `AS${n.asn}`).join(' ') },
    { header: t('routing.col.bfd'), value: (s) => `${s.bfd.filter((b) => b.state === 'Up').length}/${s.bfd.length}`, align: 'right' },
    { header: t('routing.col.routes'), value: (s) => s.routes, align: 'right' },
    { header: t('routing.col.rejected'), value: (s) => s.filtered, align: 'right' },
    { header: t('routing.col.failovers'), value: (s) => s.failovers, align: 'right' },
  ]);
}
