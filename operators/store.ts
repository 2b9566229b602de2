import { appendAudit, AUDIT_LOCK, migrateAudit, type AuditInput } from '../lib/audit.js';
import type { Database, Queryable, SqlMigration } from '../lib/sql/index.js';
import type { Ceremony } from './ceremony.js';
import type { SessionRecord } from './credentials.js';
import type { Operator, OperatorStatus, Role } from './model.js';

/**
 * The operators' table in lib/sql (component `operators`). One row per role assignment: a person
 * (staff number) may hold several (a viewer and a DR coordinator), never two administrator roles.
 * Rows are never deleted: a removed operator stays, with status `removed`, for the audit trail.
 */
export const OPERATOR_MIGRATIONS: readonly SqlMigration[] = [
  {
    description: 'operators: role assignments with their operator certificates',
    up: `
      CREATE TABLE operators (
        id TEXT PRIMARY KEY,
        staff_number TEXT NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        scope TEXT,
        status TEXT NOT NULL,
        certificate_serial TEXT NOT NULL,
        ca_id TEXT NOT NULL,
        not_after TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX operators_staff_number ON operators (staff_number);`,
  },
  {
    description: 'key ceremonies: the split of the CA passphrase (counts and share hashes, never shares)',
    up: `
      CREATE TABLE operator_ceremonies (
        id TEXT PRIMARY KEY,
        shares INTEGER NOT NULL,
        threshold INTEGER NOT NULL,
        share_hashes TEXT NOT NULL,
        created_at TEXT NOT NULL
      );`,
  },
  {
    description: 'operators: the knowledge factor (a slow hash of the password), failed logins, lock, and sessions',
    up: `
      CREATE TABLE operator_credentials (
        operator_id TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        set_at TEXT NOT NULL,
        set_by TEXT NOT NULL,
        failed_logins INTEGER NOT NULL,
        locked_at TEXT
      );
      CREATE TABLE operator_sessions (
        token_hash TEXT PRIMARY KEY,
        operator_id TEXT NOT NULL,
        certificate_serial TEXT NOT NULL,
        remote TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        ended_at TEXT,
        end_reason TEXT
      );
      CREATE INDEX operator_sessions_operator ON operator_sessions (operator_id);`,
  },
];

export const OPERATORS_COMPONENT = 'operators';
/** Writers of the operators table serialize on this lock (with the audit log's). */
export const OPERATORS_LOCK = 'operators';

interface Row {
  id: string;
  staff_number: string;
  name: string;
  role: string;
  scope: string | null;
  status: string;
  certificate_serial: string;
  ca_id: string;
  not_after: string;
  created_at: string;
  updated_at: string;
}

