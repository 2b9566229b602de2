/**
 * The PKI's operations: what the CLI, the exporter and (next) the service call. Each takes the PKI
 * store (or the state it lives in), its inputs and a progress sink, and returns data; none prints.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import type { Fabric, LiveFacts } from '../fabric/index.js';
import type { Progress, StateAccess } from '../lib/context.js';
import { initHierarchy, openCaSigner, replaceCa, rolloverCa, ROOT_CA_ID } from './ca.js';
import { mlps3Applications, pkiProvenance, staffCertificateHolders } from './facts.js';
import { registerPkiMetrics } from './metrics.js';
import { fileDelivery } from './deliver.js';
import { DEFAULT_PASSPHRASE_ENV, demoPassphrase, ensureDemoPassphrase } from './passphrase.js';
import { Issuer, type IssueRequest, type Issued } from './pipeline.js';
import { caBundlePem, replicaTlsMaterial } from './replica.js';
import { cutCrl as cutAuditedCrl, OcspResponder, ocspAuthority, publishCrl, responderFromPem, serveOcsp, type RevocationRegistry } from './revocation/index.js';
import { InputError } from '../lib/errors.js';
import { inputError } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';
import { crlUrlsFor } from './profiles.js';
import { PkiStore, type CaRecord, type CaStatus, type RevocationReason } from './store.js';
import { toPem } from './x509.js';
import { makeDirs } from '../lib/dirs.js';

/** The PKI store when a hierarchy exists; undefined otherwise (creating neither the store nor its tables). */
export async function existingPki(state: StateAccess): Promise<PkiStore | undefined> {
  if (!state.hasStore()) return undefined;
  const db = await state.database();
  if (!(await db.versions())['pki']) return undefined;
  const pki = await openPki(state);
  return (await pki.getCa(ROOT_CA_ID)) ? pki : undefined;
}

/** The PKI tables of the state, created or upgraded on first use. */
export async function openPki(state: StateAccess): Promise<PkiStore> {
  return PkiStore.open(await state.database(), state.stateDir);
}

/** KPI facts: staff certificate holders per site, MLPS level-3 applications with server certificates. */
export async function pkiLiveFacts(state: StateAccess, fabric: Fabric): Promise<Partial<LiveFacts>> {
  const pki = await existingPki(state);
  if (!pki) return {};
  const apps = await mlps3Applications(pki, fabric);
  return { staffCertificates: await staffCertificateHolders(pki), mlps3Applications: { total: apps.total, withCertificates: apps.withCertificates }, pkiProvenance: (await pkiProvenance(pki)).kind };
}

