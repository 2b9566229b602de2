import type { Command } from 'commander';
import { json, table } from '../../lib/output.js';
import { createInterface } from 'node:readline/promises';
import { parseInteger } from '../../lib/options.js';
import { progress } from '../../lib/progress.js';
import { CMP_SECRET_DEFAULT_VALIDITY_DAYS } from '../../pki/cmp/index.js';
import { DEFAULT_PASSPHRASE_ENV, DEMO_PASSPHRASE_WARNING, demoPassphrase, PkiStore, resolvePassphrase } from '../../pki/index.js';
import { applySync, checkMassRevocation, enrollJoiners, enrollJoinersCmp, expiringStaffCertificates, parseWithin, importRoster, openStaff, planSync, rosterTemplate, type RosterDiff, type SyncPlan } from '../../staff/index.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import type { Runner } from '../runner.js';
import { inputError } from '../../lib/i18n/index.js';

export function register(program: Command, run: Runner): void {
  const staff = program.command('staff').description('staff certificates from HR rosters: import, sync with the certificate store, enroll joiners');
  staff
    .command('template')
    .description('print the header of a roster CSV file')
    .option('--nation', 'the header of a whole-nation roster (with a site column)')
    .addHelpText(
      'after',
      '\nColumns: staff_number, name, identity_code (GB 11643), insurance_number (may be empty), department, email (may be empty),\n' +
        'status (active or left); a whole-nation roster starts with site. Files are UTF-8 CSV. docs/staff.md has the details.\n\n' +
        'Examples:\n  $ jinbao staff template > 440100.csv\n  $ jinbao staff template --nation > nation.csv',
    )
    .action(run<{ nation?: boolean }>(template));
  staff
    .command('import')
    .description("record a site's roster (or a whole-nation roster) and print joiners, leavers and changes since the last import")
    .argument('<file>', 'roster CSV file (UTF-8)')
    .option('--site <id>', "the site whose roster the file is; without it the file is a whole-nation roster with a site column")
    .option('--dry-run', 'validate and show the difference; record nothing')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nEvery row is checked (staff number, identity code check character, duplicates, site); any problem refuses the whole\n' +
        'file with each problem and its line, exit 2, nothing recorded. Identity codes are kept hashed and masked, never printed.\n\n' +
        'Examples:\n  $ jinbao staff import --site 440100 440100.csv --dry-run\n  $ jinbao staff import nation.csv --json',
    )
    .action(run<{ site?: string; dryRun?: boolean; json?: boolean }>(importCommand));
  staff
    .command('sync')
    .description("make the site's staff certificates follow its roster: revoke leavers' certificates, re-issue changed names and numbers")
    .requiredOption('--site <id>', 'the site to sync')
    .option('--out <dir>', 'where re-issued PKCS#12 bundles and their password handouts go (needed when names or numbers changed)')
    .option('--yes', 'apply without asking (needed without a terminal)')
    .option('--confirm-mass-revocation', 'allow revoking more than --max-revocation-share of the site\'s staff certificates at once')
    .option('--max-revocation-share <percent>', 'largest share of the site\'s staff certificates one sync revokes without --confirm-mass-revocation', '20')
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase', DEFAULT_PASSPHRASE_ENV)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nLeavers (not on the roster, or status left) are revoked with reason affiliationChanged; a changed name or staff number gets a\n' +
        'new staff-auth bundle in --out, then the old certificate is revoked as superseded. Each person is audited.\n' +
        'The plan is shown first; without a terminal, --yes is required.\n\n' +
        'Examples:\n  $ jinbao staff sync --site 440100\n  $ jinbao staff sync --site 440100 --out handout-2026-12 --yes --json',
    )
    .action(run<SyncOptions>(syncCommand));
  staff
    .command('enroll')
    .description('enroll joiners without a staff-auth certificate: one-time CMP secrets for the enrollment stations (cmp), or centrally generated PKCS#12 bundles with password handouts (p12)')
    .requiredOption('--site <id>', 'the site whose joiners to enroll')
    .requiredOption('--method <method>', 'how keys reach people: cmp (each person makes their key at an enrollment station with a one-time secret) or p12 (centrally generated bundles)')
    .requiredOption('--out <dir>', 'cmp: where the stations\' CSV goes (cmp-secrets.csv); p12: where bundles (bundles/NUMBER.p12) and password handouts (handouts/NUMBER.txt) go')
    .option('--service-url <url>', 'cmp: the https:// URL the stations reach jinbao serve at (default: the --public-url jinbao serve was last started with)')
    .option('--days <n>', `cmp: how long each secret may be used, 1-90 days`, String(CMP_SECRET_DEFAULT_VALIDITY_DAYS))
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase', DEFAULT_PASSPHRASE_ENV)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\ncmp: each active person of the roster without a staff-auth certificate gets a one-time secret for their own subject\n' +
        '(CN = name, serialNumber = staff number). OUT/cmp-secrets.csv (mode 0600) has one line per person: reference, secret,\n' +
        'site, staff_number, name, profile, subject (as openssl cmp -subject takes it), expires_at, cmp_url. A station enrolls\n' +
        'the person with: openssl cmp -cmd ir -server CMP_URL -tls_used -tls_trusted root.pem -ref REFERENCE\n' +
        '  -secret pass:SECRET -newkey key.pem -subject SUBJECT -certout cert.pem\n' +
        'Someone whose secret is still unused is not given another; once it expires, the next run gives a new one.\n\n' +
        'Resumable (both methods): people who already hold a staff-auth certificate are skipped, and what an interrupted run\n' +
        'left half-written is finished (recorded) or removed (not recorded) before anyone is enrolled.\n\n' +
        'Examples:\n  $ jinbao staff enroll --site 440100 --method cmp --out stations-2026-12\n' +
        '  $ jinbao staff enroll --site 440100 --method cmp --out stations-2026-12 --service-url https://pki.gd.jinbao.internal:8443 --days 14\n' +
        '  $ jinbao staff enroll --site 440100 --method p12 --out handout-2026-12',
    )
    .action(run<EnrollOptions>(enrollCommand));
  staff
    .command('expiring')
    .description('staff certificates whose validity ends soon, and whether their holders are still on the roster')
    .option('--within <days>', 'how far ahead to look, in days (such as 30d)', '30d')
    .option('--site <id>', 'only this site')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nRenewal is the holder\'s own CMP kur, signed with the certificate being renewed; the service accepts it at any time\n' +
        'while the holder is active on the roster, and moves them to the successor of a rolled-over CA. --json is what a\n' +
        'reminder job or an enrollment station reads: per certificate the holder, email, days left, renewable (false for\n' +
        'someone who left the roster: staff sync revokes instead), the CA a renewal comes from (renewsFrom) and the CMP URL.\n\n' +
        'Examples:\n  $ jinbao staff expiring --within 30d\n  $ jinbao staff expiring --within 60d --site 440100 --json',
    )
    .action(run<{ within: string; site?: string; json?: boolean }>(expiringCommand));
}

