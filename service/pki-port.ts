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
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Fabric } from '../fabric/index.js';
import { recordAudit } from '../lib/audit.js';
import type { StateAccess } from '../lib/context.js';
import type { Database, SqlMigration } from '../lib/sql/index.js';
import { InputError } from '../lib/errors.js';
import type { AcmeCertificateAuthority } from '../pki/acme/ports.js';
import type { CmpCertificateAuthority, CmpHolder, CmpResponder } from '../pki/cmp/ports.js';
import { decryptPkcs8, encryptPkcs8 } from '../pki/keys.js';
import { certificateKeyId, certificateParts, chainOf, ensureProvinceStaffCa, Issuer, normalizeSerial, openCaSigner, PkiStore, ROOT_CA_ID, signatureAlgorithmDer, staffCaIdFor, caKeyInUse, type CaRecord, type CaSigner, type CaStatus, type RevocationReason } from '../pki/index.js';
import { CrlLedger, cutCrl, OcspResponder, ocspAuthority, type OcspAuthority } from '../pki/revocation/index.js';
import { inputError } from '../lib/i18n/index.js';
import { SERVICE_MESSAGES } from './messages.js';

/** Append to the audit log (the port's audit, for operations that need no issuer). */
export async function appendAuditEntry(state: StateAccess, entry: Parameters<AcmeCertificateAuthority['audit']>[0]): Promise<void> {
  await recordAudit(await state.database(), entry);
}

/**
 * The service's own TLS keys (component `service`): the key of each certificate the service issued
 * itself, as encrypted PKCS#8 under the CA passphrase (the CA keys' protection), never in clear.
 */
const SERVICE_MIGRATIONS: readonly SqlMigration[] = [
  {
    description: 'the service\'s own TLS keys, encrypted, by certificate serial',
    up: {
      sqlite: 'CREATE TABLE service_tls_keys (serial TEXT PRIMARY KEY, site TEXT NOT NULL, names TEXT NOT NULL, key_pem TEXT NOT NULL, created_at TEXT NOT NULL)',
      postgresql: 'CREATE TABLE service_tls_keys (serial TEXT PRIMARY KEY, site TEXT NOT NULL, names TEXT NOT NULL, key_pem TEXT NOT NULL, created_at TEXT NOT NULL)',
    },
  },
];

