import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, JinbaoError } from '../../lib/errors.js';
import { catalogueMessage, inputError, jinbaoError, translator, type Lang, type MessageParams, type Translate } from '../../lib/i18n/index.js';
import { NETWORK_MESSAGES } from '../messages.js';
import { must, type Runner, type StartOptions } from '../exec.js';
import { isLabIface, isLabNamespace, type ProcTable } from '../procs.js';
import { type IfaceRole } from '../render.js';
import { type WanNode } from '../topology.js';
import { makeDirs } from '../../lib/dirs.js';

/**
 * The lab's journal: everything created is recorded in `<state>/wan-lab/lab.json` before it is
 * created, so `down` removes it even after a crash. Also the lab's tag and names.
 */
export const LAB_DIR = 'wan-lab';

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
  /** Nodes stopped whole by `wan kill` (every process of the node gone, its interfaces with them). */
  killed?: string[];
}

export const ROLE_SUFFIX: Readonly<Record<IfaceRole, string>> = { down: 'd', link: 'd', up1: 'u1', up2: 'u2', dr: 'r', site: 's' };

export interface LabEnv {
  readonly stateDir: string;
  readonly runner?: Runner;
  readonly log?: (line: string) => void;
  /** The language of the `log` lines. @default 'en' */
  readonly lang?: Lang;
  /** The process table `down` reads and signals (default: /proc and kill(2)). */
  readonly procs?: ProcTable;
  /** How long `down` waits after each round of signals before it escalates (default 3000 ms). */
  readonly graceMs?: number;
  /** How long a bring-up waits for the routing to converge (default 60 s + 2 s per node). */
  readonly convergeMs?: number;
  /** Where wireguard-go keeps its control sockets (default /var/run/wireguard). */
  readonly socketDir?: string;
}

export function labDir(stateDir: string): string {
  return join(stateDir, LAB_DIR);
}

export function readJournal(stateDir: string): LabJournal | undefined {
  const file = join(labDir(stateDir), 'lab.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as LabJournal;
}

/** Write the journal whole or not at all (a new file renamed over the old): a crash mid-write must not leave a journal `down` cannot read. */
export function saveJournal(stateDir: string, j: LabJournal): void {
  makeDirs(labDir(stateDir), 0o700);
  const file = join(labDir(stateDir), 'lab.json');
  writeFileSync(`${file}.new`, JSON.stringify(j, null, 2), { mode: 0o600 });
  renameSync(`${file}.new`, file);
}

export const SOCKET_DIR = '/var/run/wireguard';

/** The lab's progress words in the language `env` asks for. */
export function labWords(env: Pick<LabEnv, 'lang'>): Translate {
  return translator(env.lang ?? 'en', NETWORK_MESSAGES);
}

/** "lab jb1a2b", to nest in a message that names where a node was looked for. */
export function labPlace(tag: string): MessageParams[string] {
  return catalogueMessage(NETWORK_MESSAGES, 'lab.place', { tag }).localized;
}

/** A tag no namespace, control socket or process on this machine uses yet, starting from a random one. */
export function pickTag(inUse: (tag: string) => boolean, start: number = randomBytes(2).readUInt16BE(0)): string {
  for (let i = 0; i < 0x10000; i++) {
    const tag = `jb${((start + i) & 0xffff).toString(16).padStart(4, '0')}`;
    if (!inUse(tag)) return tag;
  }
  throw jinbaoError(NETWORK_MESSAGES, 'lab.noTag', {}, { exitCode: 1 });
}

export function tagsInUse(procs: ProcTable, socketDir: string): Set<string> {
  const used = new Set<string>();
  const add = (name: string) => {
    const m = /^(jb[0-9a-f]{4})/.exec(name);
    if (m && (isLabIface(m[1]!, name) || isLabNamespace(m[1]!, name))) used.add(m[1]!);
  };
  for (const d of ['/run/netns', socketDir]) if (existsSync(d)) for (const e of readdirSync(d)) add(e.replace(/\.sock$/, ''));
  for (const p of procs.list()) for (const a of p.argv) add(a);
  return used;
}

export function ownerAlive(owner: { pid: number; start: number }, procs: ProcTable): boolean {
  const p = procs.get(owner.pid);
  return p !== undefined && !p.zombie && p.start === owner.start;
}

/** Interface names unique on the machine (wireguard-go's control sockets are global): lab tag + node index + role. */
export function labNamer(tag: string, index: ReadonlyMap<string, number>) {
  // A hub's point-to-point link to a router spoke: `d` and the spoke's index.
  return (node: WanNode, role: IfaceRole, peer?: WanNode) => `${tag}${index.get(node.id)}${ROLE_SUFFIX[role]}${role === 'link' ? index.get(peer!.id) : ''}`;
}

/** Start a long-lived process in a namespace: its journal entry is on disk before it starts, its pid right after. */
export function startRecorded(r: Runner, stateDir: string, j: LabJournal, what: string, name: string, ns: string, args: readonly string[], opts?: StartOptions): number {
  const entry: LabJournal['processes'][number] = { what, name, ns };
  j.processes.push(entry);
  saveJournal(stateDir, j);
  entry.pid = r.start('ip', ['netns', 'exec', ns, ...args], opts);
  saveJournal(stateDir, j);
  return entry.pid;
}


export function requireLab(stateDir: string): LabJournal {
  const j = readJournal(stateDir);
  if (!j) throw inputError(NETWORK_MESSAGES, 'lab.none', { dir: labDir(stateDir) });
  if (j.status !== 'up') throw inputError(NETWORK_MESSAGES, 'lab.notUp', { tag: j.tag, dir: labDir(stateDir) });
  return j;
}
