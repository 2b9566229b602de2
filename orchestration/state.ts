/**
 * The state store as a whole: what is in it (`jinbao state status`) and moving it to another backend
 * (`jinbao state migrate --to URL`). Features own their tables; this module sees them only through
 * the registry of components and the database's own catalogue, so a new table is copied without a
 * change here.
 */
import { existsSync, readdirSync } from 'node:fs';
import { ExitCode, type CatalogueMessage } from '../lib/errors.js';
import { openDatabase, type Database, type Queryable, type SqlMigration, type Transaction } from '../lib/sql/index.js';
import { applyMigration } from '../lib/sql/migrate.js';
import { MIGRATION_MARK } from '../lib/sql/types.js';
import { resolveState, type StateTarget } from '../lib/state.js';
import type { Progress } from '../lib/context.js';
import { verifyAudit, verifyAuditChain, AUDIT_MIGRATIONS, type AuditVerification } from '../lib/audit.js';
import { IPAM_MIGRATIONS } from '../fabric/index.js';
import { DR_MIGRATIONS } from '../dr-runbooks/index.js';
import { WAN_MIGRATIONS } from '../network/index.js';
import { PKI_MIGRATIONS } from '../pki/index.js';
import { CRL_MIGRATIONS } from '../pki/revocation/index.js';
import { ACME_MIGRATIONS } from '../pki/acme/index.js';
import { APPROVAL_MIGRATIONS, OPERATOR_MIGRATIONS, operatorSeparation, type Separation } from '../operators/index.js';
import { CMP_MIGRATIONS } from '../pki/cmp/index.js';
import { STAFF_MIGRATIONS } from '../staff/index.js';
import type { OpsContext } from './context.js';
import { jinbaoError, translator, type Lang } from '../lib/i18n/index.js';
import { ORCHESTRATION } from './messages.js';

/** A feature's tables: its component name and ordered migrations (the same list its own code applies). */
export interface StateComponent {
  readonly name: string;
  readonly migrations: readonly SqlMigration[];
}

/** How the audit chain is read (lib/audit.ts): the head hash must be equal on both sides of a migration. */
export type VerifyAudit = (q: Queryable) => Promise<AuditVerification>;

/** Tables of the store itself, not of a component: never copied (the target's migrations write them). */
const STORE_TABLES = new Set(['schema_versions', 'jinbao_store', MIGRATION_MARK]);

export interface StateStatus {
  readonly backend: 'sqlite' | 'postgresql';
  readonly where: string;
  readonly components: readonly { readonly name: string; readonly version: number; readonly known: number | null }[];
  readonly tables: readonly { readonly name: string; readonly rows: number }[];
  /** `firstBroken.localized`: the reason as a catalogue message, for people (not part of `--json`). */
  readonly audit: { readonly intact: boolean; readonly entries: number; readonly head: string; readonly firstBroken?: { readonly seq: number; readonly reason: string; readonly localized?: CatalogueMessage } };
}

/** Backend, place, component versions (and what this build knows), row counts, audit head. */
export async function stateStatus(db: Database, components: readonly StateComponent[], verifyAudit: VerifyAudit): Promise<StateStatus> {
  const versions = await db.versions();
  const known = new Map(components.map((c) => [c.name, c.migrations.length]));
  const names = [...new Set([...Object.keys(versions), ...known.keys()])].sort();
  const tables: { name: string; rows: number }[] = [];
  for (const t of await tableNames(db)) {
    if (STORE_TABLES.has(t)) continue;
    const [r] = await db.query<{ n: number }>(`SELECT count(*) AS n FROM ${ident(t)}`);
    tables.push({ name: t, rows: Number(r!.n) });
  }
  const audit = await verifyAudit(db);
  return {
    backend: db.dialect,
    where: db.where,
    components: names.map((name) => ({ name, version: versions[name] ?? 0, known: known.get(name) ?? null })),
    tables,
    audit: { intact: audit.ok, entries: audit.entries, head: audit.head, ...(audit.firstBroken ? { firstBroken: audit.firstBroken } : {}) },
  };
}

export interface MigrateResult {
  readonly from: string;
  readonly to: string;
  readonly tables: readonly { readonly name: string; readonly rows: number }[];
  readonly auditHead: string;
  readonly auditEntries: number;
  readonly seconds: number;
}

