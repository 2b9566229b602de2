import { AUDIT_LOCK, appendAudit, recordAudit } from '../../lib/audit.js';
import type { Database } from '../../lib/sql/index.js';
import { InputError } from '../../lib/errors.js';
import { X509Certificate } from 'node:crypto';
import { crlUrlsFor, openCaSigner, type CrlExpiredEntries, type KeyBackends, type PkiStore } from '../index.js';
import { caInfo } from './ca-info.js';
import { buildCrl } from './crl.js';
import { CrlLedger, type CrlSlot } from './crl-ledger.js';
import { pem } from './der.js';
import { REASON_CODES, type CaSigner, type RevocationRegistry, type RevokedEntry } from './ports.js';
import { inputError } from '../../lib/i18n/index.js';
import { PKI_MESSAGES } from '../messages.js';

export interface PublishCrlOptions {
  readonly ledger: CrlLedger;
  readonly registry: Pick<RevocationRegistry, 'revokedEntries' | 'revocationSeq'>;
  readonly signer: CaSigner;
  /** A delta CRL over the latest published full CRL. @default false */
  readonly delta?: boolean;
  /** @default now */
  readonly now?: Date;
  /** nextUpdate − thisUpdate in seconds. @default 7 days for a full CRL, 1 day for a delta */
  readonly validitySeconds?: number;
  /** URL of this CA's delta CRL, carried in full CRLs as FreshestCRL. @default none (no deltas announced) */
  readonly deltaUrl?: string;
  /** Who cut it, for the audit log. @default the OS user */
  readonly actor?: string;
  /** Keep the DER in the ledger, for services that serve the latest CRL (`CrlLedger.latestKept`). @default false */
  readonly keep?: boolean;
  /** Which partition of the CA's CRL to cut. @default none: the complete CRL of everything the CA revoked */
  readonly partition?: number;
  /** The scope the CRL carries as a critical IssuingDistributionPoint. @default none (a complete CRL) */
  readonly issuingDistributionPoint?: { readonly url: string; readonly onlyContainsUserCerts: boolean };
  /**
   * Revoked certificates that expired before the cut: `drop` leaves them out (RFC 5280 3.3), `keep`
   * lists them and marks the CRL with ExpiredCertsOnCRL (the CA certificate's notBefore: none was ever dropped). @default drop
   */
  readonly expiredEntries?: CrlExpiredEntries;
}

export interface PublishedCrlFile {
  readonly slot: CrlSlot;
  readonly der: Buffer;
  readonly pem: string;
  readonly entries: number;
}

async function* rows(entries: Iterable<RevokedEntry> | AsyncIterable<RevokedEntry>): AsyncGenerator<[string, number, number]> {
  for await (const e of entries) yield [e.serial, Math.floor(e.revokedAt.getTime() / 1000), REASON_CODES[e.reason]];
}

async function auditRefusal(db: Database, caId: string, delta: boolean, err: InputError, actor: string | undefined): Promise<void> {
  await recordAudit(db, { action: 'pki.crl', outcome: 'refused', subject: caId, actor, details: { kind: delta ? 'delta' : 'full', reason: err.message } });
}

/**
 * Cut the next full or delta CRL of `signer`'s CA: take a CRL number, stream the revoked serials
 * from the store's index straight into DER, sign, and record it as published. The cut is a use of
 * the CA key: it is recorded in the audit log together with the CRL (action `pki.crl`), and a
 * refused cut (a delta without a full CRL to update) is audited too.
 */
