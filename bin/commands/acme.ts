import type { Command } from 'commander';
import { parseInteger } from '../../lib/options.js';
import { json, table } from '../../lib/output.js';
import { EAB_DEFAULT_VALIDITY_DAYS, listEab } from '../../pki/acme/index.js';
import { DEFAULT_PASSPHRASE_ENV, DEMO_PASSPHRASE_WARNING, demoPassphrase, resolvePassphrase } from '../../pki/index.js';
import { openPki } from '../../pki/operations.js';
import { createEabAudited } from '../../service/index.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import type { Runner } from '../runner.js';
import { inputError } from '../../lib/i18n/index.js';

export function register(program: Command, run: Runner): void {
  const acme = program.command('acme').description('ACME enrollment administration (the protocol itself is served by jinbao serve)');
  const eab = acme.command('eab').description('External Account Binding keys: every ACME account needs one');
  eab
    .command('create')
    .description('a new EAB key for one site: its ACME account may request only that site\'s DNS names')
    .requiredOption('--site <id>', 'inventory site (six-digit code) whose servers will enroll')
    .option('--application <domain>', 'the business domain its certificates serve (counts towards the MLPS level-3 indicator)')
    .option('--days <n>', 'how long the key may be used to create an account', String(EAB_DEFAULT_VALIDITY_DAYS))
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase (encrypts the HMAC key at rest)', DEFAULT_PASSPHRASE_ENV)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe HMAC key is shown once; the store keeps it encrypted under the CA passphrase. One key makes one account.\n\n' +
        'Examples:\n  $ jinbao acme eab create --site 440100\n  $ jinbao acme eab create --site 440100 --application employee-insurance --json',
    )
    .action(run<{ site: string; application?: string; days: string; passphraseEnv: string; json?: boolean }>(create));
  eab
    .command('list')
    .description('EAB keys: key id, site, application, expiry and the account that used it (never the HMAC key)')
    .option('--json', 'machine-readable output')
    .action(run<{ json?: boolean }>(list));
}

async function create(ctx: Context, o: { site: string; application?: string; days: string; passphraseEnv: string; json?: boolean }): Promise<void> {
  const validityDays = parseInteger('--days', o.days, { min: 1, max: 365, what: 'days' });
  const fabric = ctx.fabric();
  if (!fabric.findSite(o.site)) throw inputError(COMMAND_MESSAGES, 'acme.err.site', { site: o.site });
  const { passphrase, source } = await resolvePassphrase({ env: ctx.io.env, envName: o.passphraseEnv, stateDir: ctx.stateDir, demo: async () => demoPassphrase(await openPki(ctx)) });
  if (source === 'demo') ctx.err(`${DEMO_PASSPHRASE_WARNING}\n`);
  const key = await createEabAudited(ctx, passphrase, { site: o.site, validityDays, ...(o.application !== undefined ? { application: o.application } : {}) });
  if (o.json) return void ctx.out(json(key));
  ctx.out(`key id     ${key.kid}\nHMAC key   ${key.hmacKey}\nsite       ${key.site}${key.application ? `\napplication ${key.application}` : ''}\nallowed    ${key.allowedIdentifiers.join(', ')}\nexpires    ${key.expiresAt}\n`);
  ctx.out(`give both to the site's ACME client once, e.g. certbot --eab-kid ${key.kid} --eab-hmac-key <HMAC key>; the HMAC key is not shown again\n`);
}

async function list(ctx: Context, o: { json?: boolean }): Promise<void> {
  const keys = await listEab(ctx);
  if (o.json) return void ctx.out(json({ keys }));
  if (keys.length === 0) return void ctx.out('no EAB keys: create one with jinbao acme eab create --site ID\n');
  ctx.out(table(keys, [
    { header: 'key id', value: (k) => k.kid },
    { header: 'site', value: (k) => k.site },
    { header: 'application', value: (k) => k.application ?? '' },
    { header: 'expires', value: (k) => k.expiresAt.slice(0, 10) },
    { header: 'account', value: (k) => k.accountId ?? '(unused)' },
  ]));
}
