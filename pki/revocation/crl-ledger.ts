import { InputError } from '../../lib/errors.js';
import type { Migration, StateStore } from '../../lib/state.js';

/**
 * CRL numbers and published CRLs, per CA. A CRL records the revocation sequence it covers
 * (`maxSeq`), so a delta CRL lists exactly what was revoked after its base was cut.
 */
export const CRL_MIGRATIONS: readonly Migration[] = [
  {
    description: 'CRL numbers and published CRLs',
    up: `
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
  },
];

/** A CRL number taken for one CRL, with the part of the revocation sequence it covers. */
export interface CrlSlot {
  readonly caId: string;
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
  readonly number: number;
  readonly baseNumber?: number;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: number;
  readonly bytes: number;
}

interface CrlRow {
  number: number;
  base_number: number | null;
  this_update: number;
  next_update: number;
  max_seq: number;
  entries: number;
  bytes: number;
}

export class CrlLedger {
  constructor(readonly store: StateStore) {
    store.migrate('pki-revocation', CRL_MIGRATIONS);
  }

  /**
   * Take the next CRL number of `caId` (full and delta CRLs share one sequence, RFC 5280 5.2.3)
   * and fix what the CRL covers. A delta needs a published full CRL as its base. Numbers taken by
   * a process that dies before publishing are skipped, never reused.
   */
  reserve(caId: string, opts: { delta: boolean; revocationSeq: number; thisUpdate: Date; validitySeconds: number }): CrlSlot {
    const db = this.store.db;
    return this.store.write(() => {
      let base: { number: number; max_seq: number } | undefined;
      if (opts.delta) {
        base = db
          .prepare('SELECT number, max_seq FROM pki_crls WHERE ca_id = ? AND base_number IS NULL AND bytes IS NOT NULL ORDER BY number DESC LIMIT 1')
          .get(caId) as { number: number; max_seq: number } | undefined;
        if (base === undefined) {
          throw new InputError(`CA "${caId}" has no full CRL yet, so a delta CRL has no base; publish one first with: jinbao pki crl --ca ${caId}`);
        }
      }
      const number = db
        .prepare(
          `INSERT INTO pki_crl_numbers (ca_id, last_number) VALUES (?, 1)
           ON CONFLICT (ca_id) DO UPDATE SET last_number = last_number + 1 RETURNING last_number`,
        )
        .pluck()
        .get(caId) as number;
      const thisUpdate = new Date(Math.floor(opts.thisUpdate.getTime() / 1000) * 1000);
      const nextUpdate = new Date(thisUpdate.getTime() + opts.validitySeconds * 1000);
      db.prepare('INSERT INTO pki_crls (ca_id, number, base_number, this_update, next_update, max_seq) VALUES (?, ?, ?, ?, ?, ?)').run(
        caId,
        number,
        base?.number ?? null,
        thisUpdate.getTime() / 1000,
        nextUpdate.getTime() / 1000,
        opts.revocationSeq,
      );
      return { caId, number, ...(base ? { baseNumber: base.number } : {}), afterSeq: base?.max_seq ?? 0, maxSeq: opts.revocationSeq, thisUpdate, nextUpdate };
    });
  }

  /** Mark a reserved CRL as written; only published full CRLs can be delta bases. */
  published(slot: CrlSlot, entries: number, bytes: number): void {
    this.store.write(() => this.store.db.prepare('UPDATE pki_crls SET entries = ?, bytes = ? WHERE ca_id = ? AND number = ?').run(entries, bytes, slot.caId, slot.number));
  }

  /** Published CRLs of `caId`, newest first. */
  list(caId: string, limit = 20): PublishedCrl[] {
    const rows = this.store.db
      .prepare('SELECT * FROM pki_crls WHERE ca_id = ? AND bytes IS NOT NULL ORDER BY number DESC LIMIT ?')
      .all(caId, limit) as CrlRow[];
    return rows.map((r) => ({
      caId,
      number: r.number,
      ...(r.base_number === null ? {} : { baseNumber: r.base_number }),
      thisUpdate: new Date(r.this_update * 1000),
      nextUpdate: new Date(r.next_update * 1000),
      entries: r.entries,
      bytes: r.bytes,
    }));
  }
}
