import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Run openssl; returns exit status and combined output (never throws on a non-zero exit). */
export function openssl(args: readonly string[], input?: Uint8Array): { status: number; out: string } {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** The same, without blocking the event loop (for talking to a server in this process). */
export function opensslAsync(args: readonly string[]): Promise<{ status: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, out });
    });
  });
}

/** `jinbao pki ocsp serve` running as its own process, once it printed where it listens. */
export interface ResponderProcess {
  readonly url: string;
  /** Everything it printed so far. */
  output(): { stdout: string; stderr: string };
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/** Start `jinbao ... pki ocsp serve --port 0 <args>` from the sources and wait (at most 60 s) for its listening line. */
export async function startResponderProcess(stateDir: string, args: readonly string[], env: Readonly<Record<string, string>>): Promise<ResponderProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../../bin/jinbao.ts'), '--state', stateDir, 'pki', 'ocsp', 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line within 60 s: ${stdout} ${stderr}`)), 60_000);
      const look = () => {
        const m = /listening on (http:\/\/\S+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout.on('data', look);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the responder exited (${code}) before listening: ${stderr}`));
      });
    });
    return {
      url,
      output: () => ({ stdout, stderr }),
      stop: async () => {
        child.kill('SIGTERM');
        return exited;
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
}
