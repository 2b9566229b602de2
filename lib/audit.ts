import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { CatalogueMessage } from './errors.js';
import { catalogueMessage, LIB, say, type Lang, type MessageParams } from './i18n/index.js';
import type { Database, Queryable, SqlMigration, Transaction } from './sql/index.js';

/**
 * The hash-chained audit log, kept in the state store (lib/sql: SQLite or PostgreSQL).
 *
 * Every entry carries the hash of the one before it; the entry's own hash covers its sequence
 * number, time, actor, action, outcome, subject, details and that previous hash. Altering a field,
 * removing an entry or swapping two entries breaks the chain at the first entry touched, and
 * `verifyAudit` names it. Callers append inside the same transaction as the state change they
 * record, so a change and its audit entry are committed together or not at all.
 *
 * One linear chain across processes: a transaction that appends holds the lock AUDIT_LOCK
 * (`db.write(fn, { locks: [AUDIT_LOCK, ...] })`). On PostgreSQL that is a transaction-scoped
 * advisory lock taken before anything is read, so the "last entry" an appender reads is the last
 * committed one, and no other appender can commit in between; on SQLite the file's write lock
 * does the same. Without the lock two processes would chain onto the same predecessor.
 */

export type AuditOutcome = 'ok' | 'refused';

export interface AuditInput {
  /** What happened, dotted: "pki.issue", "pki.revoke", "pki.init". */
  readonly action: string;
  readonly outcome: AuditOutcome;
  /** What it happened to: a serial, a CA id. */
  readonly subject?: string;
  /** Who asked (the OS user unless the caller knows better). */
  readonly actor?: string | undefined;
  /** Facts an auditor needs; for a refusal, the reason. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** @default now */
  readonly at?: Date;
}

export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly outcome: AuditOutcome;
  readonly subject: string;
  readonly details: Record<string, unknown>;
  readonly prevHash: string;
  readonly hash: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  readonly entries: number;
  /**
   * The first entry that does not fit the chain, and why: `reason` in English, `localized` the
   * same as a lib/locales entry (`audit.*`) to say it in the user's language.
   */
  readonly firstBroken?: { readonly seq: number; readonly reason: string; readonly localized?: CatalogueMessage };
  /** Hash of the last entry: publish it to make truncation of the tail detectable. */
  readonly head: string;
}

/** The lock every appending transaction holds (see the module comment). */
export const AUDIT_LOCK = 'audit';

const GENESIS = '0'.repeat(64);

/** The names of the triggers that keep the audit table insert-only (both backends). */
export const AUDIT_APPEND_ONLY_TRIGGERS = ['audit_log_no_update', 'audit_log_no_delete'] as const;

/** What the triggers answer an UPDATE or DELETE with (the start of the database's error message). */
export const AUDIT_APPEND_ONLY_MESSAGE = 'audit_log is append-only';

/**
 * The audit component's schema versions: the table, then triggers refusing UPDATE and DELETE of a
 * row (and, on PostgreSQL, TRUNCATE) whoever asks: nothing in jinbao changes or removes an entry
 * once written (`state migrate` only inserts into a new store). An owner of the table can still
 * drop the triggers; the hash chain is what detects that tampering (`audit verify`).
 */
export const AUDIT_MIGRATIONS: readonly SqlMigration[] = [
  {
    description: 'audit log',
    up: {
      sqlite: `CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')),
        subject TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      )`,
      postgresql: `CREATE TABLE audit_log (
        seq bigint PRIMARY KEY,
        at text NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('ok', 'refused')),
        subject text NOT NULL,
        details text NOT NULL,
        prev_hash text NOT NULL,
        hash text NOT NULL
      )`,
    },
  },
  {
    description: 'audit log: insert-only (UPDATE and DELETE refused by triggers)',
    up: {
      sqlite: `
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, '${AUDIT_APPEND_ONLY_MESSAGE}: UPDATE refused'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, '${AUDIT_APPEND_ONLY_MESSAGE}: DELETE refused'); END;`,
      postgresql: `
        CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '${AUDIT_APPEND_ONLY_MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
        END $$;
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();`,
    },
  },
];

/** Whether the triggers that keep the audit table insert-only are in the database (what `comply` reads). */
export async function auditAppendOnly(q: Queryable): Promise<boolean> {
  const rows =
    q.dialect === 'sqlite'
      ? await q.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'")
      : await q.query<{ name: string }>("SELECT tgname AS name FROM pg_trigger WHERE tgrelid = to_regclass('audit_log') AND tgenabled <> 'D' AND NOT tgisinternal");
  const names = new Set(rows.map((r) => r.name));
  return AUDIT_APPEND_ONLY_TRIGGERS.every((t) => names.has(t));
}

const migrated = new WeakMap<Database, Promise<unknown>>();

