import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { mustParsePrefix, type Prefix } from '../lib/cidr.js';
import { InputError, JinbaoError, UnavailableError } from '../lib/errors.js';
import { SERVICES, SERVICE_NAMES, aclFlows, allowedServices, type Service } from './acl.js';
import { must, systemRunner, type Runner } from './exec.js';
import { isLabIface, isLabNamespace, labProcesses, systemProcs, type Found, type LabIdentity, type ProcTable } from './procs.js';
import type { NodeKeys } from './keys.js';
import { renderPlan, type IfaceRole, type NodeConfig, type RenderedNode } from './render.js';
import { drNodeId, findNode, isPairLink, slicePlan, type WanNode, type WanPlan } from './topology.js';
import { MINISTRY_ID } from '../fabric/index.js';

/**
 * The WAN lab: a slice of the overlay brought up for real on this machine. One network namespace
 * per node plus a carrier namespace that routes the underlay; veth pairs; one wireguard-go process
 * per WireGuard interface; the rendered routes and nftables rules; a failover watch per backed-up
 * link. Everything created is journalled in `<state>/wan-lab/lab.json` before it is created, so
 * `down` removes it even after a crash. `down` does not trust recorded pids alone: it finds every
 * process of the lab by the lab's own names and namespaces (see procs.ts), stops it (SIGTERM,
 * bounded wait, SIGKILL), and keeps the journal when anything survives.
 */

export const LAB_DIR = 'wan-lab';
/** Measured: a wireguard-go process holds about 6-9 MB resident; a node runs up to three. */
const MB_PER_NODE = 32;
/** Two cores bring up and probe at most this many nodes in reasonable time. */
export const LAB_HARD_LIMIT = 64;

export interface LabSize {
  readonly provinces: number;
  readonly prefectures: number;
  /** County spokes per chosen prefecture. @default 0 */
  readonly counties?: number;
}

export interface LabJournal {
  tag: string;
  status: 'building' | 'up';
  createdAt: string;
  /** The process bringing the lab up (pid and start time in clock ticks): a 'building' lab whose owner is gone was interrupted. */
  owner?: { pid: number; start: number };
  nodes: { id: string; ns: string; idx: number }[];
  carrier: string;
  namespaces: string[];
  /** Inode of each namespace, recorded right after it was made: finds its processes after the namespace lost its name. */
  inodes?: Record<string, number>;
  /** Long-lived processes; an entry is written before its process starts, its pid right after (absent if the writer died in between). */
  processes: { pid?: number; what: string; name: string; ns?: string }[];
  cuts: string[];
}

export const TOOLS: readonly { bin: string; pkg: string }[] = [
  { bin: 'ip', pkg: 'iproute2' },
  { bin: 'wireguard-go', pkg: 'wireguard-go' },
  { bin: 'wg', pkg: 'wireguard-tools' },
  { bin: 'wg-quick', pkg: 'wireguard-tools' },
  { bin: 'nft', pkg: 'nftables' },
  { bin: 'ping', pkg: 'iputils-ping' },
  { bin: 'timeout', pkg: 'coreutils' },
];

/**
 * The nodes of a lab, in bring-up order: the ministry's two hubs; then the first `provinces`
 * provinces having `prefectures` prefectures with `counties` county spokes each, every one with its
 * DR node when the plan has one, its first `prefectures` such prefectures and their first `counties`
 * counties. Refused when larger than the machine holds (see `LAB_HARD_LIMIT` and the memory limit).
 */
