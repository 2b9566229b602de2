import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mustParsePrefix, type Prefix } from '../../lib/cidr.js';
import { InputError, JinbaoError } from '../../lib/errors.js';
import { catalogueMessage, errorText, inputError, jinbaoError, type MessageParams, type Translate } from '../../lib/i18n/index.js';
import { must, systemRunner, type Runner } from '../exec.js';
import { NETWORK_MESSAGES, reasonOf } from '../messages.js';
import { systemProcs, type ProcTable } from '../procs.js';
import type { NodeKeys } from '../keys.js';
import { renderPlan, type NodeConfig, type RenderedNode } from '../render.js';
import { slicePlan, type WanNode, type WanPlan } from '../topology.js';
import { labDir, readJournal, saveJournal, SOCKET_DIR, pickTag, tagsInUse, ownerAlive, labNamer, labWords, startRecorded, type LabJournal, type LabEnv } from './journal.js';
import { sysctls, nsOf, batch, waitFor, pool } from './namespaces.js';
import { labDown } from './teardown.js';
import { checkDaemonConfig, controlSocket, daemonDir, daemonSaid, daemonStderr, establishedSessions, startDaemon } from './daemon.js';
import { allHandshaken, birdAsk, uapiGet, uapiSet } from './control.js';
import { makeDirs } from '../../lib/dirs.js';


/**
 * The WAN lab: a slice of the overlay brought up for real on this machine. One network namespace
 * per node plus a carrier namespace that routes the underlay; veth pairs; one wireguard-go process
 * per WireGuard interface; the rendered routes and nftables rules; a routing daemon per router.
 * Everything created is journalled in `<state>/wan-lab/lab.json` before it is created, so `down`
 * removes it even after a crash. `down` does not trust recorded pids alone: it finds every process
 * of the lab by the lab's own names and namespaces (see procs.ts), stops it (SIGTERM, bounded wait,
 * SIGKILL), and keeps the journal when anything survives.
 *
 * On a small machine the bring-up's cost is process starts and the kernel's network lock, not work:
 * so one `ip -batch` makes every namespace, one every veth pair, one the carrier's side of them, and
 * one per node everything else `ip` does in it; wireguard-go and BIRD are configured and asked over
 * their control sockets, not through a `wg` or `birdc` per interface; a few nodes start at once; and
 * the bring-up ends when the routing has converged, polled on the daemons' sockets.
 */
export interface LabUp {
  readonly journal: LabJournal;
  readonly plan: WanPlan;
  readonly nodes: readonly RenderedNode[];
  /** From the call until every BGP session is Established and every county platform has its handshake. */
  readonly seconds: number;
  /** Wall-clock seconds of each phase, in order. */
  readonly phases: Readonly<Record<BringUpPhase, number>>;
  /** Within the nodes phase: how often each step ran and the seconds it took, summed over the nodes started at once. */
  readonly steps: Readonly<Record<string, { readonly count: number; readonly seconds: number }>>;
}

export type BringUpPhase = 'render' | 'check' | 'namespaces' | 'underlay' | 'nodes' | 'converge';

/** How many nodes start at once: enough to overlap one node's waits with another's work, few enough for two cores. */
export const NODES_AT_ONCE = 4;
/**
 * wireguard-go runs with one scheduler thread: a lab interface carries BFD and BGP packets, not
 * bulk traffic, and two cores shared by a hundred Go runtimes spend more on waking threads than on
 * crypto. Measured on a 34-node lab: the lab's steady CPU fell from ~1.0 to ~0.6 cores (bench/wan.ts).
 */
export const WIREGUARD_ENV: Readonly<Record<string, string>> = { GOMAXPROCS: '1' };

/**
 * The phases' timings as the converged line shows them, each phase by its label in the reader's
 * language (in English its id, as `phases` in --json and the logs name it).
 */
export function phaseTimings(phases: Readonly<Partial<Record<BringUpPhase, number>>>, t: Translate): string {
  return Object.entries(phases)
    .map(([id, seconds]) => t('lab.log.phase', { phase: t(`lab.phaseName.${id}`), seconds: seconds.toFixed(1) }))
    .join(t('lab.log.separator'));
}

/** A network/locales entry to nest in a message. */
function said(key: string, params: MessageParams = {}): MessageParams[string] {
  return catalogueMessage(NETWORK_MESSAGES, key, params).localized;
}

type Steps = Map<string, { count: number; seconds: number }>;
async function step<T>(steps: Steps | undefined, name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const s = steps?.get(name) ?? { count: 0, seconds: 0 };
    s.count += 1;
    s.seconds += (performance.now() - t0) / 1000;
    steps?.set(name, s);
  }
}

