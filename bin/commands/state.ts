import type { Command } from 'commander';
import { ExitCode } from '../../lib/errors.js';
import { json } from '../../lib/output.js';
import { migrateStore, storeStatus } from '../../orchestration/index.js';
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
  if (o.json) ctx.out(json(s));
  else {
    const lines = [`backend: ${s.backend}`, `where: ${s.where}`, 'components (version / this jinbao):'];
    for (const c of s.components) lines.push(`  ${c.name.padEnd(16)} ${String(c.version).padStart(3)} / ${c.known ?? 'unknown to this jinbao'}`);
    lines.push('tables (rows):');
    for (const t of s.tables) lines.push(`  ${t.name.padEnd(32)} ${String(t.rows).padStart(9)}`);
    const op = s.operators;
    lines.push(
      op.localOnly
        ? 'operators: none — the CLI acts as one local operator; MLPS level 3\'s administrator controls are not met (jinbao operator add)'
        : `operators: ${op.active} active; administrator roles${op.missingRoles.length === 0 ? ': all three held' : ` not held: ${op.missingRoles.join(', ')}`}${op.violations.length > 0 ? `; SEPARATION BROKEN: ${op.violations.join('; ')}` : ''}`,
    );
    lines.push(s.audit.intact ? `audit: intact, ${s.audit.entries} entries, head ${s.audit.head}` : `audit: BROKEN at entry ${s.audit.firstBroken!.seq}: ${s.audit.firstBroken!.reason}`);
    ctx.out(`${lines.join('\n')}\n`);
  }
  return s.audit.intact ? ExitCode.ok : ExitCode.complianceFailed;
}

async function migrate(ctx: Context, o: { to: string; json?: boolean }): Promise<void> {
  const r = await migrateStore(ctx, o.to, (line) => ctx.err(`${line}\n`));
  if (o.json) {
    ctx.out(json(r));
    return;
  }
  const rows = r.tables.reduce((n, t) => n + t.rows, 0);
  ctx.out(
    `migrated ${r.tables.length} tables, ${rows} rows, in ${r.seconds.toFixed(1)} s\n  from ${r.from}\n  to   ${r.to}\n` +
      `verified: row counts equal in every table, audit head ${r.auditHead} (${r.auditEntries} entries) on both sides\n` +
      `next: point every jinbao at the target (--state or JINBAO_STATE) and keep the source read-only as a backup\n`,
  );
}