export function labNodes(plan: WanPlan, size: LabSize, memoryBytes: number = freemem()): string[] {
  const counties = size.counties ?? 0;
  for (const [k, v] of Object.entries({ provinces: size.provinces, prefectures: size.prefectures })) {
    if (!Number.isInteger(v) || v < 1) throw new InputError(`--${k} must be a whole number of at least 1, got ${v}`);
  }
  if (!Number.isInteger(counties) || counties < 0) throw new InputError(`--counties must be a whole number of at least 0, got ${counties}`);
  const children = new Map<string, string[]>();
  for (const l of plan.links) {
    if (l.kind !== 'primary') continue;
    const role = plan.nodes.get(l.spoke)!.role;
    if (role !== 'prefecture' && role !== 'county') continue;
    const list = children.get(l.hub);
    if (list) list.push(l.spoke);
    else children.set(l.hub, [l.spoke]);
  }
  const ofRole = (hub: string, role: WanNode['role']) => (children.get(hub) ?? []).filter((id) => plan.nodes.get(id)!.role === role);
  const prefecturesOf = (province: string) => ofRole(province, 'prefecture').filter((f) => ofRole(f, 'county').length >= counties).slice(0, size.prefectures);
  const eligible = [...plan.nodes.values()].filter((n) => n.role === 'province' && prefecturesOf(n.id).length >= size.prefectures);
  const chosen = eligible.slice(0, size.provinces);
  const ministry = [MINISTRY_ID, ...(plan.nodes.has(drNodeId(MINISTRY_ID)) ? [drNodeId(MINISTRY_ID)] : [])];
  // Provinces the inventory cannot supply are counted without a DR node: the size refusal comes first either way.
  const drs = chosen.filter((p) => plan.nodes.has(drNodeId(p.id))).length;
  const wanted = ministry.length + size.provinces * (1 + size.prefectures * (1 + counties)) + drs;
  const memoryLimit = Math.floor((memoryBytes / 2 / (1024 * 1024)) / MB_PER_NODE);
  const limit = Math.min(LAB_HARD_LIMIT, memoryLimit);
  if (wanted > limit) {
    throw new InputError(
      `a lab of ${wanted} nodes is larger than this machine can hold: the limit is ${limit} nodes ` +
        `(${LAB_HARD_LIMIT} for bring-up and probing on a small machine; ${memoryLimit} by memory at ~${MB_PER_NODE} MB per node for its wireguard-go processes within half of the free memory); ` +
        'ask for fewer --provinces, --prefectures or --counties',
    );
  }
  if (eligible.length < size.provinces) {
    const what = counties > 0 ? `at least ${size.prefectures} prefectures with at least ${counties} counties each` : `at least ${size.prefectures} prefectures`;
    throw new InputError(`the inventory has ${eligible.length} province(s) with ${what}, got --provinces ${size.provinces}; lower --provinces, --prefectures or --counties`);
  }
  const ids = [...ministry];
  // Hubs before their spokes: a spoke's first handshake then finds its hub listening.
  for (const p of chosen) {
    const prefectures = prefecturesOf(p.id);
    ids.push(p.id, ...(plan.nodes.has(drNodeId(p.id)) ? [drNodeId(p.id)] : []), ...prefectures);
    for (const f of prefectures) ids.push(...ofRole(f, 'county').slice(0, counties));
  }
  return ids;
}

const ROLE_SUFFIX: Readonly<Record<IfaceRole, string>> = { down: 'd', up1: 'u1', up2: 'u2', dr: 'r', site: 's' };

export interface LabEnv {
  readonly stateDir: string;
  readonly runner?: Runner;
  readonly log?: (line: string) => void;
  /** The process table `down` reads and signals (default: /proc and kill(2)). */
  readonly procs?: ProcTable;
  /** How long `down` waits after each round of signals before it escalates (default 3000 ms). */
  readonly graceMs?: number;
  /** Where wireguard-go keeps its control sockets (default /var/run/wireguard). */
  readonly socketDir?: string;
}

function labDir(stateDir: string): string {
  return join(stateDir, LAB_DIR);
}

export function readJournal(stateDir: string): LabJournal | undefined {
  const file = join(labDir(stateDir), 'lab.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabJournal;
}

/** Write the journal whole or not at all (a new file renamed over the old): a crash mid-write must not leave a journal `down` cannot read. */
function saveJournal(stateDir: string, j: LabJournal): void {
  mkdirSync(labDir(stateDir), { recursive: true, mode: 0o700 });
  const file = join(labDir(stateDir), 'lab.json');
  writeFileSync(`${file}.new`, JSON.stringify(j, null, 2), { mode: 0o600 });
  renameSync(`${file}.new`, file);
}

const SOCKET_DIR = '/var/run/wireguard';

/** A tag no namespace, control socket or process on this machine uses yet, starting from a random one. */
export function pickTag(inUse: (tag: string) => boolean, start: number = randomBytes(2).readUInt16BE(0)): string {
  for (let i = 0; i < 0x10000; i++) {
    const tag = `jb${((start + i) & 0xffff).toString(16).padStart(4, '0')}`;
    if (!inUse(tag)) return tag;
  }
  throw new JinbaoError('every lab tag (jb0000 to jbffff) is in use by a namespace, WireGuard socket or process on this machine; remove old labs with: jinbao wan down', { exitCode: 1 });
}

function tagsInUse(procs: ProcTable, socketDir: string): Set<string> {
  const used = new Set<string>();
  const add = (name: string) => {
    const m = /^(jb[0-9a-f]{4})/.exec(name);
    if (m && (isLabIface(m[1]!, name) || isLabNamespace(m[1]!, name))) used.add(m[1]!);
  };
  for (const d of ['/run/netns', socketDir]) if (existsSync(d)) for (const e of readdirSync(d)) add(e.replace(/\.sock$/, ''));
  for (const p of procs.list()) for (const a of p.argv) add(a);
  return used;
}

function ownerAlive(owner: { pid: number; start: number }, procs: ProcTable): boolean {
  const p = procs.get(owner.pid);
  return p !== undefined && !p.zombie && p.start === owner.start;
}

export function requireRootUser(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new UnavailableError('the WAN lab needs root: it creates network namespaces, veth pairs and TUN devices; run it as root (e.g. sudo jinbao wan up --lab)');
  }
}

