import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustParsePrefix, type Prefix } from '../../lib/cidr.js';
import { InputError } from '../../lib/errors.js';
import { must, systemRunner, type Runner } from '../exec.js';
import { systemProcs, type ProcTable } from '../procs.js';
import type { NodeKeys } from '../keys.js';
import { renderPlan, type NodeConfig, type RenderedNode } from '../render.js';
import { slicePlan, type WanNode, type WanPlan } from '../topology.js';
import { labDir, readJournal, saveJournal, SOCKET_DIR, pickTag, tagsInUse, ownerAlive, labNamer, startRecorded, type LabJournal, type LabEnv } from './journal.js';
import { addNamespace, sysctls, nsOf, batch, waitFor, pool } from './namespaces.js';
import { labDown } from './teardown.js';
import { daemonDir, startDaemon } from './daemon.js';


/**
 * The WAN lab: a slice of the overlay brought up for real on this machine. One network namespace
 * per node plus a carrier namespace that routes the underlay; veth pairs; one wireguard-go process
 * per WireGuard interface; the rendered routes and nftables rules; a failover watch per backed-up
 * link. Everything created is journalled in `<state>/wan-lab/lab.json` before it is created, so
 * `down` removes it even after a crash. `down` does not trust recorded pids alone: it finds every
 * process of the lab by the lab's own names and namespaces (see procs.ts), stops it (SIGTERM,
 * bounded wait, SIGKILL), and keeps the journal when anything survives.
 */
export interface LabUp {
  readonly journal: LabJournal;
  readonly plan: WanPlan;
  readonly nodes: readonly RenderedNode[];
  readonly seconds: number;
}

/** Bring a lab up. On any failure, everything made so far is removed before the error is rethrown. */
export async function labUp(env: LabEnv, plan: WanPlan, ids: readonly string[], keys: ReadonlyMap<string, NodeKeys>): Promise<LabUp> {
  const started = performance.now();
  const r = env.runner ?? systemRunner;
  const log = env.log ?? (() => {});
  const procs = env.procs ?? systemProcs;
  const existing = readJournal(env.stateDir);
  if (existing) {
    const dir = labDir(env.stateDir);
    if (existing.status === 'up' || !existing.owner) {
      throw new InputError(`a WAN lab (${existing.tag}, ${existing.status}) is already recorded in ${dir}; remove it first with: jinbao wan down`);
    }
    if (ownerAlive(existing.owner, procs)) {
      throw new InputError(`a WAN lab (${existing.tag}) is being brought up in ${dir} by process ${existing.owner.pid}; wait for it, or stop that process and run: jinbao wan down`);
    }
    // Its owner is gone: the leftovers of an interrupted bring-up, and provably this state's. Clear them first.
    log(`lab ${existing.tag}: an earlier bring-up in ${dir} did not finish (its process ${existing.owner.pid} is gone); removing what it left`);
    const d = await labDown(env);
    log(`lab ${d.tag} removed: ${d.processes} processes stopped, ${d.namespaces} namespaces deleted`);
  }
  const slice = slicePlan(plan, new Set(ids));
  roamingFits(slice);
  const used = tagsInUse(procs, env.socketDir ?? SOCKET_DIR);
  const tag = pickTag((t) => used.has(t));
  const self = procs.get(process.pid);
  const index = new Map(ids.map((id, i) => [id, i]));
  const rendered = renderPlan(slice, { keys, withPrivateKeys: true, namer: labNamer(tag, index), daemonLogDir: daemonDir(env.stateDir) });
  const journal: LabJournal = {
    tag,
    status: 'building',
    createdAt: new Date().toISOString(),
    ...(self ? { owner: { pid: self.pid, start: self.start } } : {}),
    nodes: ids.map((id, i) => ({ id, ns: `${tag}-${id}`, idx: i })),
    carrier: `${tag}-carrier`,
    namespaces: [],
    inodes: {},
    processes: [],
    cuts: [],
  };
  saveJournal(env.stateDir, journal);
  writeRender(env.stateDir, rendered.nodes);
  try {
    await addNamespace(r, procs, env.stateDir, journal, journal.carrier);
    await sysctls(r, journal.carrier);
    // Nodes are independent once the carrier exists: bring them up a few at a time.
    await pool(rendered.nodes, 6, (rn) => bringNode(r, procs, env.stateDir, journal, rn));
    await dialIn(r, slice, journal, rendered.nodes);
    journal.status = 'up';
    saveJournal(env.stateDir, journal);
    log(`lab ${tag}: ${ids.length} nodes up`);
  } catch (err) {
    // `pool` has let every node in flight settle: nothing starts behind the teardown's back.
    log(`lab ${tag}: bring-up failed, tearing down what was made`);
    try {
      const d = await labDown(env);
      log(`lab ${tag} removed: ${d.processes} processes stopped, ${d.namespaces} namespaces deleted`);
    } catch (downErr) {
      log(`lab ${tag}: the teardown failed too: ${(downErr as Error).message}`);
    }
    throw err;
  }
  return { journal, plan: slice, nodes: rendered.nodes, seconds: (performance.now() - started) / 1000 };
}