/**
 * Copy everything in `source` into the empty store `to` names, in one transaction on the target:
 * the target's schemas come from the components' own migrations, rows are copied table by table in
 * foreign-key order, then the row count of every table and the audit head hash are compared on
 * both sides before COMMIT. Before that transaction the target is marked as an unfinished migration
 * (committed on its own), and the mark is removed by the copy's COMMIT: an interruption at any point
 * leaves a target that every jinbao refuses until `state migrate` runs again. The source is read in
 * one consistent snapshot and never written.
 */
export async function migrateState(
  source: Database,
  to: string,
  opts: { readonly components: readonly StateComponent[]; readonly verifyAudit: VerifyAudit; readonly env: NodeJS.ProcessEnv; readonly progress: Progress; readonly batchRows?: number; readonly lang?: Lang },
): Promise<MigrateResult> {
  const started = performance.now();
  const targetSpec = resolveState(to, opts.env);
  if (targetSpec.kind === 'sqlite') refuseNonEmptyDir(targetSpec);
  const target = await openDatabase(targetSpec.kind === 'postgresql' ? targetSpec.url : targetSpec.dir, { source: '--to', env: opts.env, allowUnfinishedMigration: true });
  try {
    if (target.where === source.where) throw jinbaoError(ORCHESTRATION, 'migrate.sameStore', { where: source.where }, { exitCode: ExitCode.invalidInput });
    return await readSnapshot(source, async (src) => {
      const check = await opts.verifyAudit(src);
      if (!check.ok) {
        throw jinbaoError(ORCHESTRATION, 'migrate.auditBroken', { seq: check.firstBroken!.seq, reason: check.firstBroken!.localized ?? check.firstBroken!.reason }, { exitCode: ExitCode.complianceFailed });
      }
      await refuseNonEmpty(target);
      await target.write(async (tx) => {
        await tx.exec(`CREATE TABLE IF NOT EXISTS ${MIGRATION_MARK} (source text NOT NULL, started_at text NOT NULL)`);
        await tx.run(`DELETE FROM ${MIGRATION_MARK}`);
        await tx.run(`INSERT INTO ${MIGRATION_MARK} (source, started_at) VALUES ($1, $2)`, [source.where, new Date().toISOString()]);
      }, { locks: ['store', 'migrate'] });
      const tables = await copyOrder(src);
      const counts = new Map<string, number>();
      for (const t of tables) counts.set(t, Number((await src.query<{ n: number }>(`SELECT count(*) AS n FROM ${ident(t)}`))[0]!.n));
      const tr = translator(opts.lang ?? 'en', ORCHESTRATION);
      opts.progress(tr('migrate.progress', { tables: tables.length, rows: [...counts.values()].reduce((a, b) => a + b, 0), from: source.where, to: target.where }));
      const copied = await target.write(
        async (tx) => {
          if (tx.dialect === 'sqlite') await tx.exec('PRAGMA defer_foreign_keys = ON');
          await applyMigrations(tx, opts.components);
          const targetTables = new Set(await tableNames(tx));
          const missing = tables.filter((t) => !targetTables.has(t));
          if (missing.length) {
            throw jinbaoError(ORCHESTRATION, 'migrate.unknownTables', { tables: missing.join(', ') }, { exitCode: ExitCode.invalidInput });
          }
          // Rows a migration seeds (a sequence's first value, default settings) give way to the source's.
          for (const t of [...tables].reverse()) await tx.run(`DELETE FROM ${ident(t)}`);
          for (const table of tables) await copyTable(src, tx, table, counts.get(table)!, opts.batchRows ?? 500, (done, total) => opts.progress(`  ${tr('migrate.tableRows', { table, done, total })}`));
          const out: { name: string; rows: number }[] = [];
          for (const t of tables) {
            const n = Number((await tx.query<{ n: number }>(`SELECT count(*) AS n FROM ${ident(t)}`))[0]!.n);
            if (n !== counts.get(t)) throw jinbaoError(ORCHESTRATION, 'migrate.rowCount', { table: t, source: counts.get(t)!, target: n }, { exitCode: ExitCode.invalidInput });
            out.push({ name: t, rows: n });
          }
          const after = await opts.verifyAudit(tx);
          if (!after.ok || after.head !== check.head || after.entries !== check.entries) {
            throw jinbaoError(ORCHESTRATION, 'migrate.auditHead', { sourceHead: String(check.head), sourceEntries: check.entries, targetHead: String(after.head), targetEntries: after.entries }, { exitCode: ExitCode.invalidInput });
          }
          await tx.exec(`DROP TABLE ${MIGRATION_MARK}`);
          return out;
        },
        { locks: ['store', 'migrate'] },
      );
      return { from: source.where, to: target.where, tables: copied, auditHead: check.head, auditEntries: check.entries, seconds: (performance.now() - started) / 1000 };
    });
  } finally {
    await target.close();
  }
}

