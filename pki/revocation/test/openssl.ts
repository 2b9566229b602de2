import { spawnSync } from 'node:child_process';

/** Run openssl; returns exit status and combined output (never throws on a non-zero exit). */
export function openssl(args: readonly string[], input?: Uint8Array): { status: number; out: string } {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
