import { appendAudit, AUDIT_LOCK, migrateAudit, type AuditInput } from '../lib/audit.js';
import type { Database, Queryable, SqlMigration } from '../lib/sql/index.js';
import type { Ceremony } from './ceremony.js';
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