/** Bring a lab up. On any failure, everything made so far is removed before the error is rethrown. */
export async function labUp(env: LabEnv, plan: WanPlan, ids: readonly string[], keys: ReadonlyMap<string, NodeKeys>): Promise<LabUp> {
  const started = performance.now();
  const r = env.runner ?? systemRunner;
  const log = env.log ?? (() => {});
  const t = labWords(env);
  const procs = env.procs ?? systemProcs;
  const existing = readJournal(env.stateDir);
  if (existing) {
    const dir = labDir(env.stateDir);
    if (existing.status === 'up' || !existing.owner) {
      throw inputError(NETWORK_MESSAGES, 'lab.alreadyRecorded', { tag: existing.tag, status: existing.status, dir });
    }
    if (ownerAlive(existing.owner, procs)) {
      throw inputError(NETWORK_MESSAGES, 'lab.beingBuilt', { tag: existing.tag, dir, pid: existing.owner.pid });
    }
    // Its owner is gone: the leftovers of an interrupted bring-up, and provably this state's. Clear them first.
    log(t('lab.log.leftovers', { tag: existing.tag, dir, pid: existing.owner.pid }));
    const d = await labDown(env);
    log(t('lab.log.removed', { tag: d.tag, processes: d.processes, namespaces: d.namespaces }));
  }
  const phases = {} as Record<BringUpPhase, number>;
  let mark = performance.now();
  const phase = (name: BringUpPhase) => {
    const now = performance.now();
    phases[name] = (now - mark) / 1000;
    mark = now;
  };
  const steps: Steps = new Map();
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
  phase('render');
  try {
    await addNamespaces(r, procs, env.stateDir, journal, [journal.carrier, ...journal.nodes.map((n) => n.ns)]);
    phase('namespaces');
    await underlay(r, journal, rendered.nodes);
    phase('underlay');
    const linked = performance.now();
    // Every routing configuration through the daemon's own parser before any node starts.
    await pool(rendered.nodes.filter((rn) => rn.config.router), 2, (rn) => checkDaemonConfig(r, env.stateDir, rn.node.id));
    phase('check');
    // A veth end whose peer has just come up forwards only once the kernel's link watch has run, at most a
    // second later: a handshake sent before that is lost, and WireGuard retries it only after 5 s.
    await new Promise((res) => setTimeout(res, Math.max(0, linked + LINK_WATCH_MS - performance.now())));
    // Nodes are independent once the carrier routes them, but a county platform dials in: its hub must listen first.
    const done = new Map<string, Promise<void>>();
    await pool(rendered.nodes, NODES_AT_ONCE, (rn) => {
      const node = (async () => {
        if (!rn.node.endpoint) await Promise.all(rn.config.ifaces.map((i) => done.get(i.peers[0]!.node)));
        await startNode(r, env.stateDir, journal, rn, { steps, procs });
      })();
      done.set(rn.node.id, node);
      return node;
    });
    phase('nodes');
    await waitConverged(env.stateDir, journal, rendered.nodes, procs, env.convergeMs ?? 60_000 + 2_000 * ids.length);
    phase('converge');
    journal.status = 'up';
    saveJournal(env.stateDir, journal);
    const seconds = (performance.now() - started) / 1000;
    log(t('lab.log.converged', { tag, nodes: ids.length, seconds: seconds.toFixed(1), phases: phaseTimings(phases, t) }));
    return { journal, plan: slice, nodes: rendered.nodes, seconds, phases, steps: Object.fromEntries(steps) };
  } catch (err) {
    // `pool` has let every node in flight settle: nothing starts behind the teardown's back.
    log(t('lab.log.failed', { tag }));
    try {
      const d = await labDown(env);
      log(t('lab.log.removed', { tag, processes: d.processes, namespaces: d.namespaces }));
    } catch (downErr) {
      log(t('lab.log.teardownFailed', { tag, reason: downErr instanceof JinbaoError ? errorText(downErr, env.lang ?? 'en') : (downErr as Error).message }));
    }
    throw err;
  }
}

/** Every namespace of the lab in one `ip -batch`: each name journalled before, each inode after. */
async function addNamespaces(r: Runner, procs: ProcTable, stateDir: string, j: LabJournal, names: readonly string[]): Promise<void> {
  j.namespaces.push(...names);
  saveJournal(stateDir, j);
  await must(r, 'ip', ['-batch', '-'], { input: names.map((ns) => `netns add ${ns}\n`).join('') });
  for (const ns of names) {
    const inode = procs.netnsInode(ns);
    if (inode !== undefined) (j.inodes ??= {})[ns] = inode;
  }
  saveJournal(stateDir, j);
}

/** The kernel's link watch runs at most once a second: a veth is sure to forward this long after it came up. */
const LINK_WATCH_MS = 1_000;

