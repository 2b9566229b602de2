import type { Command } from 'commander';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { parseInteger } from '../../lib/options.js';
import { json, table } from '../../lib/output.js';
import { CMP_SECRET_DEFAULT_VALIDITY_DAYS, createCmpSecrets, listCmpSecrets, revokeCmpSecret, type CreatedSecret, type SecretRequest } from '../../pki/cmp/index.js';
import { DEFAULT_PASSPHRASE_ENV, DEMO_PASSPHRASE_WARNING, demoPassphrase, resolvePassphrase } from '../../pki/index.js';
import { openPki } from '../../pki/operations.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import type { Runner } from '../runner.js';
import { inputError } from '../../lib/i18n/index.js';

interface CreateOptions {
  site?: string;
  profile: string;
  subject?: string;
  identityCode?: string;
  insuranceNumber?: string;
  days: string;
  csv?: string;
  out?: string;
  publicUrl?: string;
  passphraseEnv: string;
  json?: boolean;
}

export function register(program: Command, run: Runner): void {
  const cmp = program.command('cmp').description('CMP staff enrollment administration (the protocol itself is served by jinbao serve at /cmp/<site>)');
  const secret = cmp.command('secret').description('one-time enrollment secrets: a reference and a secret that let one person enroll their own key once');
  secret
    .command('create')
    .description('a one-time secret for one person (or, with --csv, for every person of a list)')
    .option('--site <id>', 'inventory site (six-digit code) the person belongs to; with --csv, for rows without a site column')
    .option('--profile <name>', 'staff-auth or staff-sign', 'staff-auth')
    .option('--subject <dn>', 'the certificate subject, "CN=张三, serialNumber=S0001" or OpenSSL\'s "/CN=张三/serialNumber=S0001" (O and C come from the site)')
    .option('--identity-code <id>', 'GM/T 0015 resident identity number, carried by the certificate')
    .option('--insurance-number <n>', 'GM/T 0015 social-insurance number, carried by the certificate')
    .option('--days <n>', 'how long the secret may be used', String(CMP_SECRET_DEFAULT_VALIDITY_DAYS))
    .option('--csv <file>', 'people to create secrets for: a header line with subject and optionally site, profile, identity_code, insurance_number, days')
    .option('--out <file>', 'with --csv: where the references and secrets go (CSV, created with mode 0600; must not exist)')
    .option('--public-url <url>', 'the URL jinbao serve is reached at, to print the CMP URL (default: the --public-url jinbao serve was last started with, else https://127.0.0.1:8443)')
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase (encrypts the secret at rest)', DEFAULT_PASSPHRASE_ENV)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe secret is shown once; the store keeps it encrypted under the CA passphrase. One secret enrolls one key (ir or p10cr),\n' +
        'until it expires or is revoked. The person enrolls with, e.g.:\n' +
        '  openssl cmp -cmd ir -server HOST:PORT -path cmp/440100 -tls_used -tls_trusted root.pem -ref REF -secret pass:SECRET \\\n' +
        '    -newkey key.pem -subject "/CN=张三/serialNumber=S0001" -certout cert.pem\n\n' +
        'Examples:\n  $ jinbao cmp secret create --site 440100 --subject "CN=张三, serialNumber=S0001" --identity-code 11010519491231002X\n' +
        '  $ jinbao cmp secret create --site 440100 --csv people.csv --out secrets.csv',
    )
    .action(run<CreateOptions>(create));
  secret
    .command('list')
    .description('secrets: reference, site, subject, state (unused, used, expired, revoked) and the certificate it enrolled (never the secret)')
    .option('--json', 'machine-readable output')
    .action(run<{ json?: boolean }>(list));
  secret
    .command('revoke')
    .description('an unused secret can no longer enroll')
    .argument('<reference>', 'the reference printed by cmp secret create')
    .option('--json', 'machine-readable output')
    .action(run<{ json?: boolean }>(revoke));
}