export function writeRender(stateDir: string, nodes: readonly RenderedNode[]): void {
  const root = join(labDir(stateDir), 'render');
  for (const n of nodes) {
    const dir = join(root, n.node.id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of n.files) {
      writeFileSync(join(dir, f.name), f.content, { mode: f.secret ? 0o600 : 0o644 });
      if (f.secret) chmodSync(join(dir, f.name), 0o600);
    }
  }
}

/**
 * Where roaming spokes dial in from in a lab: county platforms have no fixed underlay address (their
 * hubs learn it from their first handshake), so the lab gives each one a /30 of its own here.
 */
export const LAB_ROAMING_UNDERLAY = '100.64.0.0/16';

/** A lab node's underlay: its planned endpoint, or (a county platform) a /30 in `LAB_ROAMING_UNDERLAY` by its lab index. */
export function labUnderlay(n: WanNode, idx: number): { endpoint: string; gateway: string } {
  if (n.endpoint && n.underlay) return { endpoint: n.endpoint, gateway: n.underlay.gateway };
  const base = (100 << 24) + (64 << 16) + 4 * idx;
  const ip = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
  return { endpoint: ip(base + 1), gateway: ip(base + 2) };
}

/** Roaming spokes' lab addresses must not be taken for a planned endpoint: the carrier routes both. */
function roamingFits(plan: WanPlan): void {
  const roaming = mustParsePrefix(LAB_ROAMING_UNDERLAY);
  const inside = (p: Prefix, q: Prefix) => p.length >= q.length && p.base >= q.base && p.base < q.base + 2 ** (32 - q.length);
  const nodes = [...plan.nodes.values()];
  if (!nodes.some((n) => !n.endpoint)) return;
  for (const n of nodes) {
    if (!n.underlay) continue;
    const u = mustParsePrefix(n.underlay.prefix);
    if (inside(u, roaming) || inside(roaming, u)) {
      throw new InputError(`the lab gives county platforms underlay addresses in ${LAB_ROAMING_UNDERLAY}, but node ${n.id}'s underlay ${n.underlay.prefix} overlaps it; bring the lab up without --counties, or move addressing.underlay elsewhere`);
    }
  }
}

/**
 * Roaming spokes have no endpoint at their hub: it learns theirs from their first handshake. One
 * ping over each one's uplink (bounded) makes that handshake now, once every hub listens.
 */
async function dialIn(r: Runner, plan: WanPlan, j: LabJournal, nodes: readonly RenderedNode[]): Promise<void> {
  await pool(nodes.filter((rn) => !rn.node.endpoint), 4, async (rn) => {
    for (const iface of rn.config.ifaces) {
      const hub = plan.nodes.get(iface.peers[0]!.node)!;
      await r.run('ip', ['netns', 'exec', nsOf(j, rn.node.id), 'ping', '-c', '1', '-W', '2', '-q', '-I', iface.name, hub.address], { timeoutMs: 10_000 });
    }
  });
}

