import { caInfo } from './ca-info.js';
import { buildCrl } from './crl.js';
import type { CrlLedger, CrlSlot } from './crl-ledger.js';
import { pem } from './der.js';
import { REASON_CODES, type CaSigner, type RevocationRegistry, type RevokedEntry } from './ports.js';

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
}

export interface PublishedCrlFile {
  readonly slot: CrlSlot;
  readonly der: Buffer;
  readonly pem: string;
  readonly entries: number;
}

function* rows(entries: Iterable<RevokedEntry>): Generator<[string, number, number]> {
  for (const e of entries) yield [e.serial, Math.floor(e.revokedAt.getTime() / 1000), REASON_CODES[e.reason]];
}

/**
 * Cut the next full or delta CRL of `signer`'s CA: take a CRL number, stream the revoked serials
 * from the store's index straight into DER, sign, and record it as published.
 */
export async function publishCrl(o: PublishCrlOptions): Promise<PublishedCrlFile> {
  const delta = o.delta ?? false;
  const slot = o.ledger.reserve(o.signer.id, {
    delta,
    revocationSeq: o.registry.revocationSeq(),
    thisUpdate: o.now ?? new Date(),
    validitySeconds: o.validitySeconds ?? (delta ? 86_400 : 7 * 86_400),
  });
  // Entries revoked while we stream may appear here and again in the next delta: harmless. None can be
  // missed, because the next delta starts from the sequence read before streaming.
  const source = o.registry.revokedEntries(o.signer.id, delta ? { afterSeq: slot.afterSeq } : {});
  const crl = await buildCrl(
    {
      signer: o.signer,
      ca: caInfo(o.signer.certificateDer),
      number: slot.number,
      thisUpdate: slot.thisUpdate,
      nextUpdate: slot.nextUpdate,
      ...(slot.baseNumber !== undefined ? { baseNumber: slot.baseNumber } : {}),
      ...(o.deltaUrl !== undefined ? { deltaUrl: o.deltaUrl } : {}),
    },
    rows(source),
  );
  o.ledger.published(slot, crl.entries, crl.der.length);
  return { slot, der: crl.der, pem: pem('X509 CRL', crl.der), entries: crl.entries };
}
