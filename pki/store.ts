import { appendAudit, migrateAudit } from '../lib/audit.js';
import { InputError } from '../lib/errors.js';
import type { Statement } from 'better-sqlite3';
import type { Migration, StateStore } from '../lib/state.js';
import type { CaAlgorithm } from './algorithms.js';

/**
 * The certificate store: CA records and issued certificates in the state store's SQLite database.
 * Serial numbers are unique by a UNIQUE constraint, so two processes can never record the same
 * one; every change is written in one transaction together with its audit entry.
 */

/** RFC 5280 CRLReason names, with their codes. */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

export function parseRevocationReason(value: string): RevocationReason {
  if (Object.hasOwn(REVOCATION_REASONS, value)) return value as RevocationReason;
  throw new InputError(`revocation reason: got "${value}", want one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
}

export type CaRole = 'root' | 'issuing';
/** What an issuing CA signs: staff certificates of one site's scope, or infrastructure (servers, replicas, OCSP). */
export type CaPurpose = 'root' | 'staff' | 'infrastructure';

export interface CaRecord {
  readonly id: string;
  readonly parentId: string | null;
  readonly role: CaRole;
  readonly purpose: CaPurpose;
  /** For staff CAs: the ministry or province whose staff it certifies. */
  readonly site: string | null;
  readonly algorithm: CaAlgorithm;
  readonly subject: string;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly der: Uint8Array;
  readonly keyBackend: string;
  readonly keyRef: string;
  readonly status: 'active' | 'revoked';
  readonly revokedAt: Date | null;
  readonly revocationReason: RevocationReason | null;
  /** Position in the store's revocation sequence (the parent's delta CRLs); null while not revoked. */
  readonly revocationSeq: number | null;
  /** The revoked CA this one succeeds (`jinbao pki replace-ca`); null for a CA of the original hierarchy. */
  readonly replaces: string | null;
  readonly createdAt: Date;
}

export interface CertificateRecord {
  /** Lowercase hex of the serial number's value, no separators. */
  readonly serial: string;
  readonly caId: string;
  readonly profile: string;
  readonly profileVersion: number;
  readonly site: string;
  /** RFC 4514 string form of the subject. */
  readonly subject: string;
  readonly commonName: string;
  /** Staff profiles: the staff number (subject serialNumber). */
  readonly staffNumber: string | null;
  /** server-tls: the business domain (application) the certificate serves. */
  readonly application: string | null;
  readonly sans: readonly string[];
  readonly keyType: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly der: Uint8Array;
  readonly status: 'active' | 'revoked';
  readonly revokedAt: Date | null;
  readonly revocationReason: RevocationReason | null;
  /** Position in the store's revocation sequence (for delta CRLs); null while not revoked. */
  readonly revocationSeq: number | null;
  readonly issuedAt: Date;
}

/** One revoked serial as a CRL needs it. */
export interface RevokedEntry {
  readonly serial: string;
  readonly revokedAt: Date;
  readonly reason: RevocationReason;
  readonly revocationSeq: number;
}

/** The pki component's schema versions, oldest first (exported so tests can build a store at an earlier version). */
export const PKI_MIGRATIONS: readonly Migration[] = [
  {
    description: 'CA records, issued certificates, revocation sequence',
    up: `
      CREATE TABLE pki_cas (
        id TEXT PRIMARY KEY,
        parent_id TEXT REFERENCES pki_cas(id),
        role TEXT NOT NULL CHECK (role IN ('root', 'issuing')),
        purpose TEXT NOT NULL CHECK (purpose IN ('root', 'staff', 'infrastructure')),
        site TEXT,
        algorithm TEXT NOT NULL,
        subject TEXT NOT NULL,
        serial TEXT NOT NULL UNIQUE,
        not_before TEXT NOT NULL,
        not_after TEXT NOT NULL,
        der BLOB NOT NULL,
        key_backend TEXT NOT NULL,
        key_ref TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
        revoked_at TEXT,
        revocation_reason TEXT,
        created_at TEXT NOT NULL
      );
      CREATE TABLE pki_certificates (
        id INTEGER PRIMARY KEY,
        serial TEXT NOT NULL UNIQUE,
        ca_id TEXT NOT NULL REFERENCES pki_cas(id),
        profile TEXT NOT NULL,
        profile_version INTEGER NOT NULL,
        site TEXT NOT NULL,
        subject TEXT NOT NULL,
        common_name TEXT NOT NULL,
        staff_number TEXT,
        application TEXT,
        sans TEXT NOT NULL,
        key_type TEXT NOT NULL,
        not_before TEXT NOT NULL,
        not_after TEXT NOT NULL,
        der BLOB NOT NULL,
        status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
        revoked_at TEXT,
        revocation_reason TEXT,
        revocation_seq INTEGER UNIQUE,
        issued_at TEXT NOT NULL
      );
      CREATE INDEX pki_certificates_site ON pki_certificates (site, profile, status);
      CREATE INDEX pki_certificates_expiry ON pki_certificates (not_after);
      CREATE INDEX pki_certificates_revoked ON pki_certificates (ca_id, revocation_seq) WHERE revocation_seq IS NOT NULL;
      CREATE TABLE pki_sequence (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO pki_sequence (name, value) VALUES ('revocation', 0);
    `,
  },
  {
    description: "CA revocations join the revocation sequence, so the parent's full and delta CRLs list them",
    up: (db) => {
      db.exec(`
        ALTER TABLE pki_cas ADD COLUMN revocation_seq INTEGER;
        CREATE UNIQUE INDEX pki_cas_revoked ON pki_cas (revocation_seq) WHERE revocation_seq IS NOT NULL;
      `);
      // CAs revoked before this version had no place in the sequence: give them one now, oldest
      // first, so the parent's next full and delta CRLs carry them.
      const bump = db.prepare("UPDATE pki_sequence SET value = value + 1 WHERE name = 'revocation' RETURNING value").pluck();
      const set = db.prepare('UPDATE pki_cas SET revocation_seq = ? WHERE id = ?');
      const revoked = db.prepare("SELECT id FROM pki_cas WHERE status = 'revoked' ORDER BY revoked_at, id").pluck().all() as string[];
      for (const id of revoked) set.run(bump.get(), id);
    },
  },
  {
    description: 'A successor CA names the revoked CA it replaces; each CA has at most one successor',
    up: `
      ALTER TABLE pki_cas ADD COLUMN replaces TEXT REFERENCES pki_cas(id);
      CREATE UNIQUE INDEX pki_cas_replaces ON pki_cas (replaces) WHERE replaces IS NOT NULL;
    `,
  },
];

/** Canonical serial form: lowercase hex, no separators or "0x", no leading zero bytes. */
export function normalizeSerial(input: string): string {
  const hex = input.trim().toLowerCase().replace(/^0x/, '').replace(/[:\s]/g, '');
  if (!/^[0-9a-f]+$/.test(hex)) throw new InputError(`serial: got "${input}", want hexadecimal digits (as "jinbao pki list" or "openssl x509 -serial" print them)`);
  let h = hex.replace(/^(00)+/, '');
  if (h.length === 0) h = '00';
  return h.length % 2 === 1 ? `0${h}` : h;
}

interface CaRow {
  id: string;
  parent_id: string | null;
  role: CaRole;
  purpose: CaPurpose;
  site: string | null;
  algorithm: CaAlgorithm;
  subject: string;
  serial: string;
  not_before: string;
  not_after: string;
  der: Buffer;
  key_backend: string;
  key_ref: string;
  status: 'active' | 'revoked';
  revoked_at: string | null;
  revocation_reason: RevocationReason | null;
  revocation_seq: number | null;
  replaces: string | null;
  created_at: string;
}

interface CertRow {
  serial: string;
  ca_id: string;
  profile: string;
  profile_version: number;
  site: string;
  subject: string;
  common_name: string;
  staff_number: string | null;
  application: string | null;
  sans: string;
  key_type: string;
  not_before: string;
  not_after: string;
  der: Buffer;
  status: 'active' | 'revoked';
  revoked_at: string | null;
  revocation_reason: RevocationReason | null;
  revocation_seq: number | null;
  issued_at: string;
}

/** Canonical serials in numeric order: shorter first, then by digits. */
const serialBefore = (a: string, b: string) => a.length < b.length || (a.length === b.length && a < b);

const date = (s: string | null) => (s === null ? null : new Date(s));

function caFromRow(r: CaRow): CaRecord {
  return {
    id: r.id,
    parentId: r.parent_id,
    role: r.role,
    purpose: r.purpose,
    site: r.site,
    algorithm: r.algorithm,
    subject: r.subject,
    serial: r.serial,
    notBefore: new Date(r.not_before),
    notAfter: new Date(r.not_after),
    der: new Uint8Array(r.der),
    keyBackend: r.key_backend,
    keyRef: r.key_ref,
    status: r.status,
    revokedAt: date(r.revoked_at),
    revocationReason: r.revocation_reason,
    revocationSeq: r.revocation_seq,
    replaces: r.replaces,
    createdAt: new Date(r.created_at),
  };
}

function certFromRow(r: CertRow): CertificateRecord {
  return {
    serial: r.serial,
    caId: r.ca_id,
    profile: r.profile,
    profileVersion: r.profile_version,
    site: r.site,
    subject: r.subject,
    commonName: r.common_name,
    staffNumber: r.staff_number,
    application: r.application,
    sans: JSON.parse(r.sans) as string[],
    keyType: r.key_type,
    notBefore: new Date(r.not_before),
    notAfter: new Date(r.not_after),
    der: new Uint8Array(r.der),
    status: r.status,
    revokedAt: date(r.revoked_at),
    revocationReason: r.revocation_reason,
    revocationSeq: r.revocation_seq,
    issuedAt: new Date(r.issued_at),
  };
}

export interface CertificateQuery {
  readonly site?: string;
  readonly caId?: string;
  readonly profile?: string;
  readonly status?: 'active' | 'revoked';
  /** Only certificates whose notAfter falls before this instant. */
  readonly expiringBefore?: Date;
  /** Only certificates still within their validity at this instant. */
  readonly validAt?: Date;
}

export type NewCertificate = Omit<CertificateRecord, 'status' | 'revokedAt' | 'revocationReason' | 'revocationSeq'>;
export type NewCa = Omit<CaRecord, 'status' | 'revokedAt' | 'revocationReason' | 'revocationSeq' | 'replaces'> & { readonly replaces?: string | null };

export class UniqueSerialError extends Error {}

/** Access to the PKI tables of one state store. */
export class PkiStore {
  private readonly statements = new Map<string, Statement>();
  private constructor(readonly state: StateStore) {}

  /** Prepared once per store: issuance runs the same few statements thousands of times. */
  private stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.state.db.prepare(sql)));
    return s;
  }

  /** Open the PKI tables, creating or upgrading them. */
  static open(state: StateStore): PkiStore {
    state.migrate('pki', PKI_MIGRATIONS);
    migrateAudit(state);
    return new PkiStore(state);
  }

  // ---- CAs

  getCa(id: string): CaRecord | undefined {
    const r = this.stmt('SELECT * FROM pki_cas WHERE id = ?').get(id) as CaRow | undefined;
    return r && caFromRow(r);
  }

  listCas(): CaRecord[] {
    return (this.stmt("SELECT * FROM pki_cas ORDER BY created_at, CASE role WHEN 'root' THEN 0 ELSE 1 END, id").all() as CaRow[]).map(caFromRow);
  }

  /** Insert a CA record (inside the caller's transaction when there is one). */
  insertCa(ca: NewCa): void {
    this
      .stmt(
        `INSERT INTO pki_cas (id, parent_id, role, purpose, site, algorithm, subject, serial, not_before, not_after, der, key_backend, key_ref, replaces, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(ca.id, ca.parentId, ca.role, ca.purpose, ca.site, ca.algorithm, ca.subject, ca.serial, ca.notBefore.toISOString(), ca.notAfter.toISOString(), Buffer.from(ca.der), ca.keyBackend, ca.keyRef, ca.replaces ?? null, ca.createdAt.toISOString());
  }

  /** The CA that replaced `id` (`jinbao pki replace-ca`), if any. */
  successorOf(id: string): CaRecord | undefined {
    const r = this.stmt('SELECT * FROM pki_cas WHERE replaces = ?').get(id) as CaRow | undefined;
    return r && caFromRow(r);
  }

  /**
   * The CA that stands for `id` now: `id` itself until it is replaced, then its successor, the
   * successor's successor, and so on (whatever its status: the caller refuses a revoked one).
   * Lookups by the hierarchy's fixed ids (ministry-staff, infrastructure, province-<id>-staff) go
   * through here, so a replaced CA's successor takes over its work. Undefined for an unknown id.
   */
  currentCa(id: string): CaRecord | undefined {
    let ca = this.getCa(id);
    for (let next = ca && this.successorOf(ca.id); next; next = this.successorOf(next.id)) ca = next;
    return ca;
  }

  /** The CA whose certificate has this serial (any textual form `normalizeSerial` accepts). */
  findCaBySerial(serial: string): CaRecord | undefined {
    const r = this.stmt('SELECT * FROM pki_cas WHERE serial = ?').get(normalizeSerial(serial)) as CaRow | undefined;
    return r && caFromRow(r);
  }

  /**
   * Revoke an issuing CA: it issues nothing more, and its certificate takes the next place in the
   * revocation sequence, so its parent's next full and delta CRLs list it and the parent's OCSP
   * responder answers "revoked" for it. Only this CA's record changes: what it issued stays as
   * recorded, and every chain through it fails (relying parties through the parent's CRL, jinbao
   * through `revokedCaInChain`). The root cannot be revoked (nothing above it publishes a CRL);
   * unknown ids and repeated revocations are refused. Audited; refusals too.
   */
  markCaRevoked(id: string, reason: RevocationReason, opts: { at?: Date; actor?: string } = {}): CaRecord {
    const at = opts.at ?? new Date();
    return this.refusalsAudited('pki.ca.revoke', id, opts.actor, () => {
      const ca = this.getCa(id);
      if (!ca) throw new InputError(`unknown CA: got "${id}", want one of ${this.listCas().map((c) => c.id).join(', ') || '(none: run jinbao pki init)'}`);
      if (ca.parentId === null) {
        throw new InputError(
          `CA ${id}: got the root CA, want an issuing CA; nothing above the root can publish its revocation. If the root key is compromised, create a new hierarchy in a new state directory (jinbao --state <new dir> pki init), re-issue every certificate under it and remove this root (serial ${ca.serial}) from every trust store`,
        );
      }
      if (ca.status === 'revoked') throw new InputError(`CA ${id} is already revoked (since ${ca.revokedAt?.toISOString()}, reason ${ca.revocationReason}); nothing changed`);
      const seq = this.nextRevocationSeq();
      this.stmt("UPDATE pki_cas SET status = 'revoked', revoked_at = ?, revocation_reason = ?, revocation_seq = ? WHERE id = ?").run(at.toISOString(), reason, seq, id);
      appendAudit(this.state, { action: 'pki.ca.revoke', outcome: 'ok', subject: id, actor: opts.actor, details: { reason, revokedAt: at.toISOString(), serial: ca.serial, parentId: ca.parentId, revocationSeq: seq } });
      return this.getCa(id)!;
    });
  }

  /** The first revoked CA on the way from `caId` up to the root (itself included), if any. */
  revokedCaInChain(caId: string): CaRecord | undefined {
    for (let ca = this.getCa(caId); ca; ca = ca.parentId ? this.getCa(ca.parentId) : undefined) {
      if (ca.status === 'revoked') return ca;
    }
    return undefined;
  }

  // ---- certificates

  /** Record an issued certificate; throws UniqueSerialError when the serial exists (retry with a new one). */
  insertCertificate(c: NewCertificate): void {
    try {
      this
        .stmt(
          `INSERT INTO pki_certificates (serial, ca_id, profile, profile_version, site, subject, common_name, staff_number, application, sans, key_type, not_before, not_after, der, issued_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(c.serial, c.caId, c.profile, c.profileVersion, c.site, c.subject, c.commonName, c.staffNumber, c.application, JSON.stringify(c.sans), c.keyType, c.notBefore.toISOString(), c.notAfter.toISOString(), Buffer.from(c.der), c.issuedAt.toISOString());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && /serial/.test((err as Error).message)) throw new UniqueSerialError(`serial ${c.serial} exists`);
      throw err;
    }
  }

  /** The certificate with this serial (any textual form `normalizeSerial` accepts). */
  findCertificate(serial: string): CertificateRecord | undefined {
    const r = this.stmt('SELECT * FROM pki_certificates WHERE serial = ?').get(normalizeSerial(serial)) as CertRow | undefined;
    return r && certFromRow(r);
  }

  listCertificates(q: CertificateQuery = {}): CertificateRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.site !== undefined) (where.push('site = ?'), args.push(q.site));
    if (q.caId !== undefined) (where.push('ca_id = ?'), args.push(q.caId));
    if (q.profile !== undefined) (where.push('profile = ?'), args.push(q.profile));
    if (q.status !== undefined) (where.push('status = ?'), args.push(q.status));
    if (q.expiringBefore !== undefined) (where.push('not_after < ?'), args.push(q.expiringBefore.toISOString()));
    if (q.validAt !== undefined) (where.push('not_before <= ? AND not_after > ?'), args.push(q.validAt.toISOString(), q.validAt.toISOString()));
    const sql = `SELECT * FROM pki_certificates ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY issued_at, id`;
    return (this.stmt(sql).all(...args) as CertRow[]).map(certFromRow);
  }

  /**
   * Revoke a certificate. One transaction updates the record, advances the revocation sequence
   * and appends the audit entry. Unknown serials and repeated revocations are refused (InputError,
   * exit 2) and the refusal is audited.
   */
  markRevoked(serial: string, reason: RevocationReason, opts: { at?: Date; actor?: string } = {}): CertificateRecord {
    const at = opts.at ?? new Date();
    return this.refusalsAudited('pki.revoke', serial, opts.actor, () => {
      const s = normalizeSerial(serial);
      const cert = this.findCertificate(s);
      if (!cert) throw new InputError(`unknown serial: got "${serial}", want the serial of a certificate in this store (list them with: jinbao pki list)`);
      if (cert.status === 'revoked') throw new InputError(`certificate ${s} is already revoked (since ${cert.revokedAt?.toISOString()}, reason ${cert.revocationReason}); nothing changed`);
      const seq = this.nextRevocationSeq();
      this.stmt("UPDATE pki_certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ?, revocation_seq = ? WHERE serial = ?").run(at.toISOString(), reason, seq, s);
      appendAudit(this.state, { action: 'pki.revoke', outcome: 'ok', subject: s, actor: opts.actor, details: { reason, revokedAt: at.toISOString(), caId: cert.caId, revocationSeq: seq } });
      return this.findCertificate(s)!;
    });
  }

  /**
   * Revoked certificates of one CA, its own certificates and those of the CAs it signed, in
   * ascending serial order (hex strings of equal length sort like numbers; shorter serials first),
   * streamed from an index. With `afterSeq`, only those revoked after that point of the revocation
   * sequence (what a delta CRL lists).
   */
  *revokedEntries(caId: string, opts: { afterSeq?: number } = {}): Generator<RevokedEntry> {
    const afterSeq = opts.afterSeq ?? 0;
    type Row = { serial: string; revoked_at: string; revocation_reason: RevocationReason; revocation_seq: number };
    const entry = (r: Row): RevokedEntry => ({ serial: r.serial, revokedAt: new Date(r.revoked_at), reason: r.revocation_reason, revocationSeq: r.revocation_seq });
    // Revoked child CAs are a handful at most: read them whole and merge them into the certificate stream.
    const cas = (
      this.stmt(
        `SELECT serial, revoked_at, revocation_reason, revocation_seq FROM pki_cas
         WHERE parent_id = ? AND revocation_seq IS NOT NULL AND revocation_seq > ? ORDER BY length(serial), serial`,
      ).all(caId, afterSeq) as Row[]
    ).map(entry);
    const stmt = this.state.db.prepare(
      `SELECT serial, revoked_at, revocation_reason, revocation_seq FROM pki_certificates
       WHERE ca_id = ? AND revocation_seq IS NOT NULL AND revocation_seq > ? ORDER BY length(serial), serial`,
    );
    let next = 0;
    for (const r of stmt.iterate(caId, afterSeq) as IterableIterator<Row>) {
      while (next < cas.length && serialBefore(cas[next]!.serial, r.serial)) yield cas[next++]!;
      yield entry(r);
    }
    while (next < cas.length) yield cas[next++]!;
  }

  /**
   * The store's revocation sequence: it grows by one with every revocation, in any process. A
   * cache (OCSP) can compare it per request to know whether anything was revoked since.
   */
  revocationSeq(): number {
    return (this.stmt("SELECT value FROM pki_sequence WHERE name = 'revocation'").get() as { value: number }).value;
  }

  private nextRevocationSeq(): number {
    this.stmt("UPDATE pki_sequence SET value = value + 1 WHERE name = 'revocation'").run();
    return this.revocationSeq();
  }

  /**
   * Run `fn` in a write transaction; when it throws InputError, record the refusal in the audit
   * log (in its own transaction, after the failed one rolled back) and rethrow.
   */
  refusalsAudited<T>(action: string, subject: string, actor: string | undefined, fn: () => T): T {
    try {
      return this.state.db.inTransaction ? fn() : this.state.write(fn);
    } catch (err) {
      if (err instanceof InputError && !this.state.db.inTransaction) appendAudit(this.state, { action, outcome: 'refused', subject, actor, details: { reason: err.message } });
      throw err;
    }
  }
}