/**
 * The underlay: every node's veth to the carrier (one batch, made inside the namespaces, never in the
 * host's), each node's side of it (a batch per node), then the carrier's side (one batch) and its
 * forwarding. Every endpoint is a /32 behind an on-link gateway: a DR node shares its host site's
 * underlay prefix, and the two must reach each other through the carrier, not by ARP on a veth where
 * the other is not.
 */
async function underlay(r: Runner, j: LabJournal, nodes: readonly RenderedNode[]): Promise<void> {
  const veths: string[] = [];
  const carrier: string[] = ['link set lo up'];
  const own = new Map<string, string[]>();
  for (const rn of nodes) {
    const entry = j.nodes.find((x) => x.id === rn.node.id)!;
    const u = labUnderlay(rn.node, entry.idx);
    const inner = `${j.tag}${entry.idx}v`;
    const outer = `${j.tag}${entry.idx}c`;
    veths.push(`link add ${inner} netns ${entry.ns} type veth peer name ${outer} netns ${j.carrier}`);
    carrier.push(`addr add ${u.gateway}/32 dev ${outer}`, `link set ${outer} up`, `route add ${u.endpoint}/32 dev ${outer}`);
    own.set(entry.ns, ['link set lo up', `addr add ${u.endpoint}/32 dev ${inner}`, `link set ${inner} up`, `route add default via ${u.gateway} dev ${inner} onlink`]);
  }
  await must(r, 'ip', ['-batch', '-'], { input: veths.join('\n') + '\n' });
  await pool([...own], NODES_AT_ONCE, ([ns, commands]) => batch(r, ns, commands));
  await batch(r, j.carrier, carrier);
  await sysctls(r, j.carrier);
}

export function writeRender(stateDir: string, nodes: readonly RenderedNode[]): void {
  const root = join(labDir(stateDir), 'render');
  for (const n of nodes) {
    const dir = join(root, n.node.id);
    makeDirs(dir, 0o700);
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
      throw inputError(NETWORK_MESSAGES, 'lab.roamingOverlap', { roaming: LAB_ROAMING_UNDERLAY, node: n.id, underlay: n.underlay.prefix });
    }
  }
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

/** A recorded process of the lab that is no longer running, if any (of one namespace, or of all). */
function deadProcess(j: LabJournal, procs: ProcTable, ns?: string): LabJournal['processes'][number] | undefined {
  return j.processes.find((p) => (ns === undefined || p.ns === ns) && p.pid !== undefined && !running(procs, p.pid));
}

function running(procs: ProcTable, pid: number): boolean {
  const p = procs.get(pid);
  return p !== undefined && !p.zombie;
}

/** The error for a lab process that exited while the lab came up: which node, which process, and what it said. */
function exitedError(stateDir: string, j: LabJournal, p: LabJournal['processes'][number], cause?: unknown): JinbaoError {
  const node = j.nodes.find((n) => n.ns === p.ns)?.id ?? p.ns ?? p.name;
  const opts = { exitCode: 1, ...(cause ? { cause } : {}) };
  if (p.what === 'bird') return jinbaoError(NETWORK_MESSAGES, 'labDaemon.exitedBird', { node, pid: p.pid ?? '?', said: daemonSaid(daemonStderr(stateDir, j, p.name)) }, opts);
  return jinbaoError(NETWORK_MESSAGES, 'labDaemon.exitedWireguard', { node, iface: p.name, pid: p.pid ?? '?', said: '' }, opts);
}

export interface StartNodeOptions {
  /** Where each step's time is added up. */
  readonly steps?: Steps;
  readonly procs?: ProcTable;
}

/**
 * Start what runs in a node's namespace: one wireguard-go per interface, each configured over its
 * control socket as soon as the socket is there (a node waits for its slowest interface, not their
 * sum), and meanwhile the sysctls and the firewall; then one `ip -batch` for addresses, links and
 * static routes (county links); and on routers the routing daemon, not waited for (the convergence wait asks it). Also what brings
 * a killed node back. A process of the node that exits meanwhile is named in the error.
 */
