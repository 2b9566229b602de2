import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { InputError, UnavailableError } from '../../lib/errors.js';
import { json } from '../../lib/output.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

interface UnsealOptions {
  share?: string;
  json?: boolean;
}

interface SealStatus {
  sealed: boolean;
  ceremony: string;
  threshold: number;
  shares: number;
  submitted: number;
  error?: string;
}

export function register(program: Command, run: Runner): void {
  program
    .command('unseal')
    .description('submit one custodian\'s share of the CA passphrase to a sealed jinbao serve at --server (without --share: show how far unsealing is)')
    .option('--share <file>', 'this custodian\'s share file (jinbao ceremony split)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  $ jinbao unseal --server https://pki.jinbao.internal:8443 --server-ca root.pem --share share-2-of-5.txt\n  $ jinbao unseal --server https://pki.jinbao.internal:8443 --server-ca root.pem')
    .action(run<UnsealOptions>(unseal));
}

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`${flag}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function call(url: URL, ca: string | undefined, body?: string): Promise<{ status: number; data: SealStatus }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: body === undefined ? 'GET' : 'POST', ...(ca ? { ca } : {}), headers: { 'content-type': 'application/json' }, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, data: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SealStatus });
        } catch {
          reject(new UnavailableError(`${url.origin} answered ${res.statusCode} without a seal status: is it a sealed jinbao serve?`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', (err) => reject(new UnavailableError(`cannot reach ${url.origin}: ${err.message}${/certificate|self.signed/i.test(err.message) ? ' (give the CA that issued its TLS certificate with --server-ca FILE)' : ''}`, { cause: err })));
    req.end(body);
  });
}

async function unseal(ctx: Context, o: UnsealOptions): Promise<number> {
  // --server and --server-ca are the global options client mode uses too
  const { server, serverCa } = ctx.global;
  if (server === undefined) throw new InputError('--server: got none, want the sealed service\'s https:// URL, e.g. jinbao unseal --server https://pki.jinbao.internal:8443 --share FILE');
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new InputError(`--server: got "${server}", want the service's https:// URL`);
  }
  if (base.protocol !== 'https:') throw new InputError(`--server: got "${server}", want an https:// URL (shares never travel in clear)`);
  const ca = serverCa !== undefined ? readText('--server-ca', serverCa) : undefined;
  const r = o.share === undefined ? await call(new URL('/sys/seal-status', base), ca) : await call(new URL('/sys/unseal', base), ca, JSON.stringify({ share: readText('--share', o.share) }));
  if (o.json) ctx.out(json(r.data));
  else if (r.data.error) ctx.err(`${ctx.t('unseal.refused', { error: r.data.error })}\n`);
  if (!o.json) ctx.out(`${r.data.sealed ? ctx.t('unseal.sealed', { submitted: r.data.submitted, threshold: r.data.threshold, shares: r.data.shares, ceremony: r.data.ceremony }) : ctx.t('unseal.unsealed', { ceremony: r.data.ceremony })}\n`);
  return r.status >= 400 ? 2 : 0;
}
