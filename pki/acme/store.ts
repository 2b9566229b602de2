import { randomBytes } from 'node:crypto';
import type { Database, SqlMigration, Transaction } from '../../lib/sql/index.js';

/**
 * The ACME server's state in lib/sql (component `acme`): nonces, EAB keys, accounts, orders,
 * authorizations, challenges and issued certificates. Everything a request depends on is here,
 * so several `jinbao serve` processes on one PostgreSQL database are one service: a nonce handed
 * out by one is accepted (once) by another, and an order's state moves with conditional updates
 * that exactly one process wins.
 */

const SCHEMA_V2 = `
      ALTER TABLE acme_orders ADD COLUMN claimed_at TEXT;
      ALTER TABLE acme_orders ADD COLUMN csr_key TEXT;
      CREATE TABLE acme_order_authorizations (order_id TEXT NOT NULL, authz_id TEXT NOT NULL, PRIMARY KEY (order_id, authz_id));
      CREATE INDEX acme_order_authorizations_authz ON acme_order_authorizations (authz_id);
      INSERT INTO acme_order_authorizations (order_id, authz_id) SELECT order_id, id FROM acme_authorizations;
      CREATE INDEX acme_authorizations_reuse ON acme_authorizations (account_id, identifier, status);
      CREATE INDEX acme_authorizations_open ON acme_authorizations (status, expires_at);
      CREATE INDEX acme_orders_open ON acme_orders (status, expires_at);`;

export const ACME_MIGRATIONS: readonly SqlMigration[] = [
  {
    description: 'ACME nonces, EAB keys, accounts, orders, authorizations, challenges, certificates',
    up: { sqlite: schemaV1('BLOB'), postgresql: schemaV1('BYTEA') },
  },
  {
    description: 'ACME authorizations shared by orders (reuse), finalize claims recorded for crash recovery, indexes for the expiry sweep',
    up: { sqlite: SCHEMA_V2, postgresql: SCHEMA_V2 },
  },
];


/** A processing order whose claim is older than this is taken to belong to a process that died. */
export const PROCESSING_STALE_MS = 60_000;

function schemaV1(bytes: 'BLOB' | 'BYTEA'): string {
  return `
      CREATE TABLE acme_nonces (value TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
      CREATE INDEX acme_nonces_expiry ON acme_nonces (expires_at);
      CREATE TABLE acme_eab_keys (
        kid TEXT PRIMARY KEY,
        site TEXT NOT NULL,
        application TEXT,
        salt ${bytes} NOT NULL,
        iv ${bytes} NOT NULL,
        ciphertext ${bytes} NOT NULL,
        tag ${bytes} NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        account_id TEXT
      );
      CREATE TABLE acme_accounts (
        id TEXT PRIMARY KEY,
        thumbprint TEXT NOT NULL UNIQUE,
        jwk TEXT NOT NULL,
        status TEXT NOT NULL,
        contact TEXT NOT NULL,
        site TEXT NOT NULL,
        application TEXT,
        eab_kid TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE acme_orders (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        status TEXT NOT NULL,
        identifiers TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        error TEXT,
        certificate_id TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX acme_orders_account ON acme_orders (account_id);
      CREATE TABLE acme_authorizations (
        id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        account_id TEXT NOT NULL,
        identifier TEXT NOT NULL,
        wildcard INTEGER NOT NULL,
        status TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX acme_authorizations_order ON acme_authorizations (order_id);
      CREATE TABLE acme_challenges (
        id TEXT PRIMARY KEY,
        authz_id TEXT NOT NULL,
        type TEXT NOT NULL,
        token TEXT NOT NULL,
        status TEXT NOT NULL,
        validated_at TEXT,
        error TEXT
      );
      CREATE INDEX acme_challenges_authz ON acme_challenges (authz_id);
      CREATE TABLE acme_certificates (
        id TEXT PRIMARY KEY,
        serial TEXT NOT NULL UNIQUE,
        account_id TEXT NOT NULL,
        order_id TEXT NOT NULL,
        chain_pem TEXT NOT NULL,
        not_before TEXT NOT NULL,
        not_after TEXT NOT NULL,
        created_at TEXT NOT NULL
      );`;
}

export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
export type AuthzStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';

export interface EabKeyRow {
  readonly kid: string;
  readonly site: string;
  readonly application: string | null;
  readonly salt: Buffer;
  readonly iv: Buffer;
  readonly ciphertext: Buffer;
  readonly tag: Buffer;
  readonly created_at: string;
  readonly expires_at: string;
  readonly account_id: string | null;
}