/** A small RFC 4180 reader: quoted fields, doubled quotes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const src = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (quoted) {
      if (ch === '"' && src[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && src[i + 1] === '\n') i++;
      row.push(field);
      field = '';
      if (row.some((c) => c.trim() !== '')) rows.push(row);
      row = [];
    } else field += ch;
  }
  if (quoted) throw inputError(COMMAND_MESSAGES, 'cmp.err.csvQuote');
  row.push(field);
  if (row.some((c) => c.trim() !== '')) rows.push(row);
  return rows;
}

const CSV_COLUMNS = ['subject', 'site', 'profile', 'identity_code', 'insurance_number', 'days'] as const;

function csvRequests(file: string, o: CreateOptions): SecretRequest[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw inputError(COMMAND_MESSAGES, 'cmp.err.csvRead', { file, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
  }
  const [head, ...rows] = parseCsv(text);
  if (!head) throw inputError(COMMAND_MESSAGES, 'cmp.err.csvEmpty', { file });
  const cols = head.map((h) => h.trim().toLowerCase());
  const unknown = cols.filter((c) => !(CSV_COLUMNS as readonly string[]).includes(c));
  if (unknown.length) throw inputError(COMMAND_MESSAGES, 'cmp.err.csvColumns', { file, got: unknown.join(', '), want: CSV_COLUMNS.join(', ') });
  if (!cols.includes('subject')) throw inputError(COMMAND_MESSAGES, 'cmp.err.csvNoSubject', { file });
  if (rows.length === 0) throw inputError(COMMAND_MESSAGES, 'cmp.err.csvNoRows', { file });
  return rows.map((r, i) => {
    if (r.length !== cols.length) throw inputError(COMMAND_MESSAGES, 'cmp.err.csvFields', { file, line: i + 2, got: r.length, want: cols.length });
    const v = (c: string) => {
      const x = r[cols.indexOf(c)]?.trim();
      return x === undefined || x === '' ? undefined : x;
    };
    const site = v('site') ?? o.site;
    if (site === undefined) throw inputError(COMMAND_MESSAGES, 'cmp.err.csvNoSite', { file, line: i + 2 });
    const days = v('days');
    return {
      site,
      profile: v('profile') ?? o.profile,
      subject: v('subject') ?? '',
      ...(v('identity_code') !== undefined ? { identityCode: v('identity_code')! } : {}),
      ...(v('insurance_number') !== undefined ? { insuranceNumber: v('insurance_number')! } : {}),
      validityDays: days === undefined ? parseInteger('--days', o.days, { min: 1, max: 90, what: 'days' }) : parseInteger(`--csv line ${i + 2} days`, days, { min: 1, max: 90, what: 'days' }),
    };
  });
}

const csvField = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

function cmpUrl(publicUrl: string, site: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/cmp/${site}`;
}

async function create(ctx: Context, o: CreateOptions): Promise<void> {
  let requests: SecretRequest[];
  if (o.csv !== undefined) {
    if (o.subject !== undefined || o.identityCode !== undefined || o.insuranceNumber !== undefined) throw inputError(COMMAND_MESSAGES, 'cmp.err.csvWithSingle');
    if (o.out === undefined) throw inputError(COMMAND_MESSAGES, 'cmp.err.csvNoOut');
    if (existsSync(o.out)) throw inputError(COMMAND_MESSAGES, 'cmp.err.outExists', { file: o.out });
    requests = csvRequests(o.csv, o);
  } else {
    if (o.out !== undefined) throw inputError(COMMAND_MESSAGES, 'cmp.err.outWithoutCsv');
    if (o.site === undefined) throw inputError(COMMAND_MESSAGES, 'cmp.err.noSite');
    if (o.subject === undefined) throw inputError(COMMAND_MESSAGES, 'cmp.err.noSubject');
    requests = [{ site: o.site, profile: o.profile, subject: o.subject, ...(o.identityCode !== undefined ? { identityCode: o.identityCode } : {}), ...(o.insuranceNumber !== undefined ? { insuranceNumber: o.insuranceNumber } : {}), validityDays: parseInteger('--days', o.days, { min: 1, max: 90, what: 'days' }) }];
  }
  const { passphrase, source } = await resolvePassphrase({ env: ctx.io.env, envName: o.passphraseEnv, stateDir: ctx.stateDir, demo: async () => demoPassphrase(await openPki(ctx)) });
  if (source === 'demo') ctx.err(`${DEMO_PASSPHRASE_WARNING}\n`);
  const out = o.csv !== undefined ? o.out! : undefined;
  const tmp = out !== undefined ? `${out}.${process.pid}.tmp` : undefined;
  const created: CreatedSecret[] = await createCmpSecrets(ctx, ctx.fabric(), passphrase, requests);
  const publicUrl = o.publicUrl ?? (await (await openPki(ctx)).servicePublicUrl()) ?? 'https://127.0.0.1:8443';
  const withUrl = created.map((s) => ({ ...s, cmpUrl: cmpUrl(publicUrl, s.site) }));
  if (out !== undefined && tmp !== undefined) {
    const lines = ['reference,secret,site,profile,subject,expires_at,cmp_url', ...withUrl.map((s) => [s.reference, s.secret, s.site, s.profile, s.subject, s.expiresAt, s.cmpUrl].map(csvField).join(','))];
    try {
      writeFileSync(tmp, `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, out);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw inputError(COMMAND_MESSAGES, 'cmp.err.outWrite', { file: out, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message, count: created.length }, { cause: err });
    }
    if (o.json) return void ctx.out(json({ file: out, secrets: withUrl.map(({ secret: _secret, ...rest }) => rest) }));
    return void ctx.out(`${ctx.t('cmp.bulkCreated', { count: created.length, file: out })}\n`);
  }
  const s = withUrl[0]!;
  if (o.json) return void ctx.out(json(s));
  ctx.out(`${ctx.t('cmp.created', { reference: s.reference, secret: s.secret, site: s.site, profile: s.profile, subject: s.subject, expiresAt: s.expiresAt, url: s.cmpUrl })}\n`);
}

async function list(ctx: Context, o: { json?: boolean }): Promise<void> {
  const secrets = await listCmpSecrets(ctx);
  if (o.json) return void ctx.out(json({ secrets }));
  if (secrets.length === 0) return void ctx.out(`${ctx.t('cmp.none')}\n`);
  ctx.out(table(secrets, [
    { header: ctx.t('cmp.col.reference'), value: (s) => s.reference },
    { header: ctx.t('cmp.col.site'), value: (s) => s.site },
    { header: ctx.t('cmp.col.profile'), value: (s) => s.profile },
    { header: ctx.t('cmp.col.subject'), value: (s) => s.subject },
    { header: ctx.t('cmp.col.state'), value: (s) => ctx.t(`cmp.state.${s.state}`) },
    { header: ctx.t('cmp.col.expires'), value: (s) => s.expiresAt.slice(0, 16).replace('T', ' ') },
    { header: ctx.t('cmp.col.certificate'), value: (s) => s.serial ?? '' },
  ]));
}

async function revoke(ctx: Context, o: { json?: boolean }, args: string[]): Promise<void> {
  const r = await revokeCmpSecret(ctx, args[0]!);
  if (o.json) return void ctx.out(json({ revoked: r }));
  ctx.out(`${ctx.t('cmp.revoked', { reference: r.reference, subject: r.subject })}\n`);
}
