/**
 * The one place where the service reaches the PKI: issuance, revocation, CA lookup, CRLs, OCSP
 * and the audit log, over the PKI's store on lib/sql (SQLite or the shared PostgreSQL), so that
 * the service and pki/acme/ depend on this interface only.
 *
 * Used from the PKI: `PkiStore.open`, `getCa`/`listCas`/`findCertificate`/`markRevoked`/
 * `revocationSeq`, `Issuer.issue` (profile server-tls), `openCaSigner`, `chainOf`,
 * `cutCrl` (pki/revocation: CRL numbering in the ledger, audited), `OcspResponder` +
 * `ocspAuthority`, and `appendAudit` from lib/audit.ts.
 */
import type { Fabric } from '../fabric/index.js';
import { recordAudit } from '../lib/audit.js';
import type { StateAccess } from '../lib/context.js';
import type { Database } from '../lib/sql/index.js';
import { InputError } from '../lib/errors.js';
import type { AcmeCertificateAuthority } from '../pki/acme/ports.js';
import { Issuer, normalizeSerial, openCaSigner, PkiStore, ROOT_CA_ID, type RevocationReason } from '../pki/index.js';
import { CrlLedger, cutCrl, OcspResponder, ocspAuthority, type OcspAuthority } from '../pki/revocation/index.js';

/** Append to the audit log (the port's audit, for operations that need no issuer). */
export async function appendAuditEntry(state: StateAccess, entry: Parameters<AcmeCertificateAuthority['audit']>[0]): Promise<void> {
  await recordAudit(await state.database(), entry);
}

export interface CaCertificate {
  readonly id: string;
  readonly parentId: string | null;
  readonly status: 'active' | 'revoked';
  readonly der: Uint8Array;
}

export interface PkiPortOptions {
  /** Where relying parties fetch revocation data: issued certificates carry CRL, OCSP and CA URLs under it, full CRLs the delta CRL's. */
  readonly revocationUrl: string;
  /** CRLs are cut again after this long even when nothing was revoked. @default 3600 */
  readonly crlMaxAgeSeconds?: number;
  /**
   * After a revocation the full CRL is cut again only once the current one is this old; until
   * then the delta CRL, cut again at every revocation, carries it. @default 60
   */
  readonly fullCrlIntervalSeconds?: number;
  /** nextUpdate of OCSP answers. @default 3600 */
  readonly ocspValiditySeconds?: number;
}

/** A CRL as the service serves it: the DER and what HTTP caching needs. */
export interface ServedCrl {
  readonly der: Buffer;
  readonly number: number;
  readonly baseNumber?: number;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

interface HeldCrl extends ServedCrl {
  /** The revocation sequence the CRL covers up to. */
  readonly maxSeq: number;
}

/** How long the service trusts the list of CAs it read (see PkiPort.caIds). */
const CA_VIEW_MS = 5_000;

export class PkiPort implements AcmeCertificateAuthority {
  private readonly pki: PkiStore;
  private readonly issuer: Issuer;
  private readonly held = new Map<string, HeldCrl>();
  private readonly cutting = new Map<string, Promise<HeldCrl>>();
  private ledger?: Promise<CrlLedger>;
  private responders?: Promise<{ all: OcspResponder; byCa: Map<string, OcspResponder> }>;
  private caView?: { ids: ReadonlySet<string>; key: string; readAt: number };

  private constructor(
    pki: PkiStore,
    private readonly fabric: Fabric,
    private readonly passphrase: string,
    private readonly opts: PkiPortOptions,
  ) {
    this.pki = pki;
    this.issuer = new Issuer(pki, fabric, passphrase, { distributionBase: opts.revocationUrl.replace(/\/+$/, '') });
  }

  /** The port over the state's PKI; refuses a state without a CA hierarchy. */
  static async open(state: StateAccess, fabric: Fabric, passphrase: string, opts: PkiPortOptions): Promise<PkiPort> {
    const db: Database = await state.database();
    const pki = await PkiStore.open(db, state.stateDir);
    if (!(await pki.getCa(ROOT_CA_ID))) throw new InputError(`no CA hierarchy in ${db.where}: create one with jinbao pki init (or jinbao up) before jinbao serve`);
    return new PkiPort(pki, fabric, passphrase, opts);
  }

