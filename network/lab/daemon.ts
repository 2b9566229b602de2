import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalogueMessage, jinbaoError, type MessageParams } from '../../lib/i18n/index.js';
import { NETWORK_MESSAGES } from '../messages.js';
import { type Runner } from '../exec.js';
import { birdAsk } from './control.js';
import { labDir, startRecorded, type LabJournal } from './journal.js';
import { nsOf, waitFor } from './namespaces.js';
import { makeDirs } from '../../lib/dirs.js';
import { asnOf } from '../routing.js';

/**
 * The routing daemon (BIRD 2, BGP and BFD) of each lab router: its own control socket and pid file per node
 * (one daemon per namespace), its configuration checked by the daemon's own parser before it starts.
 */

export function daemonDir(stateDir: string): string {
  return join(labDir(stateDir), 'bird');
}

/** The node's control socket (a Unix socket: `birdc -s` reaches it from anywhere on the machine). */
export function controlSocket(stateDir: string, j: LabJournal, id: string): string {
  return join(daemonDir(stateDir), `${j.nodes.find((n) => n.id === id)!.idx}.ctl`);
}

export function daemonConfig(stateDir: string, id: string): string {
  return join(labDir(stateDir), 'render', id, 'bird.conf');
}

/** Check a router's configuration with the daemon's own parser (`bird -p`): a configuration it refuses stops the bring-up with the parser's words. */
export async function checkDaemonConfig(r: Runner, stateDir: string, id: string): Promise<void> {
  const conf = daemonConfig(stateDir, id);
  const parsed = await r.run('bird', ['-p', '-c', conf]);
  if (parsed.code !== 0) {
    throw jinbaoError(NETWORK_MESSAGES, 'labDaemon.configRefused', { id, conf, output: (parsed.stderr || parsed.stdout).trim() }, { exitCode: 1 });
  }
}

/** What the daemon said on stderr before it could log to its file (a refusal at start). */
export function daemonStderr(stateDir: string, j: LabJournal, id: string): string {
  const file = controlSocket(stateDir, j, id).replace(/\.ctl$/, '.err');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
}

/** `: <what the daemon said>` after a message, or nothing when it said nothing. */
export function daemonSaid(text: string): MessageParams[string] {
  return text ? catalogueMessage(NETWORK_MESSAGES, 'labDaemon.said', { text }).localized : '';
}

/**
 * Start the node's daemon, without waiting for it: the bring-up's convergence wait asks every daemon
 * at once (see `waitConverged`), and a daemon that exits is reported there with what it said.
 */
export function startDaemon(r: Runner, stateDir: string, j: LabJournal, id: string): number {
  const conf = daemonConfig(stateDir, id);
  makeDirs(daemonDir(stateDir), 0o700);
  const socket = controlSocket(stateDir, j, id);
  return startRecorded(r, stateDir, j, 'bird', id, nsOf(j, id), ['bird', '-f', '-c', conf, '-s', socket, '-P', socket.replace(/\.ctl$/, '.pid')], { stderrFile: socket.replace(/\.ctl$/, '.err') });
}

/** Wait (bounded) until a node's daemon answers on its control socket. */
export async function waitDaemon(stateDir: string, j: LabJournal, id: string, ms = 10_000): Promise<void> {
  const socket = controlSocket(stateDir, j, id);
  await waitFor(() => existsSync(socket), ms, () => catalogueMessage(NETWORK_MESSAGES, 'labDaemon.waiting.daemonSocket', { id, socket, said: daemonSaid(daemonStderr(stateDir, j, id)) }).localized);
}

/** A BGP session of the router, one per router link. */
export interface Neighbour {
  /** The neighbour's AS number, and the lab node it belongs to. */
  readonly asn: number;
  readonly node?: string;
  /** BGP state: `Established` when the session is up (else `Idle`, `Connect`, `Active`, `OpenSent`, ...). */
  readonly state: string;
  readonly iface: string;
}

/** A session is up. */
export function established(n: Neighbour): boolean {
  return n.state === 'Established';
}

export interface BfdSession {
  readonly peer: string;
  readonly iface: string;
  readonly state: string;
}

