import { AUDIT_LOCK, appendAudit, migrateAudit, type AuditInput } from '../../lib/audit.js';
import type { Database, SqlMigration } from '../../lib/sql/index.js';

/**
 * The CMP server's state in lib/sql (component `cmp`): one-time enrollment secrets and the
 * transactions waiting for the holder's certConf. Several `jinbao serve` processes on one
 * PostgreSQL database are one CMP server: a secret is claimed by a conditional update that exactly
 * one request wins, in any process. Each change is recorded in the audit log in its own transaction.
 */

export const CMP_MIGRATIONS: readonly SqlMigration[] = [
  {
    description: 'CMP enrollment secrets and transactions',
    up: { sqlite: schemaV1('BLOB'), postgresql: schemaV1('BYTEA') },
  },
];

function schemaV1(bytes: 'BLOB' | 'BYTEA'): string {
  return `
      CREATE TABLE cmp_secrets (
        reference TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        profile TEXT NOT NULL,
        subject TEXT NOT NULL,
        identity_code TEXT,
        insurance_number TEXT,
        salt ${bytes} NOT NULL,
        iv ${bytes} NOT NULL,
        ciphertext ${bytes} NOT NULL,
        tag ${bytes} NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT,
        revoked_at TEXT,
        serial TEXT
      );
      CREATE TABLE cmp_transactions (
        transaction_id TEXT PRIMARY KEY,
        reference TEXT,
        holder TEXT NOT NULL,
        serial TEXT NOT NULL,
        cert_hash TEXT NOT NULL,
        supersedes TEXT,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL
      );`;
}

export interface SecretRow {
  readonly reference: string;
  readonly site: string;
  readonly profile: string;
  /** The subject the secret was created for ("CN=张三, serialNumber=S0001"). */
  readonly subject: string;
  readonly identity_code: string | null;
  readonly insurance_number: string | null;
  readonly salt: Buffer;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
  readonly created_at: string;
  readonly expires_at: string;
  readonly used_at: string | null;
  readonly revoked_at: string | null;
  readonly serial: string | null;
}

export interface TransactionRow {
  readonly transaction_id: string;
  /** The secret that authenticated it (PBM), or null when the holder's certificate signed it. */
  readonly reference: string | null;
  /** Who asked: the secret's reference or the signing certificate's serial. */
  readonly holder: string;
  readonly serial: string;
  readonly cert_hash: string;
  /** kur: the holder's certificate that the new one replaces once confirmed. */
  readonly supersedes: string | null;
  readonly status: 'waiting' | 'confirmed' | 'rejected';
  readonly created_at: string;
}

export class CmpStore {
  private constructor(readonly db: Database) {}

  static async open(db: Database): Promise<CmpStore> {
    await migrateAudit(db);
    await db.migrate('cmp', CMP_MIGRATIONS);
    return new CmpStore(db);
  }

  async insertSecrets(rows: readonly SecretRow[], audit: readonly AuditInput[]): Promise<void> {
    await this.db.write(async (tx) => {
      for (const r of rows) {
        await tx.run(
          'INSERT INTO cmp_secrets (reference, site, profile, subject, identity_code, insurance_number, salt, iv, ciphertext, tag, created_at, expires_at, used_at, revoked_at, serial) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)',
          [r.reference, r.site, r.profile, r.subject, r.identity_code, r.insurance_number, r.salt, r.iv, r.ciphertext, r.tag, r.created_at, r.expires_at, r.used_at, r.revoked_at, r.serial],
        );
      }
      await appendAudit(tx, ...audit);
    }, { locks: [AUDIT_LOCK] });
  }

  async secret(reference: string): Promise<SecretRow | undefined> {
    return (await this.db.query<SecretRow>('SELECT * FROM cmp_secrets WHERE reference = $1', [reference]))[0];
  }

  /** Every secret, or those of one site. */
  async listSecrets(site?: string): Promise<SecretRow[]> {
    if (site !== undefined) return this.db.query<SecretRow>('SELECT * FROM cmp_secrets WHERE site = $1 ORDER BY created_at, reference', [site]);
    return this.db.query<SecretRow>('SELECT * FROM cmp_secrets ORDER BY created_at, reference');
  }

  /** Claim an unused, unrevoked, unexpired secret; true for exactly one caller, in any process. */
  async claimSecret(reference: string, now: Date): Promise<boolean> {
    const at = now.toISOString();
    return (await this.db.run('UPDATE cmp_secrets SET used_at = $1 WHERE reference = $2 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1', [at, reference])) === 1;
  }

  /** Give a claimed secret back (the issuance it was claimed for was refused). */
  async releaseSecret(reference: string): Promise<void> {
    await this.db.run('UPDATE cmp_secrets SET used_at = NULL WHERE reference = $1 AND serial IS NULL', [reference]);
  }

  async revokeSecret(reference: string, now: Date, audit: AuditInput): Promise<boolean> {
    return this.db.write(async (tx) => {
      const n = await tx.run('UPDATE cmp_secrets SET revoked_at = $1 WHERE reference = $2 AND revoked_at IS NULL AND used_at IS NULL', [now.toISOString(), reference]);
      if (n === 1) await appendAudit(tx, audit);
      return n === 1;
    }, { locks: [AUDIT_LOCK] });
  }

  async recordIssued(t: TransactionRow, audit: AuditInput): Promise<void> {
    await this.db.write(async (tx) => {
      if (t.reference !== null) await tx.run('UPDATE cmp_secrets SET serial = $1 WHERE reference = $2', [t.serial, t.reference]);
      await tx.run('INSERT INTO cmp_transactions (transaction_id, reference, holder, serial, cert_hash, supersedes, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        t.transaction_id, t.reference, t.holder, t.serial, t.cert_hash, t.supersedes, t.status, t.created_at,
      ]);
      await appendAudit(tx, audit);
    }, { locks: [AUDIT_LOCK] });
  }

  async transaction(id: string): Promise<TransactionRow | undefined> {
    return (await this.db.query<TransactionRow>('SELECT * FROM cmp_transactions WHERE transaction_id = $1', [id]))[0];
  }

  /** waiting → confirmed or rejected, audited; false when it was no longer waiting. */
  async finishTransaction(id: string, status: 'confirmed' | 'rejected', audit: AuditInput): Promise<boolean> {
    return this.db.write(async (tx) => {
      const n = await tx.run("UPDATE cmp_transactions SET status = $1 WHERE transaction_id = $2 AND status = 'waiting'", [status, id]);
      if (n === 1) await appendAudit(tx, audit);
      return n === 1;
    }, { locks: [AUDIT_LOCK] });
  }
}