  /** Open every active CA's key now, so a wrong passphrase stops the service before it listens. */
  async unlock(): Promise<void> {
    for (const ca of await this.pki.listCas()) if (ca.status === 'active') await openCaSigner(this.pki, ca.id, this.passphrase);
  }

  async issueFromCsr(r: Parameters<AcmeCertificateAuthority['issueFromCsr']>[0]) {
    const issued = await this.issuer.issue({
      profile: 'server-tls',
      site: r.site,
      csr: r.csrDer,
      defaultCommonName: r.commonName,
      validityDays: r.validityDays,
      actor: r.actor,
      ...(r.application !== null ? { application: r.application } : {}),
    });
    return { serial: issued.record.serial, certificateDer: issued.certificateDer, chainDer: issued.chainDer, notBefore: issued.record.notBefore, notAfter: issued.record.notAfter };
  }

  /** The service's own TLS certificate, key generated here: server-tls from the infrastructure CA. */
  async issueServiceTls(r: { site: string; dns: readonly string[]; ip: readonly string[]; actor: string }): Promise<{ certPem: string; keyPem: string; serial: string }> {
    const issued = await this.issuer.issue({
      profile: 'server-tls',
      site: r.site,
      generate: { subject: `CN=${r.dns[0] ?? 'localhost'}`, algorithm: 'ecdsa-p256' },
      dns: r.dns,
      ip: r.ip,
      validityDays: 90,
      actor: r.actor,
    });
    const pem = (d: Uint8Array) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
    return { certPem: [issued.certificateDer, ...issued.chainDer.slice(0, -1)].map(pem).join(''), keyPem: issued.key!.exportPkcs8(), serial: issued.record.serial };
  }

  async certificate(serial: string) {
    const c = await this.pki.findCertificate(normalizeSerial(serial));
    return c ? { serial: c.serial, status: c.status, der: c.der, notBefore: c.notBefore, notAfter: c.notAfter } : undefined;
  }

  async revoke(serial: string, reason: RevocationReason, actor: string): Promise<void> {
    await this.pki.markRevoked(serial, reason, { actor });
  }

  async audit(entry: Parameters<AcmeCertificateAuthority['audit']>[0]): Promise<void> {
    await recordAudit(this.pki.db, entry);
  }

  async caCertificates(): Promise<CaCertificate[]> {
    return (await this.pki.listCas()).map((c) => ({ id: c.id, parentId: c.parentId, status: c.status, der: c.der }));
  }

  async caCertificate(id: string): Promise<CaCertificate | undefined> {
    const c = await this.pki.getCa(id);
    return c ? { id: c.id, parentId: c.parentId, status: c.status, der: c.der } : undefined;
  }

  /**
   * The CA's current full or delta CRL. Every process serving the state serves the CRLs kept in
   * its ledger; one is cut (and kept) when none is usable: on first request, after an hour
   * (crlMaxAgeSeconds) or near nextUpdate, the delta at every revocation, the full CRL after a
   * revocation once it is fullCrlIntervalSeconds old. A delta always updates the full CRL served.
   */
  async crl(caId: string, kind: 'full' | 'delta' = 'full'): Promise<ServedCrl | undefined> {
    if (!(await this.pki.getCa(caId))) return undefined;
    const full = await this.currentCrl(caId, 'full');
    if (kind === 'full') return full;
    const delta = await this.currentCrl(caId, 'delta', full);
    if (delta.baseNumber === full.number) return delta;
    // A newer full CRL was published meanwhile (another process, or pki crl): the delta was cut
    // over that one, so cut a full CRL now and its delta, so that the two served belong together.
    return this.currentCrl(caId, 'delta', await this.currentCrl(caId, 'full', undefined, true));
  }

