import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { json } from '../../lib/output.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import { callJson, serverUrl } from '../https.js';
import type { Runner } from '../runner.js';
import { inputError } from '../../lib/i18n/index.js';

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
    throw inputError(COMMAND_MESSAGES, 'client.err.read', { flag, file, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
  }
}

async function unseal(ctx: Context, o: UnsealOptions): Promise<number> {
  // --server and --server-ca are the global options client mode uses too
  const { server, serverCa } = ctx.global;
  const base = serverUrl(server, 'jinbao unseal --server https://pki.jinbao.internal:8443 --share FILE');
  const ca = serverCa !== undefined ? readText('--server-ca', serverCa) : undefined;
  const call = { ...(ca ? { ca } : {}), timeoutMs: 30_000, what: 'a seal status' };
  const { status, body: data } = o.share === undefined
    ? await callJson<SealStatus>(new URL('/sys/seal-status', base), call)
    : await callJson<SealStatus>(new URL('/sys/unseal', base), { ...call, body: { share: readText('--share', o.share) } });
  const r = { status, data };
  if (o.json) ctx.out(json(r.data));
  else if (r.data.error) ctx.err(`${ctx.t('unseal.refused', { error: r.data.error })}\n`);
  if (!o.json) ctx.out(`${r.data.sealed ? ctx.t('unseal.sealed', { submitted: r.data.submitted, threshold: r.data.threshold, shares: r.data.shares, ceremony: r.data.ceremony }) : ctx.t('unseal.unsealed', { ceremony: r.data.ceremony })}\n`);
  return r.status >= 400 ? 2 : 0;
}
