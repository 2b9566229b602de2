import type { Command } from 'commander';
import { parseInteger } from '../../lib/options.js';
import { json } from '../../lib/output.js';
import { splitPassphrase } from '../../operators/index.js';
import { DEFAULT_PASSPHRASE_ENV, resolvePassphrase } from '../../pki/index.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  const ceremony = program.command('ceremony').description('key ceremonies: nobody alone holds the CA key passphrase');
  ceremony
    .command('split')
    .description('split the CA key passphrase into shares for custodians (Shamir\'s secret sharing); any --threshold of them unseal jinbao serve --sealed')
    .requiredOption('--shares <n>', 'how many custodians get a share (2-255)')
    .requiredOption('--threshold <m>', 'how many must come together to unseal (2 to --shares)')
    .requiredOption('--out <dir>', 'folder for the share files, one per custodian (share-K-of-N.txt, mode 0600)')
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase to split', DEFAULT_PASSPHRASE_ENV)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe passphrase must open every active CA key, or nothing is written. The state records the ceremony (counts and a hash of each share,\n' +
        'never a share); hand each file to one custodian and delete the folder. Then start the service sealed, with no passphrase in its environment.\n\n' +
        'Example:\n  $ jinbao ceremony split --shares 5 --threshold 3 --out /media/ceremony\n  $ jinbao serve --sealed --tls-cert pki.crt --tls-key pki.key\n  $ jinbao unseal --server https://pki.jinbao.internal:8443 --server-ca root.pem --share share-2-of-5.txt',
    )
    .action(run<{ shares: string; threshold: string; out: string; passphraseEnv: string; json?: boolean }>(split));
}

async function split(ctx: Context, o: { shares: string; threshold: string; out: string; passphraseEnv: string; json?: boolean }): Promise<void> {
  const shares = parseInteger('--shares', o.shares, { min: 2, max: 255, what: 'number' });
  const threshold = parseInteger('--threshold', o.threshold, { min: 2, max: shares, what: 'number' });
  const { passphrase } = await resolvePassphrase({ env: ctx.io.env, envName: o.passphraseEnv, stateDir: ctx.stateDir });
  const r = await splitPassphrase(ctx, { passphrase, shares, threshold, outDir: o.out });
  if (o.json) return void ctx.out(json({ ceremony: { id: r.ceremony.id, shares, threshold, createdAt: r.ceremony.createdAt }, files: r.files }));
  ctx.out(`${ctx.t('ceremony.split', { id: r.ceremony.id, shares, threshold })}\n${r.files.map((f) => `  ${f}`).join('\n')}\n${ctx.t('ceremony.next')}\n`);
}