/** Create or upgrade the audit table (once per database object). */
export async function migrateAudit(db: Database): Promise<void> {
  let done = migrated.get(db);
  if (!done) {
    done = db.migrate('audit', AUDIT_MIGRATIONS);
    done.catch(() => migrated.delete(db));
    migrated.set(db, done);
  }
  await done;
}

/** One approval of a dual-controlled command, as every audit entry the command records names it. */
export interface ApprovalLink {
  readonly request: number;
  readonly operator: string;
  readonly certificate: string;
  readonly at: string;
}

const actorScope = new AsyncLocalStorage<{ readonly actor: string; readonly remote?: string; readonly approvalChain?: readonly ApprovalLink[] }>();

/**
 * Run `fn` with `actor` as the default actor of every audit entry it records (the service runs an
 * authenticated operator's command this way; concurrent commands keep their own actor). With
 * `remote`, each entry's details also name the client's address (`remote`) unless they already do;
 * with `approvalChain` (a command run after dual control), each names its approvals
 * (`approvalChain`), so the proposer stays the actor and the approvers are structured data.
 */
export function asActor<T>(actor: string, fn: () => Promise<T>, opts: { readonly remote?: string; readonly approvalChain?: readonly ApprovalLink[] } = {}): Promise<T> {
  return actorScope.run({ actor, ...(opts.remote ? { remote: opts.remote } : {}), ...(opts.approvalChain ? { approvalChain: opts.approvalChain } : {}) }, fn);
}

/** Who the running code acts for, as the audit log will name them. */
export function currentActor(): string {
  return defaultActor();
}

function defaultActor(): string {
  return actorScope.getStore()?.actor ?? process.env.SUDO_USER ?? process.env.USER ?? process.env.LOGNAME ?? `uid:${process.getuid?.() ?? '?'}`;
}

function withRemote(details: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const scope = actorScope.getStore();
  const remote = scope?.remote === undefined || 'remote' in details ? {} : { remote: scope.remote };
  const chain = scope?.approvalChain === undefined || 'approvalChain' in details ? {} : { approvalChain: scope.approvalChain };
  return { ...details, ...remote, ...chain };
}

/** Canonical JSON: object keys sorted, so the hash does not depend on insertion order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = canonical({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, outcome: e.outcome, subject: e.subject, details: e.details, prevHash: e.prevHash });
  return createHash('sha256').update(body).digest('hex');
}

/** Rows per INSERT statement: 9 parameters each, within both backends' limits. */
const ROWS_PER_INSERT = 1_000;

/** The last entry of the chain (seq 0 and the genesis hash when the log is empty). */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/** The query that reads the head (its columns are `seq` and `hash`; no row when the log is empty). */
export const AUDIT_HEAD_SQL = 'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1';

export function auditHead(row: { seq: number; hash: string } | undefined): AuditHead {
  return row ? { seq: row.seq, hash: row.hash } : { seq: 0, hash: GENESIS };
}

/** Entries for `inputs`, each chained onto the one before, the first onto `head` (pure: nothing is written). */
export function chainAudit(head: AuditHead, inputs: readonly AuditInput[]): AuditEntry[] {
  let seq = head.seq;
  let prevHash = head.hash;
  const entries: AuditEntry[] = [];
  for (const input of inputs) {
    const partial = {
      seq: ++seq,
      at: (input.at ?? new Date()).toISOString(),
      actor: input.actor ?? defaultActor(),
      action: input.action,
      outcome: input.outcome,
      subject: input.subject ?? '',
      details: JSON.parse(JSON.stringify(withRemote(input.details ?? {}))) as Record<string, unknown>,
      prevHash,
    };
    const entry: AuditEntry = { ...partial, hash: entryHash(partial) };
    entries.push(entry);
    prevHash = entry.hash;
  }
  return entries;
}

/**
 * INSERT statements (at most ROWS_PER_INSERT rows each) for chained entries, with their parameters
 * numbered from `$${offset + 1}`: a caller may put the first one in the same statement as its own
 * change (one round trip while the audit lock is held).
 */
export function auditInserts(entries: readonly AuditEntry[], offset = 0): { sql: string; params: unknown[] }[] {
  const out: { sql: string; params: unknown[] }[] = [];
  for (let i = 0; i < entries.length; i += ROWS_PER_INSERT) {
    const chunk = entries.slice(i, i + ROWS_PER_INSERT);
    const params: unknown[] = [];
    const base = i === 0 ? offset : 0;
    const rows = chunk.map((e) => {
      const n = base + params.length;
      params.push(e.seq, e.at, e.actor, e.action, e.outcome, e.subject, canonical(e.details), e.prevHash, e.hash);
      return `($${n + 1}, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}, $${n + 6}, $${n + 7}, $${n + 8}, $${n + 9})`;
    });
    out.push({ sql: `INSERT INTO audit_log (seq, at, actor, action, outcome, subject, details, prev_hash, hash) VALUES ${rows.join(', ')}`, params });
  }
  return out;
}