  private async currentCrl(caId: string, kind: 'full' | 'delta', base?: HeldCrl, force = false): Promise<HeldCrl> {
    const key = `${caId}:${kind}`;
    const seq = await this.pki.revocationSeq();
    const usable = (c: HeldCrl | undefined): c is HeldCrl => {
      if (c === undefined || force) return false;
      const now = Date.now();
      const age = now - c.thisUpdate.getTime();
      if (age >= (this.opts.crlMaxAgeSeconds ?? 3600) * 1000 || c.nextUpdate.getTime() - now <= 3_600_000) return false;
      if (kind === 'delta') return c.maxSeq === seq && c.baseNumber === base?.number;
      return c.maxSeq === seq || age < (this.opts.fullCrlIntervalSeconds ?? 60) * 1000;
    };
    if (usable(this.held.get(key))) return this.held.get(key)!;
    const pending = this.cutting.get(key);
    if (pending) return pending;
    const next = (async () => {
      const ledger = await (this.ledger ??= CrlLedger.open(this.pki.db));
      const kept = await ledger.latestKept(caId, kind);
      if (usable(kept)) return kept;
      const cut = await cutCrl({
        pki: this.pki,
        caId,
        passphrase: this.passphrase,
        actor: 'jinbao-serve',
        delta: kind === 'delta',
        keep: true,
        ...(kind === 'full' ? { deltaUrl: `${this.opts.revocationUrl.replace(/\/+$/, '')}/crl/${caId}-delta.crl` } : {}),
      });
      const s = cut.slot;
      return { der: cut.der, number: s.number, ...(s.baseNumber !== undefined ? { baseNumber: s.baseNumber } : {}), thisUpdate: s.thisUpdate, nextUpdate: s.nextUpdate, maxSeq: s.maxSeq };
    })();
    this.cutting.set(key, next);
    try {
      const c = await next;
      this.held.set(key, c);
      return c;
    } finally {
      this.cutting.delete(key);
    }
  }

  /**
   * The ids of the CAs there are, read again at most every CA_VIEW_MS: OCSP asks on every request,
   * and a province CA created by another process must be answered for soon after. When the set
   * changed, the OCSP responders are rebuilt.
   */
  async caIds(): Promise<ReadonlySet<string>> {
    const now = Date.now();
    if (this.caView && now - this.caView.readAt < CA_VIEW_MS) return this.caView.ids;
    const cas = await this.pki.listCas();
    const key = cas.map((c) => `${c.id}:${c.serial}:${c.status}`).join(',');
    if (this.caView && this.caView.key !== key) this.responders = undefined;
    this.caView = { ids: new Set(cas.map((c) => c.id)), key, readAt: now };
    return this.caView.ids;
  }

  /** Answer an OCSP request (never throws): for the named CA only, or for whichever CA the request names. */
  async ocsp(request: Uint8Array, caId?: string): Promise<Buffer | undefined> {
    await this.caIds();
    this.responders ??= this.openResponders();
    this.responders.catch(() => (this.responders = undefined));
    const r = await this.responders;
    const responder = caId === undefined ? r.all : r.byCa.get(caId);
    return responder?.respond(request);
  }

  private async openResponders(): Promise<{ all: OcspResponder; byCa: Map<string, OcspResponder> }> {
    const authorities: OcspAuthority[] = [];
    // Each CA signs its own answers (RFC 6960 §2.6: the CA itself is an authorized responder).
    for (const ca of await this.pki.listCas()) authorities.push(ocspAuthority(ca.id, ca.der, await openCaSigner(this.pki, ca.id, this.passphrase)));
    const make = (a: OcspAuthority[]) => new OcspResponder({ authorities: a, registry: this.pki, validitySeconds: this.opts.ocspValiditySeconds ?? 3600 });
    return { all: make(authorities), byCa: new Map(authorities.map((a) => [a.caId, make([a])])) };
  }

  /** The hierarchy's own distribution base (pki init --distribution-base): what its CA certificates name. */
  distributionBase(): Promise<string> {
    return this.pki.distributionBase();
  }

  /** Whether the store answers (readiness). */
  async ready(): Promise<boolean> {
    return (await this.pki.getCa(ROOT_CA_ID)) !== undefined;
  }

  get inventory(): Fabric {
    return this.fabric;
  }
}
