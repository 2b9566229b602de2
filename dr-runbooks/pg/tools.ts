import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { $, type ProcessPromise, type Shell } from 'zx';
import { procState } from '../../lib/procs.js';
import { unavailableError } from '../../lib/i18n/index.js';
import { DR_MESSAGES } from '../messages.js';
import { StepFailure } from '../engine.js';

export const DEFAULT_PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PgToolsOptions {
  /** Folder of the PostgreSQL 15 server binaries. @default /usr/lib/postgresql/15/bin (or $JINBAO_PG_BIN) */
  readonly binDir?: string;
  /** The zx shell to run commands with (tests inject one with a mocked spawn). @default a quiet `$` */
  readonly shell?: Shell;
  /** Run the server tools as the `postgres` user through runuser. @default true when running as root */
  readonly runAsPostgres?: boolean;
}

/**
 * The PostgreSQL server tools, run as the `postgres` user when jinbao runs as root (PostgreSQL
 * refuses to run as root). Every command goes through zx with `$` interpolation only.
 */
export class PgTools {
  readonly binDir: string;
  readonly sh: Shell;
  readonly runAsPostgres: boolean;
  /** The database superuser initdb creates: the OS user that runs the server. */
  readonly superuser: string;

  constructor(opts: PgToolsOptions = {}) {
    this.binDir = opts.binDir ?? process.env.JINBAO_PG_BIN ?? DEFAULT_PG_BIN;
    this.sh = opts.shell ?? $({ quiet: true, verbose: false });
    this.runAsPostgres = opts.runAsPostgres ?? process.getuid?.() === 0;
    this.superuser = this.runAsPostgres ? 'postgres' : userInfo().username;
  }

  /** Throws when the server binaries are missing, naming the Debian package. */
  ensureInstalled(): void {
    for (const tool of ['initdb', 'pg_ctl', 'pg_basebackup', 'pg_rewind', 'pg_waldump', 'postgres']) {
      if (!existsSync(join(this.binDir, tool))) {
        throw unavailableError(
          DR_MESSAGES, 'pg.toolsMissing', { file: join(this.binDir, tool) },
        );
      }
    }
  }

  /** Run a PostgreSQL tool with `args` (each one a separate, quoted argument). */
  run(tool: string, args: readonly string[]): ProcessPromise {
    const bin = join(this.binDir, tool);
    return this.runAsPostgres ? this.sh`runuser -u postgres -- ${bin} ${args}` : this.sh`${bin} ${args}`;
  }
}

/** Whether a process with this pid exists and is not a zombie waiting to be reaped. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A process that exits between the two reads counts as alive here: callers poll until it is gone.
  return procState(pid) !== 'Z';
}

/** Signal `pid` and wait until it is gone; escalates to SIGKILL after `timeoutMs`. Returns false when it was not running. */
export async function stopPid(pid: number, signal: NodeJS.Signals, timeoutMs = 30_000): Promise<boolean> {
  if (!alive(pid)) return false;
  process.kill(pid, signal);
  const deadline = performance.now() + timeoutMs;
  while (alive(pid)) {
    if (performance.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      await waitGone(pid, 5_000);
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

export async function waitGone(pid: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (alive(pid)) {
    if (performance.now() > deadline) throw new StepFailure('step.processStillRunning', { pid, ms: timeoutMs });
    await new Promise((r) => setTimeout(r, 10));
  }
}