/** Exporter: certificate and CA gauges, read from the state at each scrape. */
export function registerPkiStateMetrics(registry: Registry, state: StateAccess): void {
  registerPkiMetrics(registry, () => existingPki(state));
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface ReplicaCertificatesResult {
  readonly hierarchyCreated: boolean;
  readonly demoKeyStore: boolean;
  /** Absent when the hierarchy exists but no passphrase was given: nothing was checked. */
  readonly replica: {
    readonly pairings: number;
    readonly issued: number;
    readonly kept: number;
    readonly dir: string;
    readonly pairs: readonly { site: string; drSite: string; primary: string; standby: string }[];
  } | null;
  readonly stateDir: string;
  readonly passphraseEnv: string;
}

/**
 * `jinbao up`'s PKI part: create the hierarchy when absent (demo passphrase when none is given, stored
 * beside the keys), then make sure every DR pairing has replica-mtls certificates for its primary and
 * standby database servers in `outDir/<site>/`. Keeps certificates valid for 30 more days whose files exist.
 */
export async function ensureReplicaCertificates(
  state: StateAccess,
  fabric: Fabric,
  opts: { readonly env: NodeJS.ProcessEnv; readonly outDir: string; readonly progress: Progress },
): Promise<ReplicaCertificatesResult> {
  const pki = await openPki(state);
  const envName = DEFAULT_PASSPHRASE_ENV;
  let passphrase = opts.env[envName] || undefined;
  let created = false;
  let demo = false;
  if (!(await pki.getCa(ROOT_CA_ID))) {
    if (!passphrase) {
      passphrase = await ensureDemoPassphrase(pki);
      demo = true;
    }
    await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase });
    created = true;
  } else if (!passphrase) {
    passphrase = await demoPassphrase(pki);
    demo = passphrase !== undefined;
  }
  const base = { hierarchyCreated: created, demoKeyStore: demo, stateDir: state.stateDir, passphraseEnv: envName };
  if (!passphrase) return { ...base, hierarchyCreated: false, demoKeyStore: false, replica: null };
  const now = Date.now();
  let issued = 0;
  let kept = 0;
  const pairs: { site: string; drSite: string; primary: string; standby: string }[] = [];
  for (const site of fabric.sites) {
    const drSite = fabric.drCenterOf(site);
    if (!drSite) continue;
    const dir = join(opts.outDir, site.id);
    makeDirs(dir);
    writeFileSync(join(dir, 'ca-bundle.pem'), await caBundlePem(pki));
    const serials: Record<'primary' | 'standby', string> = { primary: '', standby: '' };
    for (const [role, host, cn] of [
      ['primary', site, `pg.${site.slug}.jinbao.internal`],
      ['standby', drSite, `pg-dr-${site.slug}.${drSite.slug}.jinbao.internal`],
    ] as const) {
      const candidates = (await pki.listCertificates({ site: host.id, profile: 'replica-mtls', status: 'active' })).filter((c) => c.commonName === cn && c.notAfter.getTime() - now > RENEW_BEFORE_MS);
      // Certificates of a revoked (since replaced) infrastructure CA are dead: issue new ones under its successor.
      let current: (typeof candidates)[number] | undefined;
      for (const c of candidates) if (!(await pki.revokedCaInChain(c.caId))) current = c;
      if (current && existsSync(join(dir, `${role}.key.pem`)) && existsSync(join(dir, `${role}.crt.pem`))) {
        kept += 1;
        serials[role] = current.serial;
        continue;
      }
      opts.progress(`replica certificate for ${cn}`);
      const m = await replicaTlsMaterial(pki, fabric, { site: host.id, commonName: cn, passphrase });
      writeFileSync(join(dir, `${role}.crt.pem`), m.fullChainPem);
      writeFileSync(join(dir, `${role}.key.pem`), m.privateKeyPem, { mode: 0o600 });
      issued += 1;
      serials[role] = m.serial;
    }
    pairs.push({ site: site.id, drSite: drSite.id, primary: serials.primary, standby: serials.standby });
  }
  return { ...base, replica: { pairings: pairs.length, issued, kept, dir: opts.outDir, pairs } };
}

export interface IssueFilesOptions {
  /** Folder the certificate, its chain and a generated key go to (created when absent). */
  readonly outDir: string;
  /** The holder's private key (PKCS#8 PEM) when the request carries a CSR and a PKCS#12 bundle is wanted. */
  readonly keyPem?: string;
  /** Also write a PKCS#12 bundle with this password. */
  readonly p12Password?: string;
}

/** Issue through the profile pipeline and write the certificate, its chain, a generated key and a PKCS#12 bundle. */
export async function issueCertificate(
  pki: PkiStore,
  fabric: Fabric,
  passphrase: string,
  request: IssueRequest,
  files: IssueFilesOptions,
): Promise<{ issued: Issued; files: Record<string, string> }> {
  // Outputs are staged before the certificate is recorded: an --out that cannot be written issues nothing.
  const delivery = fileDelivery({
    dir: files.outDir,
    ...(files.p12Password !== undefined ? { p12Password: files.p12Password } : {}),
    ...(files.keyPem !== undefined ? { holderKeyPem: files.keyPem } : {}),
  });
  const issued = await new Issuer(pki, fabric, passphrase).issue(request, delivery);
  return { issued, files: { ...issued.files! } };
}

/** Revoke one certificate (audited; refusals are InputError and audited too). */
export async function revokeCertificate(pki: PkiStore, serial: string, reason: RevocationReason): Promise<{ serial: string; caId: string; reason: RevocationReason; revokedAt: string | undefined; crlPartition: number | null }> {
  const cert = await pki.markRevoked(serial, reason);
  return { serial: cert.serial, caId: cert.caId, reason, revokedAt: cert.revokedAt?.toISOString(), crlPartition: cert.crlPartition };
}

/** Revoke an issuing CA; says how many unrevoked certificates it leaves stranded. */
export async function revokeIssuingCa(pki: PkiStore, id: string, reason: RevocationReason) {
  const ca = await pki.markCaRevoked(id, reason);
  const stranded = (await pki.listCertificates({ caId: ca.id, status: 'active' })).length;
  return { ca: ca.id, serial: ca.serial, parent: ca.parentId!, reason, revokedAt: ca.revokedAt?.toISOString(), revocationSeq: ca.revocationSeq, unrevokedCertificatesUnder: stranded };
}

/** Give a revoked issuing CA its successor; says how many of its certificates need re-issuing. */
export async function replaceIssuingCa(pki: PkiStore, id: string, passphrase: string): Promise<{ replaced: CaRecord; successor: CaRecord; certificatesToReissue: number }> {
  const { replaced, successor } = await replaceCa(pki, id, passphrase);
  return { replaced, successor, certificatesToReissue: (await pki.listCertificates({ caId: replaced.id, status: 'active' })).length };
}

