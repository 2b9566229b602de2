import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, JinbaoError } from '../../lib/errors.js';
import { inputError, jinbaoError, type Translate } from '../../lib/i18n/index.js';
import { must, systemRunner } from '../exec.js';
import { NETWORK_MESSAGES } from '../messages.js';
import { isLabIface, isLabNamespace, labProcesses, systemProcs, type Found, type LabIdentity, type ProcTable } from '../procs.js';
import { labDir, labWords, readJournal, SOCKET_DIR, ownerAlive, type LabEnv } from './journal.js';
import { netnsNames } from './namespaces.js';

/** Teardown, also after a crash: every process that provably belongs to the lab (see procs.ts), its sockets, namespaces and interfaces. */
export interface StoppedProcess {
  readonly pid: number;
  readonly command: string;
  /** Why it belonged to the lab (see `labProcesses`). */
  readonly why: Found['why'];
  /** The last signal it needed. */
  readonly signal: 'SIGTERM' | 'SIGKILL';
  /** The journal recorded it (a wireguard-go, a routing daemon): expected, whatever rule found it. */
  readonly recorded: boolean;
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

/** Stop every process of the lab: SIGTERM, wait, SIGKILL what survives (and SIGTERM what turned up since), wait; whatever is left is an error. */
async function stopLab(procs: ProcTable, identity: () => LabIdentity, graceMs: number, log: (line: string) => void, t: Translate, tag: string, dir: string, recordedPids: ReadonlySet<number> = new Set()): Promise<StoppedProcess[]> {
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
      if (signal === 'SIGTERM') log(t('lab.log.stopping', { tag, pid: f.proc.pid, command, why: t(`lab.why.${f.why}`) }));
      else log(t('lab.log.killed', { tag, pid: f.proc.pid, command }));
      stopped.set(f.proc.pid, { pid: f.proc.pid, command, why: before?.why ?? f.why, signal, recorded: recordedPids.has(f.proc.pid), start: f.proc.start });
    }
    const until = Date.now() + graceMs;
    while (!found.every(gone) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
  }
  const left = labProcesses(procs.list(), identity());
  if (left.length > 0) {
    const survivors = left.map((f) => `pid ${f.proc.pid} (${f.proc.argv.join(' ')})`).join(', ');
    throw jinbaoError(NETWORK_MESSAGES, 'lab.survivors', { tag, count: left.length, survivors, dir }, { exitCode: 1 });
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
    throw inputError(NETWORK_MESSAGES, 'lab.stillBuilding', { tag: j.tag, dir, pid: j.owner.pid });
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
  const stopped = await stopLab(procs, identity, env.graceMs ?? 3000, log, labWords(env), j.tag, dir, new Set(j.processes.flatMap((p) => (p.pid !== undefined ? [p.pid] : []))));
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
