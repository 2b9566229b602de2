import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * Processes as /proc shows them. A pid alone is not an identity (pids are reused): a pid with its
 * start time is. Shared by the WAN lab's teardown and the DR lab's process checks.
 */

export interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/PID/stat): with the pid, the identity of a process. */
  readonly start: number;
  readonly argv: readonly string[];
  /** Inode of /proc/PID/ns/net; undefined when unreadable (a zombie has none). */
  readonly netns?: number;
  readonly zombie: boolean;
}

/** The fields of /proc/PID/stat after the command name, from field 3 (the state) on; undefined when the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields after it start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The one-letter state of a process (R, S, D, Z, X, ...); undefined when /proc has no such process. */
export function procState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** One process, or undefined when it is gone. */
export function readProc(pid: number): ProcInfo | undefined {
  try {
    const rest = statFields(pid);
    if (!rest) return undefined;
    const state = rest[0]!;
    const ppid = Number(rest[1]);
    const start = Number(rest[19]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    let netns: number | undefined;
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      if (m) netns = Number(m[1]);
    } catch {
      /* a zombie or a process exiting right now */
    }
    return { pid, ppid, start, argv, ...(netns !== undefined ? { netns } : {}), zombie: state === 'Z' || state === 'X' };
  } catch {
    return undefined;
  }
}

/** Every process /proc lists right now. */
export function listProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const p = readProc(Number(e));
    if (p) out.push(p);
  }
  return out;
}

/** Whether the process recorded as `owner` (pid and start time) still runs: the same pid with another start time is another process. */
export function isRunning(owner: { readonly pid: number; readonly start: number }, proc: ProcInfo | undefined = readProc(owner.pid)): boolean {
  return proc !== undefined && !proc.zombie && proc.start === owner.start;
}