async function expiringCommand(ctx: Context, opts: { within: string; site?: string; json?: boolean }): Promise<void> {
  const days = parseWithin(opts.within);
  const list = ctx.hasStore() ? await expiringStaffCertificates(ctx, { days, ...(opts.site !== undefined ? { site: opts.site } : {}) }) : [];
  if (opts.json) {
    ctx.out(json({ generatedAt: new Date().toISOString(), withinDays: days, certificates: list }));
    return;
  }
  ctx.out(`${ctx.t('staff.expiring.summary', { count: list.length, days })}\n`);
  if (!list.length) return;
  const roster = (v: boolean | null) => ctx.t(v === null ? 'staff.expiring.noRoster' : v ? 'staff.expiring.onRoster' : 'staff.expiring.notOnRoster');
  ctx.out(
    table(list, [
      { header: ctx.t('staff.expiring.col.notAfter'), value: (c) => c.notAfter.slice(0, 10) },
      { header: ctx.t('staff.expiring.col.days'), value: (c) => c.daysLeft, align: 'right' },
      { header: ctx.t('staff.expiring.col.site'), value: (c) => c.site },
      { header: ctx.t('staff.expiring.col.staffNumber'), value: (c) => c.staffNumber },
      { header: ctx.t('staff.expiring.col.name'), value: (c) => c.name },
      { header: ctx.t('staff.expiring.col.profile'), value: (c) => c.profile },
      { header: ctx.t('staff.expiring.col.serial'), value: (c) => c.serial },
      { header: ctx.t('staff.expiring.col.roster'), value: (c) => roster(c.onRoster) },
    ]),
  );
}

interface SyncOptions {
  site: string;
  out?: string;
  yes?: boolean;
  confirmMassRevocation?: boolean;
  maxRevocationShare: string;
  passphraseEnv: string;
  json?: boolean;
}

interface EnrollOptions {
  site: string;
  method: string;
  out: string;
  serviceUrl?: string;
  days: string;
  passphraseEnv: string;
  json?: boolean;
}