/** Roll an active issuing CA over: its successor issues from now on, it retires once its last certificate expires. */
export async function rolloverIssuingCa(pki: PkiStore, id: string, passphrase: string, opts: { now?: Date; actor?: string } = {}): Promise<{ retiring: CaTimelineEntry; successor: CaTimelineEntry }> {
  const { retiring, successor } = await rolloverCa(pki, id, passphrase, opts);
  const timeline = await caTimeline(pki, { ...(opts.now ? { now: opts.now } : {}), settle: false });
  return { retiring: timeline.find((c) => c.id === retiring.id)!, successor: timeline.find((c) => c.id === successor.id)! };
}

/** One CA in `pki cas`: where it is in its life, what comes before and after it, and how long it still answers for what it issued. */
export interface CaTimelineEntry {
  readonly id: string;
  readonly parent: string | null;
  readonly role: CaRecord['role'];
  readonly purpose: CaRecord['purpose'];
  readonly site: string | null;
  readonly algorithm: string;
  readonly subject: string;
  readonly serial: string;
  readonly keyBackend: string;
  readonly status: CaStatus;
  readonly notBefore: string;
  readonly notAfter: string;
  /** The CA this one succeeds (rollover or replacement), and the one that succeeds it. */
  readonly replaces: string | null;
  readonly successor: string | null;
  readonly retiringAt: string | null;
  readonly retiredAt: string | null;
  readonly revokedAt: string | null;
  readonly revocationReason: RevocationReason | null;
  /** When the last certificate it issued expires: a retiring CA signs CRLs and OCSP answers until then. */
  readonly lastCertificateExpiry: string | null;
  /** Certificates it issued that are neither revoked nor expired. */
  readonly validCertificates: number;
}

/**
 * The CA hierarchy as a timeline (`jinbao pki cas`). With `settle` (the default), retiring CAs
 * whose last certificate has expired are first made retired (audited), so the list says what is
 * true now.
 */
export async function caTimeline(pki: PkiStore, opts: { now?: Date; settle?: boolean; actor?: string } = {}): Promise<CaTimelineEntry[]> {
  const now = opts.now ?? new Date();
  if (opts.settle !== false) await pki.retireFinishedCas({ now, ...(opts.actor ? { actor: opts.actor } : {}) });
  const cas = await pki.listCas();
  const counts = new Map(
    (
      await pki.db.query<{ ca_id: string; last: string | null; valid: number }>(
        "SELECT ca_id, MAX(not_after) AS last, SUM(CASE WHEN status = 'active' AND not_after > $1 THEN 1 ELSE 0 END) AS valid FROM pki_certificates GROUP BY ca_id",
        [now.toISOString()],
      )
    ).map((r) => [r.ca_id, r]),
  );
  const successors = new Map(cas.filter((c) => c.replaces !== null).map((c) => [c.replaces!, c.id]));
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  return cas.map((c) => ({
    id: c.id,
    parent: c.parentId,
    role: c.role,
    purpose: c.purpose,
    site: c.site,
    algorithm: c.algorithm,
    subject: c.subject,
    serial: c.serial,
    keyBackend: c.keyBackend,
    status: c.status,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    replaces: c.replaces,
    successor: successors.get(c.id) ?? null,
    retiringAt: iso(c.retiringAt),
    retiredAt: iso(c.retiredAt),
    revokedAt: iso(c.revokedAt),
    revocationReason: c.revocationReason,
    lastCertificateExpiry: counts.get(c.id)?.last ?? null,
    validCertificates: Number(counts.get(c.id)?.valid ?? 0),
  }));
}

export interface CutCrlRequest {
  readonly caId: string;
  readonly delta: boolean;
  readonly passphrase: string;
  /** Seconds until nextUpdate; default: the CRL kind's. */
  readonly validitySeconds?: number;
  /** Base URL CRLs are published under (full CRLs announce the delta there; partitions name themselves there). */
  readonly distributionBase: string;
  /** Folder the DER and PEM files go to (created when absent). */
  readonly outDir: string;
  /**
   * One partition of an issuing CA's CRL, or `all`: the complete CRL and every partition holding
   * certificates. @default the complete CRL only
   */
  readonly partition?: number | 'all';
}

/**
 * Cut the next full or delta CRLs of a CA and write them as DER and PEM, laid out as they are served:
 * the complete CRL as `<ca>.crl`, partition n as `<ca>/<n>.crl` (deltas `-delta.crl`). The result
 * describes the first CRL cut (the complete one, or the partition asked for), every CRL cut
 * (`crls`), and the CA's partitions with how many certificates were issued into each and are revoked.
 */
