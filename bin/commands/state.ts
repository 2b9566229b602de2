import type { Command } from 'commander';
import { ExitCode } from '../../lib/errors.js';
import { json } from '../../lib/output.js';
import type { Translate } from '../../lib/i18n/index.js';
import { chainBreak } from '../../lib/audit.js';
import type { Separation } from '../../operators/index.js';
import { migrateStore, storeStatus, type MigrateResult, type StateStatus } from '../../orchestration/index.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  const state = program.command('state').description('the state store itself: what is in it, and moving it from SQLite to a shared PostgreSQL database');
  state
    .command('status')
    .description('backend and where, schema version of each component, rows per table, the audit head hash (exit 3 when the chain is broken)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe state is --state (or JINBAO_STATE): a directory for the embedded SQLite store, or a\n' +
        'postgresql:// URL for the shared one (no password in it: PGPASSWORD, ~/.pgpass or a client certificate).\n' +
        '\nExamples:\n  $ jinbao state status\n' +
        '  $ jinbao --state "postgresql://jinbao_state@db.example/jinbao?sslmode=verify-full&sslrootcert=/etc/jinbao/db-ca.pem" state status --json',
    )
    .action(run<{ json?: boolean }>(status));
  state
    .command('migrate')
    .description('copy everything from the current --state into an empty store (a PostgreSQL database or a new directory) and verify it')
    .requiredOption('--to <url|dir>', 'the empty target: postgresql://… (no password in it) or a new directory')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nThe copy is one transaction on the target; before COMMIT it compares the row count of every table\n' +
        'and the audit head hash on both sides. A source that fails `jinbao audit verify`, or a target that\n' +
        'is not empty, is refused. Writers of the source wait while it is read (SQLite) or are not seen\n' +
        '(PostgreSQL snapshot): stop them first, then point every jinbao at the target. If the copy is\n' +
        'interrupted, the target is refused by every jinbao until this command runs again; the source is\n' +
        'never written. CA keys are copied encrypted, as they are stored.\n' +
        '\nExample:\n  $ jinbao --state /var/lib/jinbao state migrate --to "postgresql://jinbao_state@db.example/jinbao?sslmode=verify-full&sslrootcert=/etc/jinbao/db-ca.pem"',
    )
    .action(run<{ to: string; json?: boolean }>(migrate));
}

async function status(ctx: Context, o: { json?: boolean }): Promise<number> {
  const s = await storeStatus(ctx);
  const broken = s.audit.firstBroken;
  // --json: the English reason; for people, the reason in their language
  const shown = broken ? { ...s, audit: { ...s.audit, firstBroken: chainBreak(broken, o.json ? undefined : ctx.lang) } } : s;
  ctx.out(o.json ? json(shown) : statusText(shown, ctx.t));
  return s.audit.intact ? ExitCode.ok : ExitCode.complianceFailed;
}

async function migrate(ctx: Context, o: { to: string; json?: boolean }): Promise<void> {
  const r = await migrateStore(ctx, o.to, (line) => ctx.err(`${line}\n`));
  ctx.out(o.json ? json(r) : migratedText(r, ctx.t));
}

/** `state status` for people, in the language of `t`. */
export function statusText(s: StateStatus & { readonly operators: Separation }, t: Translate): string {
  const lines = [t('state.status.backend', { backend: s.backend }), t('state.status.where', { where: s.where }), t('state.status.components')];
  for (const c of s.components) lines.push(`  ${c.name.padEnd(16)} ${String(c.version).padStart(3)} / ${c.known ?? t('state.status.unknownComponent')}`);
  lines.push(t('state.status.tables'));
  for (const table of s.tables) lines.push(`  ${table.name.padEnd(32)} ${String(table.rows).padStart(9)}`);
  const op = s.operators;
  lines.push(
    op.localOnly
      ? t('state.status.operatorsLocalOnly')
      : t('state.status.operators', {
          active: op.active,
          roles: op.missingRoles.length === 0 ? t('state.status.rolesHeld') : t('state.status.rolesNotHeld', { roles: op.missingRoles.join(t('state.status.roleSeparator')) }),
          separation: op.violations.length > 0 ? t('state.status.separationBroken', { violations: op.violations.join(t('state.status.violationSeparator')) }) : '',
        }),
  );
  lines.push(
    s.audit.intact
      ? t('state.status.auditIntact', { entries: s.audit.entries, head: s.audit.head })
      : t('state.status.auditBroken', { seq: s.audit.firstBroken!.seq, reason: s.audit.firstBroken!.reason }),
  );
  return `${lines.join('\n')}\n`;
}

/** The summary `state migrate` ends with, in the language of `t` (its progress went to stderr). */
export function migratedText(r: MigrateResult, t: Translate): string {
  const rows = r.tables.reduce((n, table) => n + table.rows, 0);
  const lines = [
    t('state.migrated.summary', { tables: r.tables.length, rows, seconds: r.seconds.toFixed(1) }),
    t('state.migrated.from', { from: r.from }),
    t('state.migrated.to', { to: r.to }),
    t('state.migrated.verified', { head: r.auditHead, entries: r.auditEntries }),
    t('state.migrated.next'),
  ];
  return `${lines.join('\n')}\n`;
}
