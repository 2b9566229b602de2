import { statSync } from 'node:fs';
import { listProcs, readProc, type ProcInfo } from '../lib/procs.js';

export type { ProcInfo };

/**
 * The process table as the lab needs it, read from /proc: who runs what, in which network
 * namespace, as whose child. The lab's teardown decides from this alone which processes are its
 * own (see `labProcesses`), so that `down` can be tested against a made-up table without root.
 */

export interface ProcTable {
  list(): ProcInfo[];
  get(pid: number): ProcInfo | undefined;
  signal(pid: number, sig: 'SIGTERM' | 'SIGKILL'): void;
  /** Inode of a named network namespace (/run/netns/NAME), undefined when there is none by that name. */
  netnsInode(name: string): number | undefined;
}

export const systemProcs: ProcTable = {
  list: listProcs,
  get: readProc,
  signal(pid, sig) {
    process.kill(pid, sig);
  },
  netnsInode(name) {
    try {
      return statSync(`/run/netns/${name}`).ino;
    } catch {
      return undefined;
    }
  },
};

/** What identifies a lab's processes: names only it uses, and the network namespaces it made. */
export interface LabIdentity {
  /** The lab tag (`jb` + 4 hex): every interface and namespace name starts with it. */
  readonly tag: string;
  /** The lab's namespace names (`TAG-...`), from its journal. */
  readonly namespaces: ReadonlySet<string>;
  /** Inodes of the lab's namespaces that exist by name right now. */
  readonly named: ReadonlySet<number>;
  /** Inodes the journal recorded when each namespace was made (the namespace may be gone by name since). */
  readonly recorded: ReadonlySet<number>;
}

/** An interface name of the lab: tag, node index, role (d, u1, u2, r, s) or veth end (v, c). */
export function isLabIface(tag: string, name: string): boolean {
  return name.startsWith(tag) && /^\d+(d\d*|u1|u2|r|s|v|c)$/.test(name.slice(tag.length));
}

export function isLabNamespace(tag: string, name: string): boolean {
  return name.startsWith(`${tag}-`) && name.length > tag.length + 1;
}

export interface Found {
  readonly proc: ProcInfo;
  /** Why it belongs to the lab: it names a lab interface or namespace; it lives in a lab namespace; it descends from one that does. */
  readonly why: 'named' | 'namespace' | 'child';
}

/**
 * Every live process of the lab, and why each provably belongs to it:
 *  - named: an argument is exactly one of the lab's interface or namespace names (wireguard-go -f IFACE,
 *    a watch's bash and ping, `ip netns exec NS ...` before it enters the namespace);
 *  - namespace: it lives in a lab namespace, that is one that has its lab name right now, or one whose
 *    inode the journal recorded and in which a `named` process lives. A recorded inode alone proves
 *    nothing: the kernel reuses a namespace's inode number as soon as the namespace is freed;
 *  - child: a descendant of one of the above.
 * The calling process, its ancestors and everything in the calling process's namespace or init's are
 * never judged by namespace; the caller and its ancestors are never included at all.
 */
export function labProcesses(procs: readonly ProcInfo[], id: LabIdentity, self: number = process.pid): Found[] {
  const live = procs.filter((p) => !p.zombie && p.pid > 1);
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const protectedPids = new Set<number>();
  for (let p: number | undefined = self; p !== undefined && p > 0 && !protectedPids.has(p); p = byPid.get(p)?.ppid) protectedPids.add(p);
  const hostNs = new Set([byPid.get(self)?.netns, byPid.get(1)?.netns].filter((n): n is number => n !== undefined));
  const found = new Map<number, Found>();
  const isNamed = (p: ProcInfo) => p.argv.some((a) => isLabIface(id.tag, a) || id.namespaces.has(a) || isLabNamespace(id.tag, a));
  for (const p of live) if (!protectedPids.has(p.pid) && isNamed(p)) found.set(p.pid, { proc: p, why: 'named' });
  const labNs = new Set(id.named);
  for (const f of found.values()) if (f.proc.netns !== undefined && id.recorded.has(f.proc.netns)) labNs.add(f.proc.netns);
  for (const n of hostNs) labNs.delete(n);
  for (const p of live) {
    if (!protectedPids.has(p.pid) && !found.has(p.pid) && p.netns !== undefined && labNs.has(p.netns)) found.set(p.pid, { proc: p, why: 'namespace' });
  }
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of live) {
      if (protectedPids.has(p.pid) || found.has(p.pid) || !found.has(p.ppid)) continue;
      found.set(p.pid, { proc: p, why: 'child' });
      grew = true;
    }
  }
  return [...found.values()].sort((a, b) => a.proc.pid - b.proc.pid);
}
