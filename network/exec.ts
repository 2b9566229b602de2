import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { ExitCode } from '../lib/errors.js';
import { jinbaoError } from '../lib/i18n/index.js';
import { NETWORK_MESSAGES } from './messages.js';

/** The thin effects adapter of the lab: run a program, start a long-lived one. Arguments are arrays, never shell strings. */
export interface Runner {
  run(cmd: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Start a long-lived program, detached. */
  start(cmd: string, args: readonly string[], opts?: StartOptions): number;
}

export interface StartOptions {
  /** Where its stderr goes (what a daemon says before it could log anywhere else, e.g. refusing its configuration). @default discarded */
  readonly stderrFile?: string;
  /** Variables added to this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

export const systemRunner: Runner = {
  run(cmd, args, opts = {}) {
    return new Promise((resolve) => {
      const child = execFile(cmd, [...args], { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; killed?: boolean; signal?: string }) | null;
        const code = !e ? 0 : typeof e.code === 'number' ? e.code : 1;
        const why = e && e.killed ? `killed after ${opts.timeoutMs ?? 30_000} ms (${e.signal ?? 'timeout'})` : e && typeof e.code !== 'number' ? e.message : '';
        resolve({ stdout: String(stdout), stderr: [String(stderr), why].filter(Boolean).join('; '), code });
      });
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });
  },
  start(cmd, args, opts = {}) {
    const err = opts.stderrFile === undefined ? 'ignore' : openSync(opts.stderrFile, 'w', 0o600);
    const child = spawn(cmd, [...args], { detached: true, stdio: ['ignore', 'ignore', err], ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}) });
    if (typeof err === 'number') closeSync(err);
    child.unref();
    if (child.pid === undefined) throw jinbaoError(NETWORK_MESSAGES, 'exec.couldNotStart', { cmd }, { exitCode: ExitCode.invalidInput });
    return child.pid;
  },
};

/** Run and fail with the command and its stderr when it exits non-zero. */
export async function must(r: Runner, cmd: string, args: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<string> {
  const res = await r.run(cmd, args, opts);
  if (res.code !== 0) {
    throw jinbaoError(NETWORK_MESSAGES, 'exec.failed', { command: [cmd, ...args].join(' '), code: res.code, output: res.stderr.trim() || res.stdout.trim() }, { exitCode: 1 });
  }
  return res.stdout;
}
