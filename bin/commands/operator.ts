import type { Command } from 'commander';
import { parseInteger } from '../../lib/options.js';
import { json, table } from '../../lib/output.js';
import { addOperator, changeOperator, listOperators, loginStates, ROLES, setOperatorPassword, showOperator, unlockOperator, type Operator } from '../../operators/index.js';
import { DEFAULT_PASSPHRASE_ENV, DEMO_PASSPHRASE_WARNING, demoPassphrase, resolvePassphrase } from '../../pki/index.js';
import { openPki } from '../../pki/operations.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

interface AddOptions {
  name: string;
  staffNumber: string;
  role: string;
  scope?: string;
  out: string;
  days: string;
  passphraseEnv: string;
  json?: boolean;
}

export function register(program: Command, run: Runner): void {
  const op = program
    .command('operator')
    .description('the people who administer jinbao: roles (MLPS level 3\'s three administrators and more), scopes and their operator certificates');
  op.command('add')
    .description('create an operator and issue their operator certificate (PKCS#12 bundle and its password in a separate file)')
    .requiredOption('--name <name>', 'the person\'s name as on their staff record (the certificate\'s CN)')
    .requiredOption('--staff-number <number>', 'their staff number (the certificate\'s serialNumber); one number is one person')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--scope <province>', 'a province\'s site id the operator acts on (default: the whole nation)')
    .requiredOption('--out <dir>', 'folder for the bundle, its password file, the certificate and its chain')
    .option('--days <n>', 'validity of the operator certificate', '365')
    .option('--passphrase-env <name>', 'environment variable holding the CA key passphrase', DEFAULT_PASSPHRASE_ENV)
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nOne person holds at most one of system-admin, security-admin and audit-admin, and a security-admin holds no other role (MLPS 8.1.5, 8.1.7.2).\n' +
        'The key is generated here and leaves only inside the bundle; hand the password file over separately.\n\n' +
        'Examples:\n  $ jinbao operator add --name 张伟 --staff-number 100234 --role security-admin --out ./ops\n' +
        '  $ jinbao operator add --name 李娜 --staff-number 440017 --role security-admin --scope 440000 --out ./ops --json',
    )
    .action(run<AddOptions>(add));
  op.command('list')
    .description('operators in force: role, scope, status, certificate')
    .option('--all', 'also removed operators')
    .option('--json', 'machine-readable output')
    .action(run<{ all?: boolean; json?: boolean }>(list));
  op.command('show <id>')
    .description('one operator by id, or every role of a staff number')
    .option('--json', 'machine-readable output')
    .action(run<{ json?: boolean }>((ctx, o, args) => show(ctx, o, args[0]!)));
  op.command('unlock <id>')
    .description('unlock an operator locked after too many wrong passwords (clears the failed-login count)')
    .option('--json', 'machine-readable output')
    .action(run<{ json?: boolean }>((ctx, o, args) => unlock(ctx, o, args[0]!)));
  op.command('password <id>')
    .description('set an operator\'s service password, the second factor beside their certificate: from JINBAO_NEW_OPERATOR_PASSWORD, else a new random one shown once')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nOnly a slow hash (scrypt) is kept. Setting a password does not unlock a locked operator (jinbao operator unlock).\n\nExample:\n  $ JINBAO_NEW_OPERATOR_PASSWORD=\'…\' jinbao operator password op-3f2a9c01d4')
    .action(run<{ json?: boolean }>((ctx, o, args) => password(ctx, o, args[0]!)));
  for (const change of ['suspend', 'resume', 'remove'] as const) {
    const what = {
      suspend: 'suspend an operator (kept, acts on nothing until resumed)',
      resume: 'resume a suspended operator',
      remove: 'remove an operator for good and revoke their operator certificate (cessationOfOperation)',
    }[change];
    op.command(`${change} <id>`)
      .description(what)
      .option('--json', 'machine-readable output')
      .action(run<{ json?: boolean }>((ctx, o, args) => changeOne(ctx, o, args[0]!, change)));
  }
}