function pemCertificate(der: Uint8Array): string {
  return `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

export interface CaCertificate {
  readonly id: string;
  readonly parentId: string | null;
  readonly status: CaStatus;
  readonly der: Uint8Array;
}

export interface PkiPortOptions {
  /** CA keys already opened with the passphrase (a sealed service's unsealing checked them): not opened again. */
  readonly signers?: ReadonlyMap<string, CaSigner>;
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

export class PkiPort implements AcmeCertificateAuthority, CmpCertificateAuthority {
  private readonly pki: PkiStore;
  private readonly issuer: Issuer;
  private readonly held = new Map<string, HeldCrl>();
  private readonly cutting = new Map<string, Promise<HeldCrl>>();
  private ledger?: Promise<CrlLedger>;
  private readonly cmpResponders = new Map<string, Promise<CmpResponder>>();
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
    if (!(await pki.getCa(ROOT_CA_ID))) throw inputError(SERVICE_MESSAGES, 'serve.noHierarchy', { where: db.where });
    return new PkiPort(pki, fabric, passphrase, opts);
  }

  /** Open every key in use (active and retiring CAs) now, so a wrong passphrase stops the service before it listens. */
  async unlock(): Promise<void> {
    for (const ca of await this.pki.listCas()) if (caKeyInUse(ca) && !this.opts.signers?.has(ca.id)) await openCaSigner(this.pki, ca.id, this.passphrase);
  }

  /** Retiring CAs whose last certificate has expired become retired (audited); the service's sweep calls this. */
  async retireFinishedCas(): Promise<string[]> {
    return (await this.pki.retireFinishedCas({ actor: 'jinbao-serve' })).map((c) => c.id);
  }

  /** A CA's signer: the one handed over at start, else opened now. */
  private signerOf(caId: string): Promise<CaSigner> {
    const given = this.opts.signers?.get(caId);
    return given ? Promise.resolve(given) : openCaSigner(this.pki, caId, this.passphrase);
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

  /** A staff certificate through the pipeline (CMP): the same profile, stages and audit as `pki issue`. */
  async issueStaff(r: Parameters<CmpCertificateAuthority['issueStaff']>[0]) {
    const issued = await this.issuer.issue({
      profile: r.profile,
      site: r.site,
      ...(r.csrDer ? { csr: r.csrDer } : {}),
      ...(r.certRequest ? { certRequest: r.certRequest } : {}),
      ...(r.identityCode !== undefined ? { identityCode: r.identityCode } : {}),
      ...(r.insuranceNumber !== undefined ? { insuranceNumber: r.insuranceNumber } : {}),
      actor: r.actor,
    });
    return { serial: issued.record.serial, certificateDer: issued.certificateDer, chainDer: issued.chainDer };
  }

  /**
   * The CA issuing for the site's staff now (created when first needed, as issuance would), to sign
   * CMP answers: looked up on every call, so a rollover or replacement done by any process moves
   * the answers to the successor, as it moves issuance; each CA's responder is opened once.
   */
  async responder(siteId: string): Promise<CmpResponder> {
    const site = this.fabric.findSite(siteId);
    if (!site) throw new InputError(`site: got "${siteId}", want a site of the inventory`);
    const { id, province } = staffCaIdFor(this.fabric, site);
    const ca = (await this.pki.currentCa(id)) ?? (province ? await ensureProvinceStaffCa(this.pki, province, this.passphrase, { actor: 'jinbao-serve' }) : undefined);
    if (!ca) throw new InputError(`no staff CA "${id}" in the store: initialize the hierarchy with jinbao pki init`);
    let r = this.cmpResponders.get(ca.id);
    if (!r) {
      this.cmpResponders.set(ca.id, (r = this.openResponder(ca)));
      r.catch(() => this.cmpResponders.delete(ca.id));
    }
    return r;
  }

  private async openResponder(ca: CaRecord): Promise<CmpResponder> {
    const signer = await this.signerOf(ca.id);
    return {
      nameDer: certificateParts(ca.der).subjectDer.slice(),
      keyId: certificateKeyId(ca.der),
      algorithmDer: signatureAlgorithmDer(ca.algorithm),
      sign: (data) => signer.sign(data),
      chainDer: await chainOf(this.pki, ca.id),
    };
  }

  async holder(serial: string): Promise<CmpHolder | undefined> {
    const c = await this.pki.findCertificate(normalizeSerial(serial));
    return c ? { serial: c.serial, status: c.status, der: c.der, site: c.site, profile: c.profile, subject: c.subject, staffNumber: c.staffNumber, caId: c.caId, notBefore: c.notBefore, notAfter: c.notAfter } : undefined;
  }

  /**
   * The service's own TLS certificate: the newest one it issued itself for the same site and names
   * while more than a third of its life is left and it is not revoked; else a new one (whose key is
   * kept encrypted in the state for the next start).
   */
  async serviceTls(r: { site: string; dns: readonly string[]; ip: readonly string[]; actor: string; now?: Date }): Promise<{ certPem: string; keyPem: string; serial: string; reused: boolean }> {
    await this.pki.db.migrate('service', SERVICE_MIGRATIONS);
    const names = JSON.stringify([...r.dns.map((d) => `dns:${d}`), ...r.ip.map((i) => `ip:${i}`)].sort());
    const now = (r.now ?? new Date()).getTime();
    const rows = await this.pki.db.query<{ serial: string; key_pem: string }>('SELECT serial, key_pem FROM service_tls_keys WHERE site = $1 AND names = $2 ORDER BY created_at DESC, serial', [r.site, names]);
    for (const row of rows) {
      const c = await this.pki.findCertificate(row.serial);
      if (!c || c.status !== 'active') continue;
      const life = c.notAfter.getTime() - c.notBefore.getTime();
      if (c.notAfter.getTime() - now <= life / 3) continue;
      const key = decryptPkcs8(row.key_pem, this.passphrase, `the service's TLS key ${row.serial}`);
      return { certPem: [c.der, ...(await chainOf(this.pki, c.caId)).slice(0, -1)].map(pemCertificate).join(''), keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string, serial: c.serial, reused: true };
    }
    const issued = await this.issueServiceTls(r);
    await this.pki.db.run('INSERT INTO service_tls_keys (serial, site, names, key_pem, created_at) VALUES ($1, $2, $3, $4, $5)', [issued.serial, r.site, names, encryptPkcs8(issued.key, this.passphrase), new Date(now).toISOString()]);
    // Keys of certificates past their end are of no further use.
    for (const row of rows) {
      const c = await this.pki.findCertificate(row.serial);
      if (!c || c.notAfter.getTime() <= now) await this.pki.db.run('DELETE FROM service_tls_keys WHERE serial = $1', [row.serial]);
    }
    return { certPem: issued.certPem, keyPem: issued.keyPem, serial: issued.serial, reused: false };
  }

  /** A new TLS certificate for the service, key generated here: server-tls from the infrastructure CA. */
  private async issueServiceTls(r: { site: string; dns: readonly string[]; ip: readonly string[]; actor: string }): Promise<{ certPem: string; keyPem: string; serial: string; key: KeyObject }> {
    const issued = await this.issuer.issue({
      profile: 'server-tls',
      site: r.site,
      generate: { subject: `CN=${r.dns[0] ?? 'localhost'}`, algorithm: 'ecdsa-p256' },
      dns: r.dns,
      ip: r.ip,
      validityDays: 90,
      actor: r.actor,
    });
    const key = createPrivateKey(issued.key!.exportPkcs8());
    return { certPem: [issued.certificateDer, ...issued.chainDer.slice(0, -1)].map(pemCertificate).join(''), keyPem: issued.key!.exportPkcs8(), serial: issued.record.serial, key };
  }

  async certificate(serial: string) {
    const c = await this.pki.findCertificate(normalizeSerial(serial));
    return c ? { serial: c.serial, status: c.status, der: c.der, notBefore: c.notBefore, notAfter: c.notAfter } : undefined;
  }

  async issuedForKey(r: Parameters<AcmeCertificateAuthority['issuedForKey']>[0]) {
    const rows = await this.pki.db.query<{ serial: string; ca_id: string; der: Uint8Array; not_before: string; not_after: string }>(
      "SELECT serial, ca_id, der, not_before, not_after FROM pki_certificates WHERE site = $1 AND profile = 'server-tls' AND issued_at >= $2 ORDER BY issued_at, id",
      [r.site, r.since.toISOString()],
    );
    for (const row of rows) {
      const spki = new X509Certificate(Buffer.from(row.der)).publicKey.export({ type: 'spki', format: 'der' });
      if (createHash('sha256').update(spki).digest('hex') !== r.spkiSha256) continue;
      return { serial: row.serial, certificateDer: Buffer.from(row.der), chainDer: await chainOf(this.pki, row.ca_id), notBefore: new Date(row.not_before), notAfter: new Date(row.not_after) };
    }
    return undefined;
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
   * The CA's current full or delta CRL: its complete CRL, or one partition of an issuing CA's
   * (undefined when the CA has no such partition yet: nothing was issued into it). Every process
   * serving the state serves the CRLs kept in its ledger; one is cut (and kept) when none is
   * usable: on first request, after an hour (crlMaxAgeSeconds) or near nextUpdate, the delta at
   * every revocation, the full CRL after a revocation once it is fullCrlIntervalSeconds old. A
   * delta always updates the full CRL served. Each partition is cut, kept and refreshed on its own.
   */
  async crl(caId: string, kind: 'full' | 'delta' = 'full', partition?: number): Promise<ServedCrl | undefined> {
    const ca = await this.pki.getCa(caId);
    if (!ca) return undefined;
    if (partition !== undefined && (ca.role !== 'issuing' || partition > ((await this.pki.currentCrlPartition(caId)) ?? -1))) return undefined;
    // A retired CA signs nothing more: the last CRL it cut stays available, no new one is cut.
    if (ca.status === 'retired') return (await (this.ledger ??= CrlLedger.open(this.pki.db))).latestKept(caId, kind, partition ?? null);
    const full = await this.currentCrl(caId, partition, 'full');
    if (kind === 'full') return full;
    const delta = await this.currentCrl(caId, partition, 'delta', full);
    if (delta.baseNumber === full.number) return delta;
    // A newer full CRL was published meanwhile (another process, or pki crl): the delta was cut
    // over that one, so cut a full CRL now and its delta, so that the two served belong together.
    return this.currentCrl(caId, partition, 'delta', await this.currentCrl(caId, partition, 'full', undefined, true));
  }

  private async currentCrl(caId: string, partition: number | undefined, kind: 'full' | 'delta', base?: HeldCrl, force = false): Promise<HeldCrl> {
    const key = `${caId}:${partition ?? ''}:${kind}`;
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
      const kept = await ledger.latestKept(caId, kind, partition ?? null);
      if (usable(kept)) return kept;
      const cut = await cutCrl({
        pki: this.pki,
        caId,
        passphrase: this.passphrase,
        actor: 'jinbao-serve',
        delta: kind === 'delta',
        keep: true,
        distributionBase: this.opts.revocationUrl,
        ...(partition !== undefined ? { partition } : {}),
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
    // Each CA signs its own answers (RFC 6960 §2.6: the CA itself is an authorized responder); a
    // retiring CA too, for what it issued; a retired one no more (everything it issued has expired).
    for (const ca of await this.pki.listCas()) if (ca.status !== 'retired') authorities.push(ocspAuthority(ca.id, ca.der, await this.signerOf(ca.id)));
    // SQLite tells cheaply whether anything committed since the last request (any process, and
    // this service's own revocations): only then is the revocation sequence read again.
    const db = this.pki.db;
    const changeCounter = db.changeMark ? () => db.changeMark!() : undefined;
    const make = (a: OcspAuthority[]) => new OcspResponder({ authorities: a, registry: this.pki, validitySeconds: this.opts.ocspValiditySeconds ?? 3600, ...(changeCounter ? { changeCounter } : {}) });
    return { all: make(authorities), byCa: new Map(authorities.map((a) => [a.caId, make([a])])) };
  }

  /** Remember the URL clients reach the service at, for what is handed out elsewhere (CMP URLs of enrollment stations). */
  recordPublicUrl(url: string): Promise<void> {
    return this.pki.recordServicePublicUrl(url);
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