export async function requireTools(r: Runner = systemRunner): Promise<void> {
  const missing: string[] = [];
  for (const t of TOOLS) {
    const res = await r.run('sh', ['-c', 'command -v "$0"', t.bin]);
    if (res.code !== 0) missing.push(`${t.bin} (Debian package ${t.pkg})`);
  }
  if (missing.length > 0) {
    throw new UnavailableError(`the WAN lab needs ${missing.join(', ')}; install with: apt-get install --no-install-recommends ${[...new Set(TOOLS.filter((t) => missing.some((m) => m.startsWith(`${t.bin} `))).map((t) => t.pkg))].join(' ')}`);
  }
}

/** Interface names unique on the machine (wireguard-go's control sockets are global): lab tag + node index + role. */
function labNamer(tag: string, index: ReadonlyMap<string, number>) {
  return (node: WanNode, role: IfaceRole) => `${tag}${index.get(node.id)}${ROLE_SUFFIX[role]}`;
}

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
  const rendered = renderPlan(slice, { keys, withPrivateKeys: true, namer: labNamer(tag, index) });
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
    await pool(rendered.nodes, 4, (rn) => bringNode(r, procs, env.stateDir, journal, rn));
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

function writeRender(stateDir: string, nodes: readonly RenderedNode[]): void {
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

async function addNamespace(r: Runner, procs: ProcTable, stateDir: string, j: LabJournal, ns: string): Promise<void> {
  j.namespaces.push(ns);
  saveJournal(stateDir, j);
  await must(r, 'ip', ['netns', 'add', ns]);
  const inode = procs.netnsInode(ns);
  if (inode !== undefined) {
    (j.inodes ??= {})[ns] = inode;
    saveJournal(stateDir, j);
  }
  await batch(r, ns, ['link set lo up']);
}

async function sysctls(r: Runner, ns: string): Promise<void> {
  const set = ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0'];
  await must(r, 'ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...set]);
}

function nsOf(j: LabJournal, id: string): string {
  const n = j.nodes.find((x) => x.id === id);
  if (!n) throw new InputError(`node ${id} is not in lab ${j.tag}; its nodes are: ${j.nodes.map((x) => x.id).join(', ')}`);
  return n.ns;
}

/** Run `ip` commands in a namespace as one batch (they are built from the plan: addresses, names, metrics). */
async function batch(r: Runner, ns: string, commands: readonly string[]): Promise<void> {
  if (commands.length > 0) await must(r, 'ip', ['-n', ns, '-batch', '-'], { input: commands.join('\n') + '\n' });
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new JinbaoError(`timed out after ${ms} ms waiting for ${what}`, { exitCode: 1 });
    await new Promise((res) => setTimeout(res, 20));
  }
}

/** Start a long-lived process in a namespace: its journal entry is on disk before it starts, its pid right after. */
function startRecorded(r: Runner, stateDir: string, j: LabJournal, what: string, name: string, ns: string, args: readonly string[]): number {
  const entry: LabJournal['processes'][number] = { what, name, ns };
  j.processes.push(entry);
  saveJournal(stateDir, j);
  entry.pid = r.start('ip', ['netns', 'exec', ns, ...args]);
  saveJournal(stateDir, j);
  return entry.pid;
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
  const dir = join(labDir(stateDir), 'render', n.id);
  const commands: string[] = [];
  for (const iface of rn.config.ifaces) {
    startRecorded(r, stateDir, j, 'wireguard-go', iface.name, ns, ['wireguard-go', '-f', iface.name]);
    await waitFor(() => existsSync(`/var/run/wireguard/${iface.name}.sock`), 5000, `wireguard-go to create ${iface.name}`);
    // The rendered wg-quick file is what the real tools accept: strip it, then setconf.
    const stripped = await must(r, 'wg-quick', ['strip', join(dir, `${iface.name}.conf`)]);
    const setconf = join(dir, `${iface.name}.setconf`);
    writeFileSync(setconf, stripped, { mode: 0o600 });
    await must(r, 'ip', ['netns', 'exec', ns, 'wg', 'setconf', iface.name, setconf]);
    for (const a of [n.address, ...iface.linkAddresses]) commands.push(`addr add ${a}/32 dev ${iface.name}`);
    commands.push(`link set ${iface.name} up`);
  }
  for (const iface of rn.config.ifaces) {
    for (const route of iface.routes) commands.push(`route replace ${route.prefix} dev ${iface.name} metric ${route.metric}${route.src ? ` src ${route.src}` : ''}`);
    // The same policy routing the rendered PostUp lines set up.
    if (iface.policy) {
      for (const prefix of iface.policy.prefixes) commands.push(`route replace ${prefix} dev ${iface.name} table ${iface.policy.table}`);
      commands.push(`rule add iif ${iface.policy.iif} lookup ${iface.policy.table} priority ${iface.policy.priority}`);
    }
  }
  await batch(r, ns, commands);
  await must(r, 'ip', ['netns', 'exec', ns, 'nft', '-f', join(dir, 'nftables.nft')]);
  for (const w of rn.config.watches) {
    startRecorded(r, stateDir, j, 'bash', w.iface, ns, ['bash', watchScript(stateDir), w.iface, w.probe, ...w.routes.map((x) => `${x.prefix}@${x.metric}`)]);
  }
}

/**
 * The failover watch: probe the far end's link address over the one interface every 0.5 s (a
 * pinned host route keeps the probe and its answer on the line); after two misses withdraw the
 * interface's routes so the backups take over, and put them back once the probe answers again.
 */
const WATCH_SH = `#!/bin/bash
# usage: watch.sh IFACE PROBE PREFIX@METRIC...
iface=$1; probe=$2; shift 2
misses=0; withdrawn=0
# The pause between probes is a read that times out on a pipe nobody writes: no sleep process per round.
exec {tick}<> <(:)
while :; do
  if ping -c1 -W1 -q -I "$iface" "$probe" >/dev/null 2>&1; then
    misses=0
    if [ $withdrawn -eq 1 ]; then
      for r in "$@"; do ip route replace "\${r%@*}" dev "$iface" metric "\${r#*@}"; done
      withdrawn=0
    fi
  else
    misses=$((misses+1))
    if [ $misses -ge 2 ] && [ $withdrawn -eq 0 ]; then
      for r in "$@"; do ip route del "\${r%@*}" dev "$iface" metric "\${r#*@}" 2>/dev/null; done
      withdrawn=1
    fi
  fi
  read -rt 0.5 -u "$tick" || :
done
`;

function watchScript(stateDir: string): string {
  const file = join(labDir(stateDir), 'watch.sh');
  if (!existsSync(file)) writeFileSync(file, WATCH_SH, { mode: 0o755 });
  return file;
}

export interface StoppedProcess {
  readonly pid: number;
  readonly command: string;
  /** Why it belonged to the lab (see `labProcesses`). */
  readonly why: Found['why'];
  /** The last signal it needed. */
  readonly signal: 'SIGTERM' | 'SIGKILL';
}

export interface LabDown {
  readonly tag?: string;
  /** Processes stopped: recorded ones and every other found to belong to the lab. */
  readonly processes: number;
  readonly namespaces: number;
  /** Stale wireguard-go control sockets removed, and lab interfaces left in the host namespace deleted. */
  readonly sockets: number;
  readonly links: number;
  readonly stopped: readonly StoppedProcess[];
}

async function netnsNames(r: Runner): Promise<string[]> {
  return (await must(r, 'ip', ['netns', 'list'])).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

/** Stop every process of the lab: SIGTERM, wait, SIGKILL what survives (and SIGTERM what turned up since), wait; whatever is left is an error. */
async function stopLab(procs: ProcTable, identity: () => LabIdentity, graceMs: number, log: (line: string) => void, tag: string, dir: string): Promise<StoppedProcess[]> {
  const stopped = new Map<number, StoppedProcess & { start: number }>();
  const gone = (f: Found) => {
    const now = procs.get(f.proc.pid);
    return now === undefined || now.zombie || now.start !== f.proc.start;
  };
  for (let round = 0; round < 3; round++) {
    const found = labProcesses(procs.list(), identity());
    if (found.length === 0) break;
    for (const f of found) {
      const before = stopped.get(f.proc.pid);
      const signal = before?.start === f.proc.start ? 'SIGKILL' : 'SIGTERM';
      // The same pid with the same start time as when it was judged, or it is not signalled.
      if (gone(f)) continue;
      try {
        procs.signal(f.proc.pid, signal);
      } catch {
        continue;
      }
      const command = f.proc.argv.join(' ');
      if (signal === 'SIGTERM') log(`lab ${tag}: stopping pid ${f.proc.pid} (${command}; ${f.why})`);
      else log(`lab ${tag}: pid ${f.proc.pid} (${command}) outlived SIGTERM; sent SIGKILL`);
      stopped.set(f.proc.pid, { pid: f.proc.pid, command, why: before?.why ?? f.why, signal, start: f.proc.start });
    }
    const until = Date.now() + graceMs;
    while (!found.every(gone) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
  }
  const left = labProcesses(procs.list(), identity());
  if (left.length > 0) {
    throw new JinbaoError(
      `lab ${tag}: ${left.length} process(es) still run after SIGTERM and SIGKILL: ${left.map((f) => `pid ${f.proc.pid} (${f.proc.argv.join(' ')})`).join(', ')}; ` +
        `the journal in ${dir} is kept; once they have exited (a process in uninterruptible sleep exits when its I/O does), run again: jinbao wan down`,
      { exitCode: 1 },
    );
  }
  return [...stopped.values()].map(({ start: _start, ...p }) => p);
}

/**
 * Remove everything of the recorded lab, also after a crash: every process that provably belongs to
 * it (named after it, living in one of its namespaces, or a child of such), the wireguard-go control
 * sockets of its interfaces, its namespaces, and any of its interfaces left in the host namespace.
 * The journal goes last, and only when nothing of the lab is left, so `down` can always be run again.
 */
export async function labDown(env: LabEnv): Promise<LabDown> {
  const r = env.runner ?? systemRunner;
  const procs = env.procs ?? systemProcs;
  const log = env.log ?? (() => {});
  const socketDir = env.socketDir ?? SOCKET_DIR;
  const j = readJournal(env.stateDir);
  if (!j) return { processes: 0, namespaces: 0, sockets: 0, links: 0, stopped: [] };
  const dir = labDir(env.stateDir);
  // Tearing down under a bring-up that still runs would race it: it keeps starting things. Its own failure path may.
  if (j.status === 'building' && j.owner && j.owner.pid !== process.pid && ownerAlive(j.owner, procs)) {
    throw new InputError(`the WAN lab ${j.tag} in ${dir} is still being brought up by process ${j.owner.pid}; stop it first (kill ${j.owner.pid}), then run: jinbao wan down`);
  }
  const names = new Set([...j.namespaces, ...j.nodes.map((n) => n.ns), j.carrier]);
  for (const ns of await netnsNames(r)) if (isLabNamespace(j.tag, ns)) names.add(ns);
  const recorded = new Set(Object.values(j.inodes ?? {}));
  const identity = (): LabIdentity => ({
    tag: j.tag,
    namespaces: names,
    named: new Set([...names].map((n) => procs.netnsInode(n)).filter((i): i is number => i !== undefined)),
    recorded,
  });
  const stopped = await stopLab(procs, identity, env.graceMs ?? 3000, log, j.tag, dir);
  // With every process of the lab gone, a control socket of one of its interfaces is stale (SIGKILL leaves it behind).
  let sockets = 0;
  if (existsSync(socketDir)) {
    for (const f of readdirSync(socketDir)) {
      if (!f.endsWith('.sock') || !isLabIface(j.tag, f.slice(0, -'.sock'.length))) continue;
      rmSync(join(socketDir, f), { force: true });
      sockets += 1;
    }
  }
  let namespaces = 0;
  const listed = new Set(await netnsNames(r));
  for (const ns of [...names].reverse()) {
    if (!listed.has(ns)) continue;
    await must(r, 'ip', ['netns', 'del', ns]);
    namespaces += 1;
  }
  // veth ends are made inside the lab's namespaces; one found in the host namespace is still the lab's by its name.
  let links = 0;
  for (const line of (await must(r, 'ip', ['-o', 'link', 'show'])).split('\n')) {
    const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
    if (!name || !isLabIface(j.tag, name)) continue;
    await must(r, 'ip', ['link', 'del', name]);
    links += 1;
  }
  rmSync(dir, { recursive: true, force: true });
  return { tag: j.tag, processes: stopped.length, namespaces, sockets, links, stopped };
}

export function requireLab(stateDir: string): LabJournal {
  const j = readJournal(stateDir);
  if (!j) throw new InputError(`no WAN lab is recorded in ${labDir(stateDir)}; start one with: jinbao wan up --lab`);
  if (j.status !== 'up') throw new InputError(`the WAN lab ${j.tag} in ${labDir(stateDir)} did not finish coming up; remove it with: jinbao wan down`);
  return j;
}

/* ---------- the connectivity matrix ---------- */

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
 * Run `fn` over `items`, `width` at a time. After a failure no new item starts, and the promise
 * settles only once every item in flight has: a caller that cleans up after the failure does not
 * race work still creating things.
 */
async function pool<T, R>(items: readonly T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (!failed && next < items.length) {
        const i = next++;
        try {
          out[i] = await fn(items[i]!);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }),
  );
  const rejected = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (rejected) throw rejected.reason;
  return out;
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

/** Latency (3 pings over the link: the spoke pings its hub, or the hub its spoke where the policy lets only the hub ping) and handshake age of every link of the lab. */
export async function probeLinks(env: LabEnv, plan: WanPlan, j: LabJournal): Promise<LinkResult[]> {
  const r = env.runner ?? systemRunner;
  const index = new Map(j.nodes.map((n) => [n.id, n.idx]));
  const namer = labNamer(j.tag, index);
  const flows = aclFlows(plan);
  return pool(plan.links, 4, async (l): Promise<LinkResult> => {
    const spoke = plan.nodes.get(l.spoke)!;
    const hub = plan.nodes.get(l.hub)!;
    const iface = namer(spoke, l.kind === 'secondary' ? 'up2' : l.kind === 'dr' ? 'site' : 'up1');
    const ns = nsOf(j, l.spoke);
    // The spoke pings its hub where the policy lets it; a county may not, so its hub pings it (over the hub's interface of that link).
    const upward = allowedServices(flows, spoke.id, hub.id).has('ping');
    const [pingNs, pingIface, target] = upward ? [ns, iface, hub.address] : [nsOf(j, hub.id), namer(hub, isPairLink(l) ? 'dr' : 'down'), spoke.address];
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
  return {
    tag: j.tag,
    checkedAt: new Date().toISOString(),
    pairs,
    links,
    summary: {
      allowed: pairs.filter((p) => p.expected === 'allow').length,
      denied: pairs.filter((p) => p.expected === 'deny').length,
      failures: pairs.filter((p) => !p.ok).length,
      linksUp: links.filter((l) => l.up).length,
      links: links.length,
    },
  };
}

/* ---------- failover: cutting a line in the carrier ---------- */

const CUT_TABLE = 'jinbao_cuts';

/** Cut (or restore) the underlay line between a node and its primary or secondary hub: the carrier drops their packets. */
export async function labCut(env: LabEnv, plan: WanPlan, site: string, uplink: 'primary' | 'secondary', restore = false): Promise<{ hub: string; spoke: string }> {
  const r = env.runner ?? systemRunner;
  const j = requireLab(env.stateDir);
  const slice = slicePlan(plan, new Set(j.nodes.map((n) => n.id)));
  const spoke = findNode(slice, site, `lab ${j.tag}`);
  const link = slice.links.find((l) => l.spoke === spoke.id && l.kind === uplink);
  if (!link) throw new InputError(`node ${site} has no ${uplink} uplink in lab ${j.tag}; cut a province's or prefecture's uplink, e.g. --site ${slice.links.find((l) => l.kind === 'secondary')?.spoke ?? '<province>'}`);
  const hub = slice.nodes.get(link.hub)!;
  const label = `${spoke.id}:${uplink}`;
  if (!restore) {
    await must(r, 'ip', ['netns', 'exec', j.carrier, 'nft', '-f', '-'], { input: `table ip ${CUT_TABLE} {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tip saddr ${spoke.endpoint} ip daddr ${hub.endpoint} drop comment "${label}"\n\t\tip saddr ${hub.endpoint} ip daddr ${spoke.endpoint} drop comment "${label}"\n\t}\n}\n` });
    if (!j.cuts.includes(label)) j.cuts.push(label);
  } else {
    const listing = await r.run('ip', ['netns', 'exec', j.carrier, 'nft', '-a', 'list', 'chain', 'ip', CUT_TABLE, 'forward']);
    for (const line of listing.stdout.split('\n')) {
      const m = new RegExp(`comment "${label}" # handle (\\d+)`).exec(line);
      if (m) await must(r, 'ip', ['netns', 'exec', j.carrier, 'nft', 'delete', 'rule', 'ip', CUT_TABLE, 'forward', 'handle', m[1]!]);
    }
    j.cuts = j.cuts.filter((c) => c !== label);
  }
  saveJournal(env.stateDir, j);
  return { hub: hub.id, spoke: spoke.id };
}

/** Poll until `from` reaches `to` by ping (bounded); returns the seconds it took, or undefined when it did not within `limitMs`. */
export async function timeToReach(env: LabEnv, plan: WanPlan, from: string, to: string, limitMs = 20_000): Promise<number | undefined> {
  const r = env.runner ?? systemRunner;
  const j = requireLab(env.stateDir);
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const res = await r.run('ip', ['netns', 'exec', nsOf(j, from), 'ping', '-c', '1', '-W', '1', '-q', plan.nodes.get(to)!.address]);
    if (res.code === 0) return (performance.now() - started) / 1000;
    await new Promise((res2) => setTimeout(res2, 100));
  }
  return undefined;
}

/* ---------- key rotation ---------- */

/** Put `node`'s new key on its interfaces and swap its public key at every peer: the old peer entry goes only after the new one is in place. */
export async function labRotate(env: LabEnv, plan: WanPlan, node: string, oldPublicKey: string, keys: ReadonlyMap<string, NodeKeys>): Promise<void> {
  const r = env.runner ?? systemRunner;
  const j = requireLab(env.stateDir);
  const slice = slicePlan(plan, new Set(j.nodes.map((n) => n.id)));
  findNode(slice, node, `lab ${j.tag}`);
  const index = new Map(j.nodes.map((n) => [n.id, n.idx]));
  const rendered = renderPlan(slice, { keys, withPrivateKeys: true, namer: labNamer(j.tag, index) });
  writeRender(env.stateDir, rendered.nodes);
  const own = rendered.nodes.find((n) => n.node.id === node)!;
  const keyFile = join(labDir(env.stateDir), 'render', node, 'private.key');
  writeFileSync(keyFile, keys.get(node)!.privateKey! + '\n', { mode: 0o600 });
  const newPublic = keys.get(node)!.publicKey;
  // Every peer at once, then the node itself: the window in which its links are down stays short.
  const updates: Promise<unknown>[] = [];
  for (const other of rendered.nodes) {
    for (const iface of other.config.ifaces) {
      const peer = iface.peers.find((p) => p.node === node);
      if (!peer) continue;
      const ns = nsOf(j, other.node.id);
      const args = ['netns', 'exec', ns, 'wg', 'set', iface.name, 'peer', newPublic, 'allowed-ips', peer.allowedIps.join(',')];
      if (peer.endpoint) args.push('endpoint', peer.endpoint);
      if (peer.keepalive) args.push('persistent-keepalive', String(peer.keepalive));
      // Allowed IPs move to the new peer entry; then the old entry (now empty) goes.
      updates.push(must(r, 'ip', args).then(() => must(r, 'ip', ['netns', 'exec', ns, 'wg', 'set', iface.name, 'peer', oldPublicKey, 'remove'])));
    }
  }
  await Promise.all(updates);
  await Promise.all(own.config.ifaces.map((iface) => must(r, 'ip', ['netns', 'exec', nsOf(j, node), 'wg', 'set', iface.name, 'private-key', keyFile])));
}

export type { NodeConfig };
