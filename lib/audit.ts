import { createHash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { StateStore } from './state.js';

/**
 * The hash-chained audit log, kept in the state store.
 *
 * Every entry carries the hash of the one before it; the entry's own hash covers its sequence
 * number, time, actor, action, outcome, subject, details and that previous hash. Altering a field,
 * removing an entry or swapping two entries breaks the chain at the first entry touched, and
 * `verifyAudit` names it. Callers append inside the same transaction as the state change they
 * record, so a change and its audit entry are committed together or not at all.
 */

export type AuditOutcome = 'ok' | 'refused';

export interface AuditInput {
  /** What happened, dotted: "pki.issue", "pki.revoke", "pki.init". */
  readonly action: string;
  readonly outcome: AuditOutcome;
  /** What it happened to: a serial, a CA id. */
  readonly subject?: string;
  /** Who asked (the OS user unless the caller knows better). */
  readonly actor?: string;
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
  /** The first entry that does not fit the chain, and why. */
  readonly firstBroken?: { readonly seq: number; readonly reason: string };
  /** Hash of the last entry: publish it to make truncation of the tail detectable. */
  readonly head: string;
}

const GENESIS = '0'.repeat(64);

const MIGRATIONS = [
  {
    description: 'audit log',
    up: `CREATE TABLE audit_log (
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
  },
];

const migrated = new WeakSet<StateStore>();
const statements = new WeakMap<object, { last: Statement; insert: Statement }>();

export function migrateAudit(store: StateStore): void {
  if (migrated.has(store)) return;
  store.migrate('audit', MIGRATIONS);
  migrated.add(store);
}

function defaultActor(): string {
  return process.env.SUDO_USER ?? process.env.USER ?? process.env.LOGNAME ?? `uid:${process.getuid?.() ?? '?'}`;
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

/**
 * Append one entry. Call it inside the transaction that makes the change (`store.write`); on its
 * own it takes its own write transaction.
 */
export function appendAudit(store: StateStore, input: AuditInput): AuditEntry {
  migrateAudit(store);
  const db = store.db;
  let st = statements.get(db);
  if (!st) {
    st = {
      last: db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare('INSERT INTO audit_log (seq, at, actor, action, outcome, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    };
    statements.set(db, st);
  }
  const { last: lastStmt, insert } = st;
  const append = (): AuditEntry => {
    const last = lastStmt.get() as { seq: number; hash: string } | undefined;
    const partial = {
      seq: (last?.seq ?? 0) + 1,
      at: (input.at ?? new Date()).toISOString(),
      actor: input.actor ?? defaultActor(),
      action: input.action,
      outcome: input.outcome,
      subject: input.subject ?? '',
      details: JSON.parse(JSON.stringify(input.details ?? {})) as Record<string, unknown>,
      prevHash: last?.hash ?? GENESIS,
    };
    const entry: AuditEntry = { ...partial, hash: entryHash(partial) };
    insert.run(
      entry.seq,
      entry.at,
      entry.actor,
      entry.action,
      entry.outcome,
      entry.subject,
      canonical(entry.details),
      entry.prevHash,
      entry.hash,
    );
    return entry;
  };
  return db.inTransaction ? append() : store.write(append);
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

/** Entries in chain order (by sequence number), optionally filtered. */
export function* readAudit(store: StateStore, filter: { action?: string; since?: Date } = {}): Generator<AuditEntry> {
  migrateAudit(store);
  const rows = store.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<Row>;
  for (const r of rows) {
    if (filter.action !== undefined && !r.action.startsWith(filter.action)) continue;
    if (filter.since !== undefined && r.at < filter.since.toISOString()) continue;
    yield fromRow(r);
  }
}

/**
 * Walk the chain from the start. An entry is broken when its sequence number is not the next one
 * (a removal), its previous hash is not the hash of the entry before it (a removal or reordering),
 * or its own hash does not match its content (an alteration).
 */
export function verifyAudit(store: StateStore): AuditVerification {
  migrateAudit(store);
  let prev = GENESIS;
  let expectedSeq = 1;
  let n = 0;
  for (const r of store.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<Row>) {
    n += 1;
    const e = fromRow(r);
    const broken = (reason: string): AuditVerification => ({ ok: false, entries: n, firstBroken: { seq: e.seq, reason }, head: prev });
    if (e.seq !== expectedSeq) return broken(`got sequence number ${e.seq}, want ${expectedSeq}: entry ${expectedSeq}${e.seq > expectedSeq + 1 ? `..${e.seq - 1}` : ''} was removed`);
    if (e.prevHash !== prev) return broken(`its previous-hash ${e.prevHash.slice(0, 12)}… does not match entry ${e.seq - 1}'s hash ${prev.slice(0, 12)}…: an entry before it was removed, replaced or reordered`);
    const recomputed = entryHash(e);
    if (recomputed !== e.hash) return broken(`its content hashes to ${recomputed.slice(0, 12)}…, want the recorded ${e.hash.slice(0, 12)}…: the entry was altered`);
    prev = e.hash;
    expectedSeq += 1;
  }
  return { ok: true, entries: n, head: prev };
}