/** The CA passphrase, asked for only when something is to be signed. */
function passphraseOf(ctx: Context, pki: PkiStore, envName: string): () => Promise<string> {
  return async () => {
    const r = await resolvePassphrase({ env: ctx.io.env, envName, stateDir: ctx.stateDir, demo: () => demoPassphrase(pki), tty: { input: process.stdin, output: ctx.io.stderr } });
    if (r.source === 'demo') ctx.err(`${DEMO_PASSPHRASE_WARNING}\n`);
    return r.passphrase;
  };
}

function parseShare(value: string): number {
  const n = Number(value.replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) throw inputError(COMMAND_MESSAGES, 'staff.err.maxShare', { value });
  return n / 100;
}

async function syncCommand(ctx: Context, opts: SyncOptions): Promise<void> {
  const fabric = ctx.fabric();
  const maxShare = parseShare(opts.maxRevocationShare);
  const db = await ctx.database();
  const pki = await PkiStore.open(db, ctx.stateDir);
  const plan = await planSync(await openStaff(ctx), pki, fabric, opts.site);
  if (!opts.json) ctx.out(renderPlan(ctx, plan));
  const nothing = plan.revoke.length + plan.reissue.length + plan.supersede.length === 0;
  if (nothing) {
    if (opts.json) ctx.out(json({ plan, revoked: [], issued: [] }));
    return;
  }
  checkMassRevocation(plan, maxShare, opts.confirmMassRevocation === true);
  if (!opts.yes) {
    if (!process.stdin.isTTY || !ctx.io.stderr.isTTY) throw inputError(COMMAND_MESSAGES, 'staff.err.noTerminal', { site: plan.site });
    const rl = createInterface({ input: process.stdin, output: ctx.io.stderr });
    const answer = await rl.question(ctx.t('staff.sync.ask'));
    rl.close();
    if (!/^(y|yes|是)$/i.test(answer.trim())) {
      ctx.out(`${ctx.t('staff.sync.cancelled')}\n`);
      return;
    }
  }
  const result = await applySync(ctx, fabric, plan, {
    site: opts.site,
    passphrase: passphraseOf(ctx, pki, opts.passphraseEnv),
    ...(opts.out !== undefined ? { out: opts.out } : {}),
    confirmMassRevocation: opts.confirmMassRevocation === true,
    maxShare,
  });
  if (opts.json) {
    ctx.out(json(result));
    return;
  }
  ctx.out(`${ctx.t('staff.sync.done', { revoked: result.revoked.length, issued: result.issued.length, site: plan.site })}\n`);
}

function renderPlan(ctx: Context, plan: SyncPlan): string {
  const lines = [ctx.t('staff.sync.plan', { site: plan.site, certificates: plan.staffCertificates, revoke: plan.revoke.length, reissue: plan.reissue.length, supersede: plan.supersede.length, share: (plan.share * 100).toFixed(1) })];
  const list = <T>(items: readonly T[], line: (x: T) => string) => {
    for (const x of items.slice(0, LISTED)) lines.push(`  ${line(x)}`);
    if (items.length > LISTED) lines.push(`  ${ctx.t('staff.import.more', { n: items.length - LISTED })}`);
  };
  list(plan.revoke, (a) => `${ctx.t('staff.sync.revoke')} ${a.serial} ${a.staffNumber} ${a.certificateName} (affiliationChanged)`);
  list(plan.reissue, (a) => `${ctx.t('staff.sync.reissue')} ${a.serial} ${a.staffNumber} ${a.certificateName} → ${a.newNumber} ${a.name} (superseded)`);
  list(plan.supersede, (a) => `${ctx.t('staff.sync.supersede')} ${a.serial} ${a.staffNumber} ${a.certificateName} (superseded)`);
  return `${lines.join('\n')}\n`;
}

/** The certificate service's public URL: --service-url, else the one jinbao serve recorded; https:// without a path. */
async function serviceUrlOf(pki: PkiStore, given: string | undefined): Promise<string> {
  const url = given ?? (await pki.servicePublicUrl());
  if (url === undefined) throw inputError(COMMAND_MESSAGES, 'staff.err.noServiceUrl');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || parsed.protocol !== 'https:' || parsed.pathname !== '/' || parsed.search || parsed.hash) throw inputError(COMMAND_MESSAGES, 'staff.err.serviceUrl', { url });
  return url.replace(/\/+$/, '');
}

