import type { Database, SqlMigration, Transaction } from '../../lib/sql/index.js';
import { inputError } from '../../lib/i18n/index.js';
import { PKI_MESSAGES } from '../messages.js';

/**
 * CRL numbers and published CRLs, per CA. A CRL records the revocation sequence it covers
 * (`maxSeq`), so a delta CRL lists exactly what was revoked after its base was cut.
 */
export const CRL_MIGRATIONS: readonly SqlMigration[] = [
  {
    description: 'CRL numbers and published CRLs',
    up: {
      sqlite: `
      CREATE TABLE pki_crl_numbers (
        ca_id TEXT PRIMARY KEY,
        last_number INTEGER NOT NULL
      );
      CREATE TABLE pki_crls (
        ca_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        base_number INTEGER,
        this_update INTEGER NOT NULL,
        next_update INTEGER NOT NULL,
        max_seq INTEGER NOT NULL,
        entries INTEGER,
        bytes INTEGER,
        PRIMARY KEY (ca_id, number)
      );
    `,
      postgresql: `
      CREATE TABLE pki_crl_numbers (
        ca_id text PRIMARY KEY,
        last_number bigint NOT NULL
      );
      CREATE TABLE pki_crls (
        ca_id text NOT NULL,
        number bigint NOT NULL,
        base_number bigint,
        this_update bigint NOT NULL,
        next_update bigint NOT NULL,
        max_seq bigint NOT NULL,
        entries bigint,
        bytes bigint,
        PRIMARY KEY (ca_id, number)
      );
    `,
    },
  },
  {
    description: 'the DER of CRLs a service keeps serving (every process on the state serves the same CRL)',
    up: {
      sqlite: 'ALTER TABLE pki_crls ADD COLUMN der BLOB',
      postgresql: 'ALTER TABLE pki_crls ADD COLUMN der bytea',
    },
  },
  {
    description: "CRL partitions: each CRL records which partition of its CA's CRL it is (NULL: the unpartitioned CRL, all CRLs cut before)",
    up: `
      ALTER TABLE pki_crls ADD COLUMN crl_partition INTEGER;
      CREATE INDEX pki_crls_partition ON pki_crls (ca_id, crl_partition, number);
    `,
  },
];

/** `crl_partition = $n`, or `IS NULL` for the unpartitioned CRL (the same SQL on both backends). */
function partitionIs(partition: number | null, args: unknown[]): string {
  return partition === null ? 'crl_partition IS NULL' : `crl_partition = $${args.push(partition)}`;
}

/**
 * The lock a CRL number is taken under. CRL numbers come from one row per CA bumped by an upsert,
 * which the row lock already makes unique; the named lock also orders "find the delta's base,
 * take the number" against concurrent cuts of every CA, in every process.
 */
export const CRL_LOCK = 'pki-crl';

/** A CRL number taken for one CRL, with the part of the revocation sequence it covers. */
export interface CrlSlot {
  readonly caId: string;
  /** The partition of the CA's CRL (null: the unpartitioned CRL). */
  readonly partition: number | null;
  readonly number: number;
  /** For a delta CRL: the number of the full CRL it updates. */
  readonly baseNumber?: number;
  /** A delta lists revocations after this point of the sequence (its base's maxSeq); 0 for a full CRL. */
  readonly afterSeq: number;
  /** The revocation sequence when the slot was taken: everything up to here is in this CRL. */
  readonly maxSeq: number;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

export interface PublishedCrl {
  readonly caId: string;
  /** null: the unpartitioned CRL. */
  readonly partition: number | null;
  readonly number: number;
  readonly baseNumber?: number;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: number;
  readonly bytes: number;
}

/** A published CRL kept with its DER (see `published`). */
export interface KeptCrl extends PublishedCrl {
  /** The revocation sequence the CRL covers up to. */
  readonly maxSeq: number;
  readonly der: Buffer;
}

interface CrlRow {
  crl_partition: number | null;
  number: number;
  base_number: number | null;
  this_update: number;
  next_update: number;
  max_seq: number;
  entries: number;
  bytes: number;
}

export class CrlLedger {
  private constructor(readonly db: Database) {}

  static async open(db: Database): Promise<CrlLedger> {
    await db.migrate('pki-revocation', CRL_MIGRATIONS);
    return new CrlLedger(db);
  }