/** Read the source in one snapshot: SQLite's write lock (writers wait), PostgreSQL's REPEATABLE READ. */
async function readSnapshot<T>(db: Database, fn: (q: Transaction) => Promise<T>): Promise<T> {
  if (db.dialect === 'sqlite') return db.write(fn);
  return db.write(async (tx) => {
    await tx.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return fn(tx);
  }, { locks: [] });
}

function refuseNonEmptyDir(t: Extract<StateTarget, { kind: 'sqlite' }>): void {
  if (!existsSync(t.dir)) return;
  const entries = readdirSync(t.dir).filter((f) => !/^jinbao\.db(-wal|-shm)?$/.test(f));
  if (entries.length) throw jinbaoError(ORCHESTRATION, 'migrate.dirNotEmpty', { dir: t.dir, entries: `${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}` }, { exitCode: ExitCode.invalidInput });
}

async function refuseNonEmpty(target: Database): Promise<void> {
  const versions = await target.versions();
  const filled: string[] = [];
  for (const t of await tableNames(target)) {
    if (STORE_TABLES.has(t)) continue;
    const [r] = await target.query<{ n: number }>(`SELECT count(*) AS n FROM ${ident(t)}`);
    if (Number(r!.n) > 0) filled.push(`${t} (${r!.n} rows)`);
  }
  const components = Object.keys(versions);
  if (filled.length || components.length) {
    throw filled.length
      ? jinbaoError(ORCHESTRATION, 'migrate.targetRows', { where: target.where, tables: filled.slice(0, 3).join(', ') }, { exitCode: ExitCode.invalidInput })
      : jinbaoError(ORCHESTRATION, 'migrate.targetSchemas', { where: target.where, components: components.join(', ') }, { exitCode: ExitCode.invalidInput });
  }
}

/** Every component's migrations, in the copy's transaction, with their version records. */
async function applyMigrations(tx: Transaction, components: readonly StateComponent[]): Promise<void> {
  for (const c of components) for (const [i, m] of c.migrations.entries()) await applyMigration(tx, c.name, m, i + 1);
}

export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

async function tableNames(q: Queryable): Promise<string[]> {
  const rows =
    q.dialect === 'sqlite'
      ? await q.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      : await q.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename');
  return rows.map((r) => r.name);
}

/** Component tables with every referenced table before the tables that reference it. */
async function copyOrder(q: Queryable): Promise<string[]> {
  const tables = (await tableNames(q)).filter((t) => !STORE_TABLES.has(t));
  const parents = new Map<string, Set<string>>();
  for (const t of tables) {
    const refs =
      q.dialect === 'sqlite'
        ? (await q.query<{ table: string }>(`SELECT "table" FROM pragma_foreign_key_list($1)`, [t])).map((r) => r.table)
        : (
            await q.query<{ parent: string }>(
              "SELECT p.relname AS parent FROM pg_constraint c JOIN pg_class ch ON ch.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid WHERE c.contype = 'f' AND ch.relname = $1 AND ch.relnamespace = current_schema()::regnamespace",
              [t],
            )
          ).map((r) => r.parent);
    parents.set(t, new Set(refs.filter((r) => r !== t)));
  }
  const out: string[] = [];
  const placed = new Set<string>();
  const visit = (t: string, path: string[]): void => {
    if (placed.has(t)) return;
    if (path.includes(t)) throw jinbaoError(ORCHESTRATION, 'migrate.cycle', { tables: [...path, t].join(' → ') }, { exitCode: ExitCode.invalidInput });
    for (const p of parents.get(t) ?? []) if (tables.includes(p)) visit(p, [...path, t]);
    placed.add(t);
    out.push(t);
  };
  for (const t of tables) visit(t, []);
  return out;
}