async function enrollCommand(ctx: Context, opts: EnrollOptions): Promise<void> {
  if (opts.method !== 'p12' && opts.method !== 'cmp') throw inputError(COMMAND_MESSAGES, 'staff.err.method', { method: opts.method });
  if (opts.method === 'cmp') return enrollCmp(ctx, opts);
  if (opts.serviceUrl !== undefined) throw inputError(COMMAND_MESSAGES, 'staff.err.serviceUrlP12');
  const fabric = ctx.fabric();
  const pki = await PkiStore.open(await ctx.database(), ctx.stateDir);
  let bar: ReturnType<typeof progress> | undefined;
  const result = await enrollJoiners(ctx, fabric, {
    site: opts.site,
    out: opts.out,
    passphrase: passphraseOf(ctx, pki, opts.passphraseEnv),
    progress: (done, total) => {
      bar ??= progress(ctx.io.stderr, total, ctx.t('staff.enroll.progress', { site: opts.site }));
      bar.update(done);
    },
  });
  bar?.done();
  if (opts.json) {
    ctx.out(json(result));
    return;
  }
  ctx.out(`${ctx.t('staff.enroll.done', { site: result.site, enrolled: result.enrolled.length, holding: result.alreadyHolding, recovered: result.recovered.length, out: opts.out })}\n`);
}

async function enrollCmp(ctx: Context, opts: EnrollOptions): Promise<void> {
  const days = parseInteger('--days', opts.days, { min: 1, max: 90, what: 'days' });
  const fabric = ctx.fabric();
  const pki = await PkiStore.open(await ctx.database(), ctx.stateDir);
  const serviceUrl = await serviceUrlOf(pki, opts.serviceUrl);
  let bar: ReturnType<typeof progress> | undefined;
  const result = await enrollJoinersCmp(ctx, fabric, {
    site: opts.site,
    out: opts.out,
    serviceUrl,
    validityDays: days,
    passphrase: passphraseOf(ctx, pki, opts.passphraseEnv),
    progress: (done, total) => {
      bar ??= progress(ctx.io.stderr, total, ctx.t('staff.enroll.cmpProgress', { site: opts.site }));
      bar.update(done);
    },
  });
  bar?.done();
  if (opts.json) return void ctx.out(json(result));
  ctx.out(`${ctx.t('staff.enroll.cmpDone', { site: result.site, created: result.created.length, file: result.file, days, url: result.cmpUrl, pending: result.pending.length, holding: result.alreadyHolding, recovered: result.recovered.length })}\n`);
  if (result.created.length) ctx.out(`${ctx.t('staff.enroll.cmpStation')}\n`);
}

async function template(ctx: Context, opts: { nation?: boolean }): Promise<void> {
  ctx.out(rosterTemplate(opts.nation === true));
}

/** People listed per kind and site; --json lists all. */
const LISTED = 20;

async function importCommand(ctx: Context, opts: { site?: string; dryRun?: boolean; json?: boolean }, args: readonly string[]): Promise<void> {
  const fabric = ctx.fabric();
  const result = await importRoster(ctx, fabric, { file: args[0]!, ...(opts.site !== undefined ? { site: opts.site } : {}), dryRun: opts.dryRun === true });
  if (opts.json) {
    ctx.out(json(result));
    return;
  }
  ctx.out(`${ctx.t(result.applied ? 'staff.import.applied' : 'staff.import.dryRun', { file: result.file, rows: result.rows, sites: result.sites.length })}\n`);
  for (const d of result.sites) ctx.out(renderDiff(ctx, d));
}

function renderDiff(ctx: Context, d: RosterDiff): string {
  const lines = [ctx.t(d.first ? 'staff.import.siteFirst' : 'staff.import.site', { site: d.site, total: d.total, joiners: d.joiners.length, leavers: d.leavers.length, changed: d.changed.length, unchanged: d.unchanged })];
  const list = <T>(items: readonly T[], line: (x: T) => string) => {
    for (const x of items.slice(0, LISTED)) lines.push(`  ${line(x)}`);
    if (items.length > LISTED) lines.push(`  ${ctx.t('staff.import.more', { n: items.length - LISTED })}`);
  };
  list(d.joiners, (p) => `+ ${p.staffNumber} ${p.name}`);
  list(d.leavers, (p) => `- ${p.staffNumber} ${p.name}`);
  list(d.changed, (c) => `~ ${c.staffNumber} ${c.name}: ${c.fields.join(', ')}${c.previousNumber ? ` (${ctx.t('staff.import.was', { number: c.previousNumber })})` : ''}`);
  return `${lines.join('\n')}\n`;
}
