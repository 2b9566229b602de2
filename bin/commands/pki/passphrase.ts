import { DEFAULT_PASSPHRASE_ENV, DEMO_PASSPHRASE_WARNING, demoPassphrase, resolvePassphrase, type PkiStore } from '../../../pki/index.js';
import type { Context } from '../../context.js';

/** The passphrase for CA keys (variable, the store's demo passphrase or a prompt on the terminal), warning loudly when it is the demo one. */
export async function pkiPassphrase(ctx: Context, pki: PkiStore, envName: string | undefined, creating = false): Promise<string> {
  const r = await resolvePassphrase({
    env: ctx.io.env,
    envName: envName ?? DEFAULT_PASSPHRASE_ENV,
    stateDir: ctx.stateDir,
    demo: () => demoPassphrase(pki),
    tty: { input: process.stdin, output: ctx.io.stderr },
    creating,
  });
  if (r.source === 'demo') ctx.err(`${DEMO_PASSPHRASE_WARNING}\n`);
  return r.passphrase;
}