export async function startNode(r: Runner, stateDir: string, j: LabJournal, rn: { readonly node: WanNode; readonly config: NodeConfig }, opts: StartNodeOptions = {}): Promise<void> {
  const n = rn.node;
  const ns = nsOf(j, n.id);
  const dir = join(labDir(stateDir), 'render', n.id);
  const procs = opts.procs ?? systemProcs;
  const steps = opts.steps;
  try {
    const pids = new Map(rn.config.ifaces.map((iface) => [iface.name, startRecorded(r, stateDir, j, 'wireguard-go', iface.name, ns, ['wireguard-go', '-f', iface.name], { env: WIREGUARD_ENV })]));
    // While wireguard-go starts: the node's sysctls and its firewall (it judges by address, not by interface, so it
    // is in place before any interface is up). Every one settles before a failure is reported: nothing left in flight.
    const sysctl = step(steps, 'sysctl', () => sysctls(r, ns));
    const firewall = step(steps, 'nft', () => must(r, 'ip', ['netns', 'exec', ns, 'nft', '-f', join(dir, 'nftables.nft')]));
    const wireguard = Promise.all(
      rn.config.ifaces.map(async (iface) => {
        const socket = join(SOCKET_DIR, `${iface.name}.sock`);
        const pid = pids.get(iface.name)!;
        await step(steps, 'wireguard-go start', () => waitFor(() => existsSync(socket) || !running(procs, pid), 15_000, () => catalogueMessage(NETWORK_MESSAGES, 'labDaemon.waiting.wireguard', { iface: iface.name }).localized));
        const setconf = stripWgQuick(readFileSync(join(dir, `${iface.name}.conf`), 'utf8'));
        // What `wg setconf` would send, sent here: no process per interface. The socket's file appears when it is
        // bound, a moment before it listens: a connection refused then is retried (bounded) while the process runs.
        await step(steps, 'wireguard configure', async () => {
          const until = Date.now() + 10_000;
          for (;;) {
            try {
              return await uapiSet(socket, setconf);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > until || !running(procs, pid)) throw err;
              await new Promise((res) => setTimeout(res, 20));
            }
          }
        });
      }),
    );
    const failed = (await Promise.allSettled([sysctl, firewall, wireguard])).find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    const commands: string[] = [];
    for (const iface of rn.config.ifaces) {
      commands.push(`addr add ${n.address}/32 dev ${iface.name}`);
      // The same point-to-point address the rendered PostUp line sets: the daemon's neighbour is on-link.
      if (iface.link) commands.push(`addr add ${iface.link.local}/32 peer ${iface.link.remote}/32 dev ${iface.name}`);
      commands.push(`link set ${iface.name} up`);
    }
    for (const iface of rn.config.ifaces) {
      for (const route of iface.routes) commands.push(`route replace ${route.prefix} dev ${iface.name} metric ${route.metric}`);
    }
    await step(steps, 'ip batch', () => batch(r, ns, commands));
    if (rn.config.router) await step(steps, 'bird start', async () => void startDaemon(r, stateDir, j, n.id));
  } catch (err) {
    // A process of the node that died explains the failure better than what failed after it (an interface gone, a socket refused).
    const dead = deadProcess(j, procs, ns);
    throw dead ? exitedError(stateDir, j, dead, err) : err;
  }
  const dead = deadProcess(j, procs, ns);
  if (dead) throw exitedError(stateDir, j, dead);
}

/**
 * Wait until the lab has converged: every router's daemon has all its BGP sessions Established, and
 * every county platform has a handshake with its hub (so the hub knows where it dials in from).
 * Polled over the daemons' own sockets every 200 ms, bounded by `limitMs`; a lab process that exits
 * meanwhile fails the wait at once, naming it.
 */
export async function waitConverged(stateDir: string, j: LabJournal, nodes: readonly RenderedNode[], procs: ProcTable, limitMs: number): Promise<void> {
  const until = Date.now() + limitMs;
  const pending = new Map<string, MessageParams[string]>(nodes.map((rn) => [rn.node.id, said('lab.pending.notAsked')]));
  for (;;) {
    const dead = deadProcess(j, procs);
    if (dead) throw exitedError(stateDir, j, dead);
    await Promise.all(
      nodes
        .filter((rn) => pending.has(rn.node.id))
        .map(async (rn) => {
          const id = rn.node.id;
          try {
            if (rn.config.router) {
              const expected = rn.config.ifaces.filter((i) => i.link).length;
              const full = establishedSessions(await birdAsk(controlSocket(stateDir, j, id), 'show protocols', 2_000));
              if (full >= expected) pending.delete(id);
              else pending.set(id, said('lab.pending.adjacencies', { full, expected }));
            } else {
              const states = await Promise.all(rn.config.ifaces.map((i) => uapiGet(join(SOCKET_DIR, `${i.name}.sock`), 2_000)));
              if (states.every(allHandshaken)) pending.delete(id);
              else pending.set(id, said('lab.pending.handshake'));
            }
          } catch (err) {
            pending.set(id, said('lab.pending.silent', { reason: reasonOf(err) }));
          }
        }),
    );
    if (pending.size === 0) return;
    if (Date.now() > until) {
      const nodes = [...pending].map(([id, why]) => said('lab.pending.node', { id, why }));
      const list = nodes.reduce<MessageParams[string]>((acc, m) => (acc === '' ? m : said('lab.pending.more', { list: acc, next: m })), '');
      throw jinbaoError(NETWORK_MESSAGES, 'lab.notConverged', { tag: j.tag, seconds: Math.round(limitMs / 1000), pending: list, logs: daemonDir(stateDir) }, { exitCode: 1 });
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}