export interface AccountRow {
  readonly id: string;
  readonly thumbprint: string;
  readonly jwk: string;
  readonly status: 'valid' | 'deactivated' | 'revoked';
  readonly contact: string;
  readonly site: string;
  readonly application: string | null;
  readonly eab_kid: string;
  readonly created_at: string;
}

export interface OrderRow {
  readonly id: string;
  readonly account_id: string;
  readonly status: OrderStatus;
  readonly identifiers: string;
  readonly expires_at: string;
  readonly error: string | null;
  readonly certificate_id: string | null;
  readonly created_at: string;
  /** When finalize moved it to processing, and the SHA-256 (hex) of the CSR's public key. */
  readonly claimed_at?: string | null;
  readonly csr_key?: string | null;
}

export interface AuthzRow {
  readonly id: string;
  /** The order that created it; later orders of the same account may reuse it while it is valid. */
  readonly order_id: string;
  readonly account_id: string;
  readonly identifier: string;
  readonly wildcard: number;
  readonly status: AuthzStatus;
  readonly expires_at: string;
}

export interface ChallengeRow {
  readonly id: string;
  readonly authz_id: string;
  readonly type: 'http-01' | 'dns-01' | 'tls-alpn-01';
  readonly token: string;
  readonly status: ChallengeStatus;
  readonly validated_at: string | null;
  readonly error: string | null;
}

export interface CertificateRow {
  readonly id: string;
  readonly serial: string;
  readonly account_id: string;
  readonly order_id: string;
  readonly chain_pem: string;
  readonly not_before: string;
  readonly not_after: string;
  readonly created_at: string;
}

/** The orders that use an authorization (its own and those that reuse it); $1 is the authorization id. */
const ORDERS_OF_AUTHZ = 'SELECT order_id FROM acme_order_authorizations WHERE authz_id = $1';

/** A random URL-safe id (128 bits). */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** A nonce lives this long unless used. */
export const NONCE_TTL_MS = 10 * 60_000;

export class AcmeStore {
  private issuedSinceSweep = 0;

  private constructor(readonly db: Database) {}

  static async open(db: Database): Promise<AcmeStore> {
    await db.migrate('acme', ACME_MIGRATIONS);
    return new AcmeStore(db);
  }

  // ---- nonces

  /**
   * Nonce writes are not durable commits (`durable: false`): a nonce lost in a power failure is
   * answered with badNonce and the client retries with a fresh one (RFC 8555 6.5), and a use lost
   * that way reopens a nonce only for a request already sent over TLS before the failure. They
   * take no advisory lock either: the DELETE of one row is atomic on both backends. Half the
   * commits of an ACME order are nonces; they no longer wait for the disk.
   */
  private static readonly NONCE_WRITE = { locks: [], durable: false } as const;

  async newNonce(now = new Date()): Promise<string> {
    const value = randomBytes(16).toString('base64url');
    const sweep = ++this.issuedSinceSweep >= 500;
    if (sweep) this.issuedSinceSweep = 0;
    await this.db.write(async (tx) => {
      await tx.run('INSERT INTO acme_nonces (value, expires_at) VALUES ($1, $2)', [value, new Date(now.getTime() + NONCE_TTL_MS).toISOString()]);
      if (sweep) await tx.run('DELETE FROM acme_nonces WHERE expires_at <= $1', [now.toISOString()]);
    }, AcmeStore.NONCE_WRITE);
    return value;
  }

  /**
   * Use a nonce and hand out the next one in the same transaction. `ok` is true exactly once per
   * nonce handed out and not expired, in any process.
   */
  async useNonce(value: string, now = new Date()): Promise<{ ok: boolean; next: string }> {
    const next = randomBytes(16).toString('base64url');
    return this.db.write(async (tx) => {
      const ok = value.length > 0 && value.length <= 64 && (await tx.run('DELETE FROM acme_nonces WHERE value = $1 AND expires_at > $2', [value, now.toISOString()])) === 1;
      await tx.run('INSERT INTO acme_nonces (value, expires_at) VALUES ($1, $2)', [next, new Date(now.getTime() + NONCE_TTL_MS).toISOString()]);
      return { ok, next };
    }, AcmeStore.NONCE_WRITE);
  }

  // ---- EAB keys

  async insertEabKey(row: EabKeyRow): Promise<void> {
    await this.db.run(
      'INSERT INTO acme_eab_keys (kid, site, application, salt, iv, ciphertext, tag, created_at, expires_at, account_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
      [row.kid, row.site, row.application, row.salt, row.iv, row.ciphertext, row.tag, row.created_at, row.expires_at, row.account_id],
    );
  }