/**
 * Append entries, in order, each chained onto the one before. Call it inside the transaction that
 * makes the change, which must hold AUDIT_LOCK (and the audit table must exist: `migrateAudit`).
 * Many entries cost one read and one INSERT per 1,000: what group commit relies on.
 */
export async function appendAudit(tx: Transaction, ...inputs: readonly AuditInput[]): Promise<AuditEntry[]> {
  if (inputs.length === 0) return [];
  const [last] = await tx.query<{ seq: number; hash: string }>(AUDIT_HEAD_SQL);
  const entries = chainAudit(auditHead(last), inputs);
  for (const q of auditInserts(entries)) await tx.run(q.sql, q.params);
  return entries;
}

/** Append one entry in a transaction of its own (a refusal, which changes nothing else). */
export async function recordAudit(db: Database, input: AuditInput): Promise<AuditEntry> {
  await migrateAudit(db);
  const [entry] = await db.write((tx) => appendAudit(tx, input), { locks: [AUDIT_LOCK] });
  return entry!;
}

interface Row {
  seq: number;
  at: string;
  actor: string;
  action: string;
  outcome: AuditOutcome;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

function fromRow(r: Row): AuditEntry {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(r.details) as Record<string, unknown>;
  } catch {
    details = { unparsable: r.details };
  }
  return { seq: r.seq, at: r.at, actor: r.actor, action: r.action, outcome: r.outcome, subject: r.subject, details, prevHash: r.prev_hash, hash: r.hash };
}

/** Rows read per query while walking the chain: memory stays flat whatever the log's length. */
const PAGE = 5_000;

/** Every row in chain order, a page at a time (keyset pagination on seq). */
async function* rowsInOrder(q: Queryable): AsyncGenerator<Row> {
  let after = -1;
  for (;;) {
    const page = await q.query<Row>('SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2', [after, PAGE]);
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.seq;
  }
}

/** Entries in chain order (by sequence number), optionally filtered. */
export async function readAudit(db: Database, filter: { action?: string; since?: Date; until?: Date; limit?: number } = {}): Promise<AuditEntry[]> {
  await migrateAudit(db);
  const out: AuditEntry[] = [];
  for await (const r of rowsInOrder(db)) {
    if (filter.action !== undefined && !r.action.startsWith(filter.action)) continue;
    if (filter.since !== undefined && r.at < filter.since.toISOString()) continue;
    if (filter.until !== undefined && r.at >= filter.until.toISOString()) continue;
    out.push(fromRow(r));
    if (filter.limit !== undefined && out.length >= filter.limit) break;
  }
  return out;
}

/**
 * Walk the chain from the start. An entry is broken when its sequence number is not the next one
 * (a removal), its previous hash is not the hash of the entry before it (a removal or reordering),
 * or its own hash does not match its content (an alteration).
 */
export async function verifyAudit(db: Database): Promise<AuditVerification> {
  await migrateAudit(db);
  return verifyAuditChain(db);
}

/**
 * Where a chain breaks, as output shows it: the reason in `lang` when given, else in English (what
 * `--json` carries: exactly `{ seq, reason }`).
 */
export function chainBreak(b: NonNullable<AuditVerification['firstBroken']>, lang?: Lang): { seq: number; reason: string } {
  return { seq: b.seq, reason: lang !== undefined && b.localized ? say(b.localized, lang) : b.reason };
}

/** `verifyAudit` inside a transaction or on a store whose audit schema is known to exist. */
export async function verifyAuditChain(db: Queryable): Promise<AuditVerification> {
  let prev = GENESIS;
  let expectedSeq = 1;
  let n = 0;
  for await (const r of rowsInOrder(db)) {
    n += 1;
    const e = fromRow(r);
    const broken = (key: string, params: MessageParams): AuditVerification => {
      const m = catalogueMessage(LIB, key, params);
      return { ok: false, entries: n, firstBroken: { seq: e.seq, reason: m.message, localized: m.localized }, head: prev };
    };
    if (e.seq !== expectedSeq) return broken('audit.removed', { seq: e.seq, want: expectedSeq, missing: `${expectedSeq}${e.seq > expectedSeq + 1 ? `..${e.seq - 1}` : ''}` });
    if (e.prevHash !== prev) return broken('audit.relinked', { prevHash: `${e.prevHash.slice(0, 12)}…`, before: e.seq - 1, hash: `${prev.slice(0, 12)}…` });
    const recomputed = entryHash(e);
    if (recomputed !== e.hash) return broken('audit.altered', { got: `${recomputed.slice(0, 12)}…`, want: `${e.hash.slice(0, 12)}…` });
    prev = e.hash;
    expectedSeq += 1;
  }
  return { ok: true, entries: n, head: prev };
}