function fromRow(r: Row): Operator {
  return {
    id: r.id,
    staffNumber: r.staff_number,
    name: r.name,
    role: r.role as Role,
    scope: r.scope,
    status: r.status as OperatorStatus,
    certificateSerial: r.certificate_serial,
    caId: r.ca_id,
    notAfter: r.not_after,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function migrateOperators(db: Database): Promise<void> {
  await migrateAudit(db);
  await db.migrate(OPERATORS_COMPONENT, OPERATOR_MIGRATIONS);
}

export async function readOperators(q: Queryable, filter: { staffNumber?: string } = {}): Promise<Operator[]> {
  const rows = filter.staffNumber === undefined
    ? await q.query<Row>('SELECT * FROM operators ORDER BY created_at, id')
    : await q.query<Row>('SELECT * FROM operators WHERE staff_number = $1 ORDER BY created_at, id', [filter.staffNumber]);
  return rows.map(fromRow);
}

export async function readOperator(q: Queryable, id: string): Promise<Operator | undefined> {
  const [row] = await q.query<Row>('SELECT * FROM operators WHERE id = $1', [id]);
  return row ? fromRow(row) : undefined;
}

export async function insertOperator(q: Queryable, o: Operator): Promise<void> {
  await q.run(
    'INSERT INTO operators (id, staff_number, name, role, scope, status, certificate_serial, ca_id, not_after, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
    [o.id, o.staffNumber, o.name, o.role, o.scope, o.status, o.certificateSerial, o.caId, o.notAfter, o.createdAt, o.updatedAt],
  );
}

export async function setOperatorStatus(q: Queryable, id: string, status: OperatorStatus, at: Date): Promise<void> {
  await q.run('UPDATE operators SET status = $1, updated_at = $2 WHERE id = $3', [status, at.toISOString(), id]);
}

/** A change of the operators' table and its audit entry, in one transaction. */
export async function writeWithAudit<T>(db: Database, fn: (tx: Queryable) => Promise<{ result: T; audit: AuditInput }>): Promise<T> {
  return db.write(async (tx) => {
    const { result, audit } = await fn(tx);
    await appendAudit(tx, audit);
    return result;
  }, { locks: [OPERATORS_LOCK, AUDIT_LOCK] });
}

export async function insertCeremony(q: Queryable, c: Ceremony): Promise<void> {
  await q.run('INSERT INTO operator_ceremonies (id, shares, threshold, share_hashes, created_at) VALUES ($1, $2, $3, $4, $5)', [c.id, c.shares, c.threshold, JSON.stringify(c.shareHashes), c.createdAt]);
}

/** The newest ceremony: the split in force. */
export async function latestCeremony(q: Queryable): Promise<Ceremony | undefined> {
  const [r] = await q.query<{ id: string; shares: number; threshold: number; share_hashes: string; created_at: string }>('SELECT * FROM operator_ceremonies ORDER BY created_at DESC, id DESC LIMIT 1');
  return r ? { id: r.id, shares: Number(r.shares), threshold: Number(r.threshold), shareHashes: JSON.parse(r.share_hashes) as string[], createdAt: r.created_at } : undefined;
}

/** The assignment an operator certificate belongs to. */
export async function readOperatorByCertificate(q: Queryable, serial: string): Promise<Operator | undefined> {
  const [row] = await q.query<Row>('SELECT * FROM operators WHERE certificate_serial = $1', [serial]);
  return row ? fromRow(row) : undefined;
}

/** An operator's knowledge factor and login state (no row: no password set yet). */
export interface Credential {
  readonly operatorId: string;
  readonly passwordHash: string;
  readonly setAt: string;
  /** Who set it: `issued` by operator add, or the actor that ran operator password. */
  readonly setBy: string;
  readonly failedLogins: number;
  readonly lockedAt: string | null;
}

export async function readCredential(q: Queryable, operatorId: string): Promise<Credential | undefined> {
  const [r] = await q.query<{ operator_id: string; password_hash: string; set_at: string; set_by: string; failed_logins: number; locked_at: string | null }>('SELECT * FROM operator_credentials WHERE operator_id = $1', [operatorId]);
  return r ? { operatorId: r.operator_id, passwordHash: r.password_hash, setAt: r.set_at, setBy: r.set_by, failedLogins: Number(r.failed_logins), lockedAt: r.locked_at } : undefined;
}

/** Operator ids that have a password. */
export async function credentialIds(q: Queryable): Promise<Set<string>> {
  return new Set((await q.query<{ operator_id: string }>('SELECT operator_id FROM operator_credentials')).map((r) => r.operator_id));
}

/** Set (or replace) the password; failed logins and a lock stay as they are (unlocking is its own act). */
export async function setPasswordHash(q: Queryable, operatorId: string, hash: string, at: Date, by: string): Promise<void> {
  await q.run(
    `INSERT INTO operator_credentials (operator_id, password_hash, set_at, set_by, failed_logins, locked_at) VALUES ($1, $2, $3, $4, 0, NULL)
     ON CONFLICT (operator_id) DO UPDATE SET password_hash = excluded.password_hash, set_at = excluded.set_at, set_by = excluded.set_by`,
    [operatorId, hash, at.toISOString(), by],
  );
}

export async function setLoginState(q: Queryable, operatorId: string, failedLogins: number, lockedAt: Date | null): Promise<void> {
  await q.run('UPDATE operator_credentials SET failed_logins = $1, locked_at = $2 WHERE operator_id = $3', [failedLogins, lockedAt?.toISOString() ?? null, operatorId]);
}

interface SessionRow {
  token_hash: string;
  operator_id: string;
  certificate_serial: string;
  remote: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ended_at: string | null;
  end_reason: string | null;
}

export async function insertSession(q: Queryable, s: SessionRecord): Promise<void> {
  await q.run(
    'INSERT INTO operator_sessions (token_hash, operator_id, certificate_serial, remote, created_at, last_used_at, expires_at, ended_at, end_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)',
    [s.tokenHash, s.operatorId, s.certificateSerial, s.remote, s.createdAt, s.lastUsedAt, s.expiresAt],
  );
}

export async function readSession(q: Queryable, tokenHash: string): Promise<SessionRecord | undefined> {
  const [r] = await q.query<SessionRow>('SELECT * FROM operator_sessions WHERE token_hash = $1', [tokenHash]);
  return r
    ? { tokenHash: r.token_hash, operatorId: r.operator_id, certificateSerial: r.certificate_serial, remote: r.remote, createdAt: r.created_at, lastUsedAt: r.last_used_at, expiresAt: r.expires_at, endedAt: r.ended_at, endReason: r.end_reason }
    : undefined;
}

export async function touchSession(q: Queryable, tokenHash: string, at: Date): Promise<void> {
  await q.run('UPDATE operator_sessions SET last_used_at = $1 WHERE token_hash = $2 AND ended_at IS NULL', [at.toISOString(), tokenHash]);
}

/** End one session; returns whether it was still open. */
export async function endSession(q: Queryable, tokenHash: string, at: Date, reason: string): Promise<boolean> {
  return (await q.run('UPDATE operator_sessions SET ended_at = $1, end_reason = $2 WHERE token_hash = $3 AND ended_at IS NULL', [at.toISOString(), reason, tokenHash])) > 0;
}

/** End every open session of an operator (when locked); returns how many. */
export async function endSessionsOf(q: Queryable, operatorId: string, at: Date, reason: string): Promise<number> {
  return q.run('UPDATE operator_sessions SET ended_at = $1, end_reason = $2 WHERE operator_id = $3 AND ended_at IS NULL', [at.toISOString(), reason, operatorId]);
}