  async eabKey(kid: string): Promise<EabKeyRow | undefined> {
    return (await this.db.query<EabKeyRow>('SELECT * FROM acme_eab_keys WHERE kid = $1', [kid]))[0];
  }

  async listEabKeys(): Promise<EabKeyRow[]> {
    return this.db.query<EabKeyRow>('SELECT * FROM acme_eab_keys ORDER BY created_at, kid');
  }

  // ---- accounts

  async accountByThumbprint(thumbprint: string): Promise<AccountRow | undefined> {
    return (await this.db.query<AccountRow>('SELECT * FROM acme_accounts WHERE thumbprint = $1', [thumbprint]))[0];
  }

  async account(id: string): Promise<AccountRow | undefined> {
    return (await this.db.query<AccountRow>('SELECT * FROM acme_accounts WHERE id = $1', [id]))[0];
  }

  /**
   * Create an account bound to an EAB key that no account used yet. Returns undefined when the key
   * was taken meanwhile (by another request, in any process) or the account key is in use.
   */
  async createAccount(row: AccountRow): Promise<'created' | 'eab-used' | 'key-in-use'> {
    return this.db.write(async (tx) => {
      if ((await tx.query('SELECT id FROM acme_accounts WHERE thumbprint = $1', [row.thumbprint])).length) return 'key-in-use';
      const claimed = await tx.run('UPDATE acme_eab_keys SET account_id = $1 WHERE kid = $2 AND account_id IS NULL', [row.id, row.eab_kid]);
      if (claimed !== 1) return 'eab-used';
      await tx.run(
        'INSERT INTO acme_accounts (id, thumbprint, jwk, status, contact, site, application, eab_kid, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        [row.id, row.thumbprint, row.jwk, row.status, row.contact, row.site, row.application, row.eab_kid, row.created_at],
      );
      return 'created';
    }, { locks: ['acme.accounts'] });
  }

  async updateAccount(id: string, change: { status?: AccountRow['status']; contact?: string }): Promise<void> {
    if (change.status !== undefined) await this.db.run('UPDATE acme_accounts SET status = $1 WHERE id = $2', [change.status, id]);
    if (change.contact !== undefined) await this.db.run('UPDATE acme_accounts SET contact = $1 WHERE id = $2', [change.contact, id]);
  }

  /** Replace an account's key; false when another account holds the new key. */
  async changeAccountKey(id: string, oldThumbprint: string, thumbprint: string, jwk: string): Promise<'changed' | 'key-in-use' | 'stale'> {
    return this.db.write(async (tx) => {
      if ((await tx.query('SELECT id FROM acme_accounts WHERE thumbprint = $1', [thumbprint])).length) return 'key-in-use';
      const n = await tx.run('UPDATE acme_accounts SET thumbprint = $1, jwk = $2 WHERE id = $3 AND thumbprint = $4', [thumbprint, jwk, id, oldThumbprint]);
      return n === 1 ? 'changed' : 'stale';
    }, { locks: ['acme.accounts'] });
  }

  // ---- orders, authorizations, challenges

  /**
   * A valid authorization of this account for this identifier that outlives `until`, for a new
   * order to reuse (RFC 8555 §7.4: the server may reuse authorizations it already validated).
   */
  async reusableAuthorization(accountId: string, identifier: string, wildcard: boolean, until: Date): Promise<AuthzRow | undefined> {
    return (await this.db.query<AuthzRow>("SELECT * FROM acme_authorizations WHERE account_id = $1 AND identifier = $2 AND wildcard = $3 AND status = 'valid' AND expires_at > $4 ORDER BY expires_at DESC, id LIMIT 1", [accountId, identifier, wildcard ? 1 : 0, until.toISOString()]))[0];
  }

  /**
   * Record an order with its new authorizations and links to reused ones. The reused ones must
   * still be valid when this commits, else nothing is written and the answer is false.
   */
  async createOrder(order: OrderRow, authzs: readonly { authz: AuthzRow; challenges: readonly ChallengeRow[] }[], reused: readonly string[] = []): Promise<boolean> {
    return this.db.write(async (tx) => {
      for (const id of reused) if ((await tx.query("SELECT id FROM acme_authorizations WHERE id = $1 AND status = 'valid' AND expires_at > $2", [id, order.created_at])).length === 0) return false;
      await tx.run('INSERT INTO acme_orders (id, account_id, status, identifiers, expires_at, error, certificate_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        order.id, order.account_id, order.status, order.identifiers, order.expires_at, order.error, order.certificate_id, order.created_at,
      ]);
      for (const { authz: a, challenges } of authzs) {
        await tx.run('INSERT INTO acme_authorizations (id, order_id, account_id, identifier, wildcard, status, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [a.id, a.order_id, a.account_id, a.identifier, a.wildcard, a.status, a.expires_at]);
        for (const c of challenges) await tx.run('INSERT INTO acme_challenges (id, authz_id, type, token, status, validated_at, error) VALUES ($1, $2, $3, $4, $5, $6, $7)', [c.id, c.authz_id, c.type, c.token, c.status, c.validated_at, c.error]);
      }
      for (const id of [...authzs.map((a) => a.authz.id), ...reused]) await tx.run('INSERT INTO acme_order_authorizations (order_id, authz_id) VALUES ($1, $2)', [order.id, id]);
      return true;
    }, { locks: ['acme.orders'] });
  }