async function bringNode(r: Runner, procs: ProcTable, stateDir: string, j: LabJournal, rn: RenderedNode): Promise<void> {
  const n = rn.node;
  const entry = j.nodes.find((x) => x.id === n.id)!;
  const ns = entry.ns;
  await addNamespace(r, procs, stateDir, j, ns);
  await sysctls(r, ns);
  const u = labUnderlay(n, entry.idx);
  // Underlay: a veth to the carrier, which routes every endpoint as a /32.
  const inner = `${j.tag}${entry.idx}v`;
  const outer = `${j.tag}${entry.idx}c`;
  await must(r, 'ip', ['link', 'add', inner, 'netns', ns, 'type', 'veth', 'peer', 'name', outer, 'netns', j.carrier]);
  // One `ip -batch` per namespace and step: a process per command costs seconds on a busy machine.
  // The endpoint as a /32 behind an on-link gateway: a DR node shares its host site's underlay prefix, and the
  // two must reach each other through the carrier, not by ARP on a veth where the other is not.
  await batch(r, ns, [`addr add ${u.endpoint}/32 dev ${inner}`, `link set ${inner} up`, `route add default via ${u.gateway} dev ${inner} onlink`]);
  await batch(r, j.carrier, [`addr add ${u.gateway}/32 dev ${outer}`, `link set ${outer} up`, `route add ${u.endpoint}/32 dev ${outer}`]);
  await startNode(r, stateDir, j, rn);
}

/** What `wg-quick strip` leaves of a wg-quick file: the keys `wg setconf` reads, without comments and wg-quick's own settings. */
export function stripWgQuick(text: string): string {
  const WG_QUICK_ONLY = /^(Address|DNS|MTU|Table|PreUp|PostUp|PreDown|PostDown|SaveConfig)\s*=/i;
  return (
    text
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter((l) => l !== '' && !WG_QUICK_ONLY.test(l))
      .join('\n') + '\n'
  );
}

/**
 * Start what runs in a node's namespace: one wireguard-go per interface with the rendered
 * configuration, addresses, static routes (county links), the firewall, and on routers the routing
 * daemon. Also what brings a killed node back.
 */
export async function startNode(r: Runner, stateDir: string, j: LabJournal, rn: { readonly node: WanNode; readonly config: NodeConfig }): Promise<void> {
  const n = rn.node;
  const ns = nsOf(j, n.id);
  const dir = join(labDir(stateDir), 'render', n.id);
  const commands: string[] = [];
  // Every interface's wireguard-go at once, then each one configured as soon as its socket is there: a node waits for its slowest, not their sum.
  for (const iface of rn.config.ifaces) startRecorded(r, stateDir, j, 'wireguard-go', iface.name, ns, ['wireguard-go', '-f', iface.name]);
  await Promise.all(
    rn.config.ifaces.map(async (iface) => {
      await waitFor(() => existsSync(`/var/run/wireguard/${iface.name}.sock`), 15_000, `wireguard-go to create ${iface.name}`);
      // The rendered wg-quick file, stripped of what only wg-quick reads (as `wg-quick strip` does, without a shell per interface), then setconf.
      const setconf = join(dir, `${iface.name}.setconf`);
      writeFileSync(setconf, stripWgQuick(readFileSync(join(dir, `${iface.name}.conf`), 'utf8')), { mode: 0o600 });
      await must(r, 'ip', ['netns', 'exec', ns, 'wg', 'setconf', iface.name, setconf]);
    }),
  );
  for (const iface of rn.config.ifaces) {
    commands.push(`addr add ${n.address}/32 dev ${iface.name}`);
    // The same point-to-point address the rendered PostUp line sets: the daemon's neighbour is on-link.
    if (iface.link) commands.push(`addr add ${iface.link.local}/32 peer ${iface.link.remote}/32 dev ${iface.name}`);
    commands.push(`link set ${iface.name} up`);
  }
  for (const iface of rn.config.ifaces) {
    for (const route of iface.routes) commands.push(`route replace ${route.prefix} dev ${iface.name} metric ${route.metric}`);
  }
  await batch(r, ns, commands);
  await must(r, 'ip', ['netns', 'exec', ns, 'nft', '-f', join(dir, 'nftables.nft')]);
  if (rn.config.router) await startDaemon(r, stateDir, j, n.id);
}
