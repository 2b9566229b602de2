import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { chainBreak, readAudit, verifyAudit } from '../../lib/audit.js';
import { ExitCode } from '../../lib/errors.js';
import { auditCsv, auditRecord } from '../../service/index.js';
import { inputError, jinbaoError } from '../../lib/i18n/index.js';
import { parseChoice, parseIsoDate } from '../../lib/options.js';
import { json } from '../../lib/output.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  const audit = program.command('audit').description('the hash-chained audit log of every state change and refused request: verify it, export it');
  audit
    .command('verify')
    .description('walk the hash chain; names the first entry that was altered, removed or reordered (exit 3 when broken)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nPublish the printed head hash (e.g. daily) so that truncating the newest entries is detectable too.\n\nExample:\n  $ jinbao audit verify')
    .action(run<{ json?: boolean }>(verify));
  audit
    .command('export')
    .description('write the log for auditors: JSON lines (default), CSV or one JSON document; each record names the operator (certificate subject and serial), role, scope, source address, event type, outcome and approval chain')
    .option('--out <file>', 'file to write (default: stdout; in client mode a file on your machine)')
    .option('--format <f>', 'jsonl | csv | json', 'jsonl')
    .option('--action <prefix>', 'only actions starting with this, e.g. pki.revoke')
    .option('--since <date>', 'only entries at or after this ISO date')
    .option('--until <date>', 'only entries before this ISO date')
    .addHelpText(
      'after',
      '\nCSV follows RFC 4180 (a header line, fields quoted when needed, CRLF); a field starting with = + - or @ gets a leading apostrophe so spreadsheets do not run it.\n' +
        'The audit administrator may run it through the service: jinbao --server URL --identity FILE.p12 audit export --format csv --out audit.csv\n\n' +
        'Examples:\n  $ jinbao audit export --out audit-2026Q4.jsonl\n  $ jinbao audit export --format csv --since 2026-10-01 --until 2027-01-01 --out audit-2026Q4.csv\n  $ jinbao audit export --format json --action pki. --since 2026-10-01',
    )
    .action(run<{ out?: string; format: string; action?: string; since?: string; until?: string }>(exportAudit));
}

async function verify(ctx: Context, o: { json?: boolean }): Promise<number> {
  const r = await verifyAudit(await ctx.database());
  if (o.json) ctx.out(json(r.firstBroken ? { ...r, firstBroken: chainBreak(r.firstBroken) } : r));
  else if (r.ok) ctx.out(`${ctx.t('audit.intact', { entries: r.entries, head: r.head })}\n`);
  else ctx.out(`${ctx.t('audit.broken', { seq: r.firstBroken!.seq, reason: chainBreak(r.firstBroken!, ctx.lang).reason })}\n`);
  if (!r.ok) {
    if (o.json) return ExitCode.complianceFailed;
    throw jinbaoError(COMMAND_MESSAGES, 'audit.brokenError', { seq: r.firstBroken!.seq, reason: r.firstBroken!.localized ?? r.firstBroken!.reason }, { exitCode: ExitCode.complianceFailed });
  }
  return ExitCode.ok;
}

async function exportAudit(ctx: Context, o: { out?: string; format: string; action?: string; since?: string; until?: string }): Promise<void> {
  const format = parseChoice('--format', o.format, ['jsonl', 'csv', 'json'] as const);
  const since = o.since === undefined ? undefined : parseIsoDate('--since', o.since, '2026-10-01');
  const until = o.until === undefined ? undefined : parseIsoDate('--until', o.until, '2027-01-01');
  if (since && until && until <= since) throw inputError(COMMAND_MESSAGES, 'audit.err.until', { until: String(o.until), since: String(o.since) });
  const db = await ctx.database();
  const entries = await readAudit(db, { ...(o.action !== undefined ? { action: o.action } : {}), ...(since ? { since } : {}), ...(until ? { until } : {}) });
  const check = await verifyAudit(db);
  const records = entries.map((e) => ({ ...e, record: auditRecord(e) }));
  const text =
    format === 'json'
      ? json({ exportedAt: new Date().toISOString(), chain: { intact: check.ok, entries: check.entries, head: check.head, ...(check.firstBroken ? { firstBroken: chainBreak(check.firstBroken) } : {}) }, entries: records })
      : format === 'csv'
        ? auditCsv(records.map((r) => r.record))
        : records.map((e) => JSON.stringify(e)).join('\n') + (records.length ? '\n' : '');
  if (o.out === undefined) ctx.out(text);
  else {
    writeFileSync(o.out, text);
    ctx.err(`${ctx.t('audit.exported', { count: entries.length, file: o.out, chain: check.ok ? ctx.t('audit.chainIntact') : ctx.t('audit.chainBroken', { seq: check.firstBroken!.seq }), head: check.head })}\n`);
  }
}