  async order(id: string): Promise<OrderRow | undefined> {
    return (await this.db.query<OrderRow>('SELECT * FROM acme_orders WHERE id = $1', [id]))[0];
  }

  async authorizationsOf(orderId: string): Promise<AuthzRow[]> {
    return this.db.query<AuthzRow>('SELECT a.* FROM acme_authorizations a JOIN acme_order_authorizations l ON l.authz_id = a.id WHERE l.order_id = $1 ORDER BY a.identifier, a.id', [orderId]);
  }

  async authorization(id: string): Promise<AuthzRow | undefined> {
    return (await this.db.query<AuthzRow>('SELECT * FROM acme_authorizations WHERE id = $1', [id]))[0];
  }

  async challengesOf(authzId: string): Promise<ChallengeRow[]> {
    return this.db.query<ChallengeRow>('SELECT * FROM acme_challenges WHERE authz_id = $1 ORDER BY type', [authzId]);
  }

  async challenge(id: string): Promise<ChallengeRow | undefined> {
    return (await this.db.query<ChallengeRow>('SELECT * FROM acme_challenges WHERE id = $1', [id]))[0];
  }

  /** Move a challenge from pending to processing; false when it was not pending (someone else started it). */
  async startChallenge(id: string): Promise<boolean> {
    return (await this.db.run("UPDATE acme_challenges SET status = 'processing' WHERE id = $1 AND status = 'pending'", [id])) === 1;
  }

  /**
   * Record a validation's outcome: the challenge, its authorization and, when every authorization
   * of the order is valid, the order (pending → ready); a failure makes the authorization and the
   * order invalid (RFC 8555 §7.1.6).
   */
  async finishChallenge(c: ChallengeRow, outcome: { ok: true; at: Date } | { ok: false; error: string }): Promise<void> {
    await this.db.write(async (tx: Transaction) => {
      const [authz] = await tx.query<AuthzRow>('SELECT * FROM acme_authorizations WHERE id = $1', [c.authz_id]);
      if (!authz) return;
      if (outcome.ok) {
        await tx.run("UPDATE acme_challenges SET status = 'valid', validated_at = $1 WHERE id = $2", [outcome.at.toISOString(), c.id]);
        await tx.run("UPDATE acme_authorizations SET status = 'valid' WHERE id = $1 AND status = 'pending'", [authz.id]);
        await tx.run(
          `UPDATE acme_orders SET status = 'ready' WHERE status = 'pending' AND id IN (${ORDERS_OF_AUTHZ})
             AND NOT EXISTS (SELECT 1 FROM acme_order_authorizations l JOIN acme_authorizations a ON a.id = l.authz_id WHERE l.order_id = acme_orders.id AND a.status <> 'valid')`,
          [authz.id],
        );
      } else {
        await tx.run("UPDATE acme_challenges SET status = 'invalid', error = $1 WHERE id = $2", [outcome.error, c.id]);
        await tx.run("UPDATE acme_authorizations SET status = 'invalid' WHERE id = $1 AND status = 'pending'", [authz.id]);
        await tx.run(`UPDATE acme_orders SET status = 'invalid', error = $2 WHERE status IN ('pending', 'ready') AND id IN (${ORDERS_OF_AUTHZ})`, [authz.id, outcome.error]);
      }
    }, { locks: ['acme.orders'] });
  }

  async deactivateAuthorization(id: string): Promise<void> {
    await this.db.write(async (tx) => {
      const [authz] = await tx.query<AuthzRow>('SELECT * FROM acme_authorizations WHERE id = $1', [id]);
      if (!authz) return;
      await tx.run("UPDATE acme_authorizations SET status = 'deactivated' WHERE id = $1 AND status IN ('pending', 'valid')", [id]);
      await tx.run(`UPDATE acme_orders SET status = 'invalid', error = $2 WHERE status IN ('pending', 'ready') AND id IN (${ORDERS_OF_AUTHZ})`, [id, JSON.stringify({ type: 'urn:ietf:params:acme:error:unauthorized', detail: `authorization for ${authz.identifier} was deactivated`, status: 403 })]);
    }, { locks: ['acme.orders'] });
  }