async function add(ctx: Context, o: AddOptions): Promise<void> {
  const validityDays = parseInteger('--days', o.days, { min: 1, max: 730, what: 'days' });
  const fabric = ctx.fabric();
  const { passphrase, source } = await resolvePassphrase({ env: ctx.io.env, envName: o.passphraseEnv, stateDir: ctx.stateDir, demo: async () => demoPassphrase(await openPki(ctx)) });
  if (source === 'demo') ctx.err(`${DEMO_PASSPHRASE_WARNING}\n`);
  const added = await addOperator(ctx, fabric, {
    name: o.name,
    staffNumber: o.staffNumber,
    role: o.role,
    ...(o.scope !== undefined ? { scope: o.scope } : {}),
    outDir: o.out,
    passphrase,
    validityDays,
  });
  if (o.json) return void ctx.out(json(added));
  const a = added.operator;
  ctx.out(`${ctx.t('operator.added', { id: a.id, name: a.name, staffNumber: a.staffNumber, role: a.role, scope: a.scope ?? ctx.t('operator.nation'), serial: a.certificateSerial, ca: a.caId })}\n`);
  ctx.out(`${ctx.t('operator.files', { p12: added.files.p12, password: added.files.password, login: added.files.loginPassword, id: a.id })}\n`);
}

function rows(ctx: Context, ops: readonly Operator[]): string {
  return table(ops, [
    { header: ctx.t('operator.col.id'), value: (o) => o.id },
    { header: ctx.t('operator.col.name'), value: (o) => o.name },
    { header: ctx.t('operator.col.staffNumber'), value: (o) => o.staffNumber },
    { header: ctx.t('operator.col.role'), value: (o) => o.role },
    { header: ctx.t('operator.col.scope'), value: (o) => o.scope ?? ctx.t('operator.nation') },
    { header: ctx.t('operator.col.status'), value: (o) => ctx.t(`operator.status.${o.status}`) },
    { header: ctx.t('operator.col.certificate'), value: (o) => o.certificateSerial },
    { header: ctx.t('operator.col.expires'), value: (o) => o.notAfter.slice(0, 10) },
  ]);
}

async function list(ctx: Context, o: { all?: boolean; json?: boolean }): Promise<void> {
  const ops = await listOperators(ctx, o.all ? { all: true } : {});
  if (o.json) return void ctx.out(json({ operators: ops }));
  if (ops.length === 0) return void ctx.out(`${ctx.t('operator.none')}\n`);
  ctx.out(rows(ctx, ops));
}

async function show(ctx: Context, o: { json?: boolean }, id: string): Promise<void> {
  const ops = await showOperator(ctx, id);
  const logins = await loginStates(ctx, ops.map((x) => x.id));
  if (o.json) return void ctx.out(json({ operators: ops.map((x) => ({ ...x, login: logins.get(x.id) })) }));
  ctx.out(rows(ctx, ops));
  for (const x of ops) {
    const l = logins.get(x.id)!;
    const line = !l.passwordSet ? ctx.t('operator.login.noPassword', { id: x.id }) : l.lockedAt ? ctx.t('operator.login.locked', { id: x.id, at: l.lockedAt, failed: l.failedLogins }) : ctx.t('operator.login.ok', { id: x.id, at: l.passwordSetAt ?? '', failed: l.failedLogins });
    ctx.out(`${line}\n`);
  }
}

async function changeOne(ctx: Context, o: { json?: boolean }, id: string, change: 'suspend' | 'resume' | 'remove'): Promise<void> {
  const changed = await changeOperator(ctx, id, change);
  if (o.json) return void ctx.out(json({ operator: changed }));
  ctx.out(`${ctx.t(`operator.changed.${change}`, { id: changed.id, name: changed.name, role: changed.role, serial: changed.certificateSerial })}\n`);
}

async function unlock(ctx: Context, o: { json?: boolean }, id: string): Promise<void> {
  const r = await unlockOperator(ctx, id);
  if (o.json) return void ctx.out(json(r));
  ctx.out(`${ctx.t('operator.unlocked', { id: r.operator.id, name: r.operator.name, role: r.operator.role, failed: r.failedLogins, at: r.lockedAt })}\n`);
}

async function password(ctx: Context, o: { json?: boolean }, id: string): Promise<void> {
  const chosen = ctx.io.env.JINBAO_NEW_OPERATOR_PASSWORD;
  const r = await setOperatorPassword(ctx, id, chosen ? { password: chosen } : {});
  if (o.json) return void ctx.out(json({ operator: r.operator, ...(r.generated ? { password: r.password } : {}) }));
  const who = { id: r.operator.id, name: r.operator.name, role: r.operator.role };
  ctx.out(`${r.generated ? ctx.t('operator.passwordGenerated', { ...who, password: r.password }) : ctx.t('operator.passwordSet', who)}\n`);
}