  /**
   * Take the next CRL number of `caId` (full and delta CRLs of all its partitions share one
   * sequence, so each partition's numbers increase too, RFC 5280 5.2.3) and fix what the CRL
   * covers. A delta needs a published full CRL of the same partition as its base. Numbers taken by
   * a process that dies before publishing are skipped, never reused.
   */
  reserve(caId: string, opts: { delta: boolean; revocationSeq: number; thisUpdate: Date; validitySeconds: number; partition?: number | null }): Promise<CrlSlot> {
    const partition = opts.partition ?? null;
    return this.db.write(
      async (tx) => {
        let base: { number: number; max_seq: number } | undefined;
        if (opts.delta) {
          const args: unknown[] = [caId];
          [base] = await tx.query<{ number: number; max_seq: number }>(
            `SELECT number, max_seq FROM pki_crls WHERE ca_id = $1 AND ${partitionIs(partition, args)} AND base_number IS NULL AND bytes IS NOT NULL ORDER BY number DESC LIMIT 1`,
            args,
          );
          if (base === undefined) {
            throw partition === null ? inputError(PKI_MESSAGES, 'crl.noBase', { ca: caId }) : inputError(PKI_MESSAGES, 'crl.noBasePartition', { ca: caId, partition });
          }
        }
        const [{ last_number: number }] = (await tx.query<{ last_number: number }>(
          `INSERT INTO pki_crl_numbers (ca_id, last_number) VALUES ($1, 1)
           ON CONFLICT (ca_id) DO UPDATE SET last_number = pki_crl_numbers.last_number + 1 RETURNING last_number`,
          [caId],
        )) as [{ last_number: number }];
        const thisUpdate = new Date(Math.floor(opts.thisUpdate.getTime() / 1000) * 1000);
        const nextUpdate = new Date(thisUpdate.getTime() + opts.validitySeconds * 1000);
        await tx.run('INSERT INTO pki_crls (ca_id, number, base_number, this_update, next_update, max_seq, crl_partition) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          caId,
          number,
          base?.number ?? null,
          thisUpdate.getTime() / 1000,
          nextUpdate.getTime() / 1000,
          opts.revocationSeq,
          partition,
        ]);
        return { caId, partition, number: Number(number), ...(base ? { baseNumber: base.number } : {}), afterSeq: base?.max_seq ?? 0, maxSeq: opts.revocationSeq, thisUpdate, nextUpdate };
      },
      { locks: [CRL_LOCK] },
    );
  }

  /**
   * Mark a reserved CRL as written (inside the caller's transaction); only published full CRLs can be
   * delta bases. With `der` the CRL itself is kept, so that every process serving this state answers
   * with the same CRL instead of cutting its own.
   */
  async published(tx: Transaction, slot: CrlSlot, entries: number, bytes: number, der?: Buffer): Promise<void> {
    await tx.run('UPDATE pki_crls SET entries = $1, bytes = $2, der = $3 WHERE ca_id = $4 AND number = $5', [entries, bytes, der ?? null, slot.caId, slot.number]);
  }

  /** The newest kept full (or delta) CRL of one partition of `caId` (null: the unpartitioned CRL), with what it covers; undefined when none was kept. */
  async latestKept(caId: string, kind: 'full' | 'delta', partition: number | null = null): Promise<KeptCrl | undefined> {
    const args: unknown[] = [caId];
    const [r] = await this.db.query<CrlRow & { der: Uint8Array }>(
      `SELECT number, base_number, this_update, next_update, max_seq, entries, bytes, der FROM pki_crls
       WHERE ca_id = $1 AND ${partitionIs(partition, args)} AND der IS NOT NULL AND base_number IS ${kind === 'full' ? '' : 'NOT '}NULL ORDER BY number DESC LIMIT 1`,
      args,
    );
    if (r === undefined) return undefined;
    return {
      caId,
      partition,
      number: Number(r.number),
      ...(r.base_number === null ? {} : { baseNumber: Number(r.base_number) }),
      thisUpdate: new Date(Number(r.this_update) * 1000),
      nextUpdate: new Date(Number(r.next_update) * 1000),
      entries: Number(r.entries),
      bytes: Number(r.bytes),
      maxSeq: Number(r.max_seq),
      der: Buffer.from(r.der),
    };
  }

  /** Published CRLs of `caId` (of one partition when given; null: the unpartitioned CRL), newest first. */
  async list(caId: string, limit = 20, partition?: number | null): Promise<PublishedCrl[]> {
    const args: unknown[] = [caId, limit];
    const where = partition === undefined ? '' : `AND ${partitionIs(partition, args)}`;
    const rows = await this.db.query<CrlRow>(`SELECT * FROM pki_crls WHERE ca_id = $1 AND bytes IS NOT NULL ${where} ORDER BY number DESC LIMIT $2`, args);
    return rows.map((r) => ({
      caId,
      partition: r.crl_partition === null ? null : Number(r.crl_partition),
      number: r.number,
      ...(r.base_number === null ? {} : { baseNumber: r.base_number }),
      thisUpdate: new Date(r.this_update * 1000),
      nextUpdate: new Date(r.next_update * 1000),
      entries: r.entries,
      bytes: r.bytes,
    }));
  }
}