/** One router's routing state, as its daemon reports it. */
export interface RouterState {
  readonly node: string;
  /** The daemon answered on its control socket. */
  readonly running: boolean;
  readonly neighbours: readonly Neighbour[];
  readonly bfd: readonly BfdSession[];
  /** Routes the daemon accepted (others' blocks and link addresses), and wrong announcements it rejected. */
  readonly routes: number;
  readonly filtered: number;
  /** BFD sessions that went down since the daemon started: each one a failover. */
  readonly failovers: number;
}

const ROW = /\S+/g;

/**
 * `show protocols all`: each BGP session (a protocol block whose header row says `BGP`) with its
 * state, its neighbour's AS and interface, and the routes it brought in (imported, and rejected by
 * the import filter when it keeps them: `Routes: N imported, M filtered, ...`).
 */
export function parseSessions(text: string, nodeOf: (asn: number) => string | undefined): { neighbours: Neighbour[]; routes: number; filtered: number } {
  const neighbours: Neighbour[] = [];
  let routes = 0;
  let filtered = 0;
  let block: string[] | undefined;
  const close = () => {
    if (!block) return;
    const body = block.join('\n');
    const asn = Number(/Neighbor AS:\s+(\d+)/.exec(body)?.[1] ?? NaN);
    const state = /BGP state:\s+(\S+)/.exec(body)?.[1] ?? 'Down';
    const iface = /Neighbor address:\s+\S+?%(\S+)/.exec(body)?.[1] ?? '';
    const counts = /Routes:\s+(\d+) imported, (?:(\d+) filtered, )?/.exec(body);
    routes += Number(counts?.[1] ?? 0);
    filtered += Number(counts?.[2] ?? 0);
    if (Number.isFinite(asn)) {
      const node = nodeOf(asn);
      neighbours.push({ asn, ...(node ? { node } : {}), state, iface });
    }
    block = undefined;
  };
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      close();
      if (/^\S+\s+BGP\s/.test(line)) block = [];
    } else if (block) block.push(line);
  }
  close();
  return { neighbours, routes, filtered };
}

/** `show protocols`: how many BGP sessions are Established (a row per protocol: name, protocol, table, state, since, info). */
export function establishedSessions(text: string): number {
  return text.split('\n').filter((l) => /^\S+\s+BGP\s.*\sEstablished\b/.test(l)).length;
}

/** `show bfd sessions`: address, interface, state, since, interval, timeout. */
export function parseBfd(text: string): BfdSession[] {
  return text
    .split('\n')
    .map((l) => l.match(ROW) ?? [])
    .filter((w) => w.length >= 4 && /^\d+\.\d+\.\d+\.\d+$/.test(w[0]!))
    .map(([peer, iface, state]) => ({ peer: peer!, iface: iface!, state: state! }));
}

/** BFD's own log lines (debug events) of a session going down. */
export function countFailovers(log: string): number {
  return (log.match(/Session to \S+ changed state from Up to Down/g) ?? []).length;
}

/** Ask every router of the lab for its state over its control socket (no `birdc` per question); a daemon that does not answer (a killed node) is reported as not running. */
export async function routingState(stateDir: string, j: LabJournal, routers: readonly { id: string; address: string }[]): Promise<RouterState[]> {
  const byAsn = new Map(routers.map((n) => [asnOf(n.address), n.id]));
  return Promise.all(
    routers.map(async ({ id }): Promise<RouterState> => {
      const socket = controlSocket(stateDir, j, id);
      const logFile = join(daemonDir(stateDir), `${id}.log`);
      const failovers = existsSync(logFile) ? countFailovers(readFileSync(logFile, 'utf8')) : 0;
      try {
        const [proto, bfd] = await Promise.all([birdAsk(socket, 'show protocols all'), birdAsk(socket, 'show bfd sessions').catch(() => '')]);
        return { node: id, running: true, ...parseSessions(proto, (asn) => byAsn.get(asn)), bfd: parseBfd(bfd), failovers };
      } catch {
        return { node: id, running: false, neighbours: [], bfd: [], routes: 0, filtered: 0, failovers };
      }
    }),
  );
}