/** Source rows in the order they were written (SQLite rowid; PostgreSQL primary key), a page at a time. */
async function* pages(src: Queryable, table: string, size: number): AsyncGenerator<Record<string, unknown>[]> {
  if (src.dialect === 'sqlite') {
    let last = -Infinity;
    for (;;) {
      const rows = await src.query<Record<string, unknown>>(`SELECT rowid AS "jinbao$rowid", * FROM ${ident(table)} WHERE rowid > $1 ORDER BY rowid LIMIT ${size}`, [last === -Infinity ? Number.MIN_SAFE_INTEGER : last]);
      if (!rows.length) return;
      last = Number(rows.at(-1)!['jinbao$rowid']);
      yield rows.map(({ ['jinbao$rowid']: _, ...r }) => r);
    }
  }
  const pk = await src.query<{ col: string }>(
    'SELECT a.attname AS col FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)',
    [ident(table)],
  );
  const order = pk.length ? pk.map((c) => ident(c.col)).join(', ') : 'ctid';
  for (let offset = 0; ; offset += size) {
    const rows = await src.query<Record<string, unknown>>(`SELECT * FROM ${ident(table)} ORDER BY ${order} LIMIT ${size} OFFSET ${offset}`);
    if (!rows.length) return;
    yield rows;
  }
}

/** Copy one table in pages of `batch` rows, saying how far it is every 20,000 rows and at the end. */
async function copyTable(src: Queryable, tx: Transaction, table: string, total: number, batch: number, copied: (done: number, total: number) => void): Promise<void> {
  let done = 0;
  let reported = 0;
  for await (const rows of pages(src, table, batch)) {
    const cols = Object.keys(rows[0]!);
    const params: unknown[] = [];
    const values = rows.map((r) => `(${cols.map((c) => (params.push(r[c]), `$${params.length}`)).join(', ')})`);
    const overriding = tx.dialect === 'postgresql' ? ' OVERRIDING SYSTEM VALUE' : '';
    await tx.run(`INSERT INTO ${ident(table)} (${cols.map(ident).join(', ')})${overriding} VALUES ${values.join(', ')}`, params);
    done += rows.length;
    if (done - reported >= 20_000 || done === total) {
      copied(done, total);
      reported = done;
    }
  }
  if (tx.dialect === 'postgresql') {
    // Identity and serial columns continue after the copied values, not from 1.
    const seqs = await tx.query<{ col: string; seq: string }>(
      'SELECT a.attname AS col, pg_get_serial_sequence($1, a.attname) AS seq FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped',
      [ident(table)],
    );
    for (const s of seqs.filter((r) => r.seq !== null)) {
      await tx.query(`SELECT setval($1, COALESCE((SELECT max(${ident(s.col)}) FROM ${ident(table)}), 0) + 1, false)`, [s.seq]);
    }
  }
}

/**
 * Every component's tables, in the order their schemas can be created (a component's foreign keys
 * point only to components before it). A feature that adds a component adds it here.
 */
export const STATE_COMPONENTS: readonly StateComponent[] = [
  { name: 'audit', migrations: AUDIT_MIGRATIONS },
  { name: 'pki', migrations: PKI_MIGRATIONS },
  { name: 'pki-revocation', migrations: CRL_MIGRATIONS },
  { name: 'ipam', migrations: IPAM_MIGRATIONS },
  { name: 'wan', migrations: WAN_MIGRATIONS },
  { name: 'dr', migrations: DR_MIGRATIONS },
  { name: 'acme', migrations: ACME_MIGRATIONS },
  { name: 'operators', migrations: OPERATOR_MIGRATIONS },
  { name: 'cmp', migrations: CMP_MIGRATIONS },
  { name: 'staff', migrations: STAFF_MIGRATIONS },
  { name: 'approvals', migrations: APPROVAL_MIGRATIONS },
];

/** `jinbao state status` on the context's store. */
export async function storeStatus(ctx: OpsContext): Promise<StateStatus & { readonly operators: Separation }> {
  const db = await ctx.database();
  // Operators first: reading them brings their tables to this jinbao's schema, so the table list
  // below is the same at the first status as at the next.
  const operators = await operatorSeparation(ctx);
  const status = await stateStatus(db, STATE_COMPONENTS, async (q) => (q === db ? verifyAudit(db) : verifyAuditChain(q)));
  return { ...status, operators };
}

/** `jinbao state migrate --to TARGET` from the context's store. */
export async function migrateStore(ctx: OpsContext, to: string, progress: Progress): Promise<MigrateResult> {
  const db = await ctx.database();
  // The source's schemas are brought to this jinbao's versions first, as any command of it would;
  // its rows are not touched.
  for (const c of STATE_COMPONENTS) await db.migrate(c.name, c.migrations);
  return migrateState(db, to, { components: STATE_COMPONENTS, verifyAudit: verifyAuditChain, env: ctx.env, progress, ...(ctx.lang ? { lang: ctx.lang } : {}) });
}