export async function publishCrl(o: PublishCrlOptions): Promise<PublishedCrlFile> {
  const delta = o.delta ?? false;
  let slot: CrlSlot;
  try {
    slot = await o.ledger.reserve(o.signer.id, {
      delta,
      revocationSeq: await o.registry.revocationSeq(),
      thisUpdate: o.now ?? new Date(),
      validitySeconds: o.validitySeconds ?? (delta ? 86_400 : 7 * 86_400),
      partition: o.partition ?? null,
    });
  } catch (err) {
    if (err instanceof InputError) await auditRefusal(o.ledger.db, o.signer.id, delta, err, o.actor);
    throw err;
  }
  // Entries revoked while we stream may appear here and again in the next delta: harmless. None can be
  // missed, because the next delta starts from the sequence read before streaming.
  const keepExpired = o.expiredEntries === 'keep';
  const source = o.registry.revokedEntries(o.signer.id, {
    ...(delta ? { afterSeq: slot.afterSeq } : {}),
    ...(o.partition !== undefined ? { partition: o.partition } : {}),
    ...(keepExpired ? {} : { expiredBefore: slot.thisUpdate }),
  });
  const crl = await buildCrl(
    {
      signer: o.signer,
      ca: caInfo(o.signer.certificateDer),
      number: slot.number,
      thisUpdate: slot.thisUpdate,
      nextUpdate: slot.nextUpdate,
      ...(slot.baseNumber !== undefined ? { baseNumber: slot.baseNumber } : {}),
      ...(o.deltaUrl !== undefined ? { deltaUrl: o.deltaUrl } : {}),
      ...(o.issuingDistributionPoint !== undefined ? { issuingDistributionPoint: o.issuingDistributionPoint } : {}),
      ...(keepExpired ? { expiredCertsOnCrl: new Date(new X509Certificate(o.signer.certificateDer).validFrom) } : {}),
    },
    rows(source),
  );
  await o.ledger.db.write(async (tx) => {
    await o.ledger.published(tx, slot, crl.entries, crl.der.length, o.keep ? crl.der : undefined);
    await appendAudit(tx, {
      action: 'pki.crl',
      outcome: 'ok',
      subject: o.signer.id,
      actor: o.actor,
      details: {
        kind: delta ? 'delta' : 'full',
        ...(slot.partition !== null ? { partition: slot.partition } : {}),
        number: slot.number,
        ...(slot.baseNumber !== undefined ? { baseNumber: slot.baseNumber } : {}),
        entries: crl.entries,
        bytes: crl.der.length,
        thisUpdate: slot.thisUpdate.toISOString(),
        nextUpdate: slot.nextUpdate.toISOString(),
      },
    });
  }, { locks: [AUDIT_LOCK] });
  return { slot, der: crl.der, pem: pem('X509 CRL', crl.der), entries: crl.entries };
}

export interface CutCrlOptions extends Omit<PublishCrlOptions, 'ledger' | 'registry' | 'signer' | 'issuingDistributionPoint' | 'deltaUrl' | 'expiredEntries'> {
  readonly pki: PkiStore;
  /** The CA whose CRL to cut (root, ministry-staff, infrastructure, province-<id>-staff, or a successor). */
  readonly caId: string;
  /** Of the CA key (or the token PIN). */
  readonly passphrase: string;
  readonly backends?: KeyBackends;
  /**
   * The base the CA's certificates name their CRLs under (`crlUrlsFor`): full CRLs announce the
   * delta there, and a partition's CRLs carry their scope (IssuingDistributionPoint). Required with
   * a partition. @default none: no FreshestCRL
   */
  readonly distributionBase?: string;
  /** @default the store's setting (`PkiStore.crlSettings`) */
  readonly expiredEntries?: CrlExpiredEntries;
}

/**
 * Open the CA's key from the store and cut one of its CRLs (`publishCrl`): the complete CRL (no
 * partition: everything the CA revoked, at `<base>/crl/<ca-id>.crl`, which certificates issued
 * before partitions and the root's certificates name), or one partition of an issuing CA with a
 * critical IssuingDistributionPoint equal to the URL its certificates name (`<base>/crl/<ca-id>/<n>.crl`).
 * A refusal to open the key (an unknown CA, a wrong passphrase) or a partition of the root is
 * audited as a refused cut before it is rethrown.
 */
export async function cutCrl(o: CutCrlOptions): Promise<PublishedCrlFile> {
  let signer;
  try {
    signer = await openCaSigner(o.pki, o.caId, o.passphrase, o.backends);
    if (o.partition !== undefined && (await o.pki.getCa(o.caId))?.role !== 'issuing') {
      throw inputError(PKI_MESSAGES, 'crl.noPartitions', { partition: o.partition, ca: o.caId });
    }
  } catch (err) {
    if (err instanceof InputError) await auditRefusal(o.pki.db, o.caId, o.delta ?? false, err, o.actor);
    throw err;
  }
  const urls = o.distributionBase !== undefined ? crlUrlsFor(o.distributionBase.replace(/\/+$/, ''), o.caId, o.partition ?? null) : undefined;
  return publishCrl({
    ledger: await CrlLedger.open(o.pki.db),
    registry: o.pki,
    signer,
    ...(o.delta !== undefined ? { delta: o.delta } : {}),
    ...(o.now !== undefined ? { now: o.now } : {}),
    ...(o.validitySeconds !== undefined ? { validitySeconds: o.validitySeconds } : {}),
    ...(urls ? { deltaUrl: urls.delta } : {}),
    ...(o.partition !== undefined ? { partition: o.partition } : {}),
    ...(o.partition !== undefined && urls ? { issuingDistributionPoint: { url: urls.full, onlyContainsUserCerts: true } } : {}),
    expiredEntries: o.expiredEntries ?? (await o.pki.crlSettings()).expiredEntries,
    ...(o.actor !== undefined ? { actor: o.actor } : {}),
    ...(o.keep !== undefined ? { keep: o.keep } : {}),
  });
}