  /**
   * Claim an order for finalization: ready → processing. Exactly one caller, in any process, gets
   * true; every other concurrent finalize sees false.
   */
  async claimFinalize(orderId: string, at: Date, csrKey: string): Promise<boolean> {
    return (await this.db.run("UPDATE acme_orders SET status = 'processing', claimed_at = $2, csr_key = $3 WHERE id = $1 AND status = 'ready'", [orderId, at.toISOString(), csrKey])) === 1;
  }

  /**
   * Past `expires` (RFC 8555 §7.1.6): pending authorizations become invalid, valid ones expired,
   * pending and ready orders invalid; used-up nonces go. Every process may run it at any time.
   */
  async expire(now: Date): Promise<{ orders: number; authorizations: number }> {
    const at = now.toISOString();
    const error = JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail: 'the order expired before it was finalized; place a new order', status: 400 });
    return this.db.write(async (tx) => {
      const authorizations = (await tx.run("UPDATE acme_authorizations SET status = 'invalid' WHERE status = 'pending' AND expires_at <= $1", [at])) + (await tx.run("UPDATE acme_authorizations SET status = 'expired' WHERE status = 'valid' AND expires_at <= $1", [at]));
      const orders = await tx.run("UPDATE acme_orders SET status = 'invalid', error = $2 WHERE status IN ('pending', 'ready') AND expires_at <= $1", [at, error]);
      await tx.run('DELETE FROM acme_nonces WHERE expires_at <= $1', [at]);
      return { orders, authorizations };
    }, { locks: ['acme.orders'] });
  }

  /** Processing orders claimed before `claimedBefore`: their finalize died with its process. */
  async staleProcessing(claimedBefore: Date): Promise<OrderRow[]> {
    return this.db.query<OrderRow>("SELECT * FROM acme_orders WHERE status = 'processing' AND (claimed_at IS NULL OR claimed_at <= $1) ORDER BY claimed_at, id", [claimedBefore.toISOString()]);
  }

  /**
   * A processing order nothing was issued for goes back to ready (its authorizations still hold)
   * or, past its expiry, to invalid. Only the claim that was seen is undone.
   */
  async releaseClaim(order: OrderRow, now: Date): Promise<boolean> {
    const error = JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail: 'the order expired while it was being finalized; place a new order', status: 400 });
    return (await this.db.run(
      "UPDATE acme_orders SET status = CASE WHEN expires_at > $3 THEN 'ready' ELSE 'invalid' END, error = CASE WHEN expires_at > $3 THEN NULL ELSE $4 END, claimed_at = NULL, csr_key = NULL WHERE id = $1 AND status = 'processing' AND (claimed_at = $2 OR (claimed_at IS NULL AND $2 IS NULL))",
      [order.id, order.claimed_at ?? null, now.toISOString(), error],
    )) === 1;
  }

  async orderInvalid(orderId: string, error: string): Promise<void> {
    await this.db.run("UPDATE acme_orders SET status = 'invalid', error = $1 WHERE id = $2", [error, orderId]);
  }

  /** A processing order whose certificate was issued: record the certificate and make the order valid. */
  async orderIssued(orderId: string, cert: CertificateRow): Promise<boolean> {
    return this.db.write(async (tx) => {
      if ((await tx.run("UPDATE acme_orders SET status = 'valid', certificate_id = $1 WHERE id = $2 AND status = 'processing'", [cert.id, orderId])) !== 1) return false;
      await tx.run('INSERT INTO acme_certificates (id, serial, account_id, order_id, chain_pem, not_before, not_after, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        cert.id, cert.serial, cert.account_id, cert.order_id, cert.chain_pem, cert.not_before, cert.not_after, cert.created_at,
      ]);
      return true;
    }, { locks: ['acme.orders'] });
  }

  async certificate(id: string): Promise<CertificateRow | undefined> {
    return (await this.db.query<CertificateRow>('SELECT * FROM acme_certificates WHERE id = $1', [id]))[0];
  }

  async certificateBySerial(serial: string): Promise<CertificateRow | undefined> {
    return (await this.db.query<CertificateRow>('SELECT * FROM acme_certificates WHERE serial = $1', [serial]))[0];
  }
}