export async function cutCrl(pki: PkiStore, r: CutCrlRequest) {
  const base = r.distributionBase.replace(/\/+$/, '');
  const ca = await pki.getCa(r.caId);
  if (ca?.status === 'retired') throw inputError(PKI_MESSAGES, 'rollover.retiredCrl', { ca: ca.id, at: ca.retiredAt?.toISOString() ?? '?' });
  const counts = ca ? await pki.crlPartitions(ca.id) : [];
  const which: (number | undefined)[] =
    r.partition === 'all' ? [undefined, ...counts.flatMap((c) => (c.partition === null ? [] : [c.partition]))] : [r.partition];
  const out = resolve(r.outDir);
  const crls = [];
  for (const partition of which) {
    // Opening the CA key and signing are audited (a refusal too) by the revocation feature's cut.
    const published = await cutAuditedCrl({
      pki,
      caId: r.caId,
      passphrase: r.passphrase,
      delta: r.delta,
      ...(r.validitySeconds !== undefined ? { validitySeconds: r.validitySeconds } : {}),
      distributionBase: base,
      ...(partition !== undefined ? { partition } : {}),
    });
    const dir = partition === undefined ? out : join(out, r.caId);
    makeDirs(dir);
    const name = partition === undefined ? r.caId : String(partition);
    const stem = join(dir, r.delta ? `${name}-delta` : name);
    writeFileSync(`${stem}.crl`, published.der);
    writeFileSync(`${stem}.crl.pem`, published.pem);
    crls.push({
      ca: r.caId,
      partition: partition ?? null,
      kind: r.delta ? ('delta' as const) : ('full' as const),
      url: crlUrlsFor(base, r.caId, partition ?? null)[r.delta ? 'delta' : 'full'],
      number: published.slot.number,
      ...(published.slot.baseNumber !== undefined ? { baseNumber: published.slot.baseNumber } : {}),
      entries: published.entries,
      bytes: published.der.length,
      thisUpdate: published.slot.thisUpdate.toISOString(),
      nextUpdate: published.slot.nextUpdate.toISOString(),
      files: [`${stem}.crl`, `${stem}.crl.pem`],
    });
  }
  const settings = await pki.crlSettings();
  return {
    ...crls[0]!,
    crls,
    partitionSize: settings.partitionSize,
    expiredEntries: settings.expiredEntries,
    partitions: counts,
  };
}

export interface OcspServiceRequest {
  readonly caId: string;
  /** The delegated OCSP-signing certificate and its key (PEM), and where they came from (for messages). */
  readonly responderCertPem: string;
  readonly responderKeyPem: string;
  readonly responderCertFile: string;
  readonly responderKeyFile: string;
  readonly keyPassphrase?: string;
  readonly validitySeconds: number;
  readonly cacheTtlSeconds: number;
  readonly port: number;
  readonly host: string;
}

/** Start an RFC 6960 responder for one CA over HTTP; revocations recorded by any process show in its next answer. */
export async function startOcspService(pki: PkiStore, r: OcspServiceRequest) {
  const ca = await pki.getCa(r.caId);
  if (!ca) throw inputError(PKI_MESSAGES, 'ocspServe.ca', { ca: r.caId, known: (await pki.listCas()).map((c) => c.id).join(', ') });
  const signer = responderFromPem({
    caId: ca.id,
    caCertificateDer: ca.der,
    certPem: r.responderCertPem,
    keyPem: r.responderKeyPem,
    certFile: r.responderCertFile,
    keyFile: r.responderKeyFile,
    ...(r.keyPassphrase !== undefined ? { keyPassphrase: r.keyPassphrase } : {}),
  });
  // SQLite's change mark (any commit, by any connection) gates the revocation check; on PostgreSQL
  // the revocation sequence is read per request (one indexed row).
  const db = pki.db;
  const changeCounter = db.changeMark ? () => db.changeMark!() : undefined;
  const responder = new OcspResponder({
    authorities: [ocspAuthority(ca.id, ca.der, signer)],
    registry: pki,
    validitySeconds: r.validitySeconds,
    cacheTtlSeconds: r.cacheTtlSeconds,
    ...(changeCounter ? { changeCounter } : {}),
  });
  try {
    const running = await serveOcsp(responder, { port: r.port, host: r.host });
    return { ca, responder, running };
  } catch (err) {
    throw inputError(PKI_MESSAGES, 'ocspServe.listen', { host: r.host, port: r.port, why: (err as Error).message }, { cause: err });
  }
}
