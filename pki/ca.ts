import type { Fabric, Site } from '../fabric/index.js';
import { AUDIT_LOCK, appendAudit } from '../lib/audit.js';
import { ExitCode, InputError } from '../lib/errors.js';
import type { CaAlgorithm } from './algorithms.js';
import { SoftwareKeyBackend, type KeyBackend, type Signer } from './keys.js';
import { Pkcs11KeyBackend } from './pkcs11.js';
import type { Queryable } from '../lib/sql/index.js';
import type { CaPurpose, CaRecord, PkiStore } from './store.js';
import { assembleSigned, buildExtensions, certificateKeyId, certificateParts, encodeName, encodeTbs, formatName, newSerial, parseSubject, spkiKeyId, type DistinguishedName } from './x509.js';
import { inputError, jinbaoError } from '../lib/i18n/index.js';
import { DEFAULT_DISTRIBUTION, DISTRIBUTION_BASE_SETTING, normalizeDistributionBase, urlsFor } from './profiles.js';
import { PKI_MESSAGES } from './messages.js';

/**
 * The CA hierarchy: one national root that signs only issuing CAs (and its own CRL); issuing CAs
 * for the ministry's staff, for each province's staff (created when first needed) and for
 * infrastructure (servers, DR replicas, OCSP responders).
 */

/** A CA's signing capability: what CRL and OCSP code needs, nothing more. */
export interface CaSigner {
  readonly id: string;
  readonly algorithm: CaAlgorithm;
  /** The CA's own certificate (DER). */
  readonly certificateDer: Uint8Array;
  /** Sign a TBS structure; returns the DER signature exactly as it goes in the BIT STRING. */
  sign(tbs: Uint8Array): Promise<Uint8Array>;
  readonly signatureAlgorithmOid: string;
}

export const ROOT_CA_ID = 'root';
export const MINISTRY_STAFF_CA_ID = 'ministry-staff';
export const INFRASTRUCTURE_CA_ID = 'infrastructure';
export const provinceStaffCaId = (provinceId: string) => `province-${provinceId}-staff`;

const ORG = 'Ministry of Human Resources and Social Security';
const DAY = 86_400_000;
/** Backdating absorbs clock skew between the CA and relying parties. */
export const BACKDATE_MS = 5 * 60_000;
export const ROOT_VALIDITY_DAYS = 20 * 365;
export const ISSUING_VALIDITY_DAYS = 10 * 365;

/** The software backend: CA keys encrypted in the store's own pki_keys table. */
export function defaultKeyBackend(pki: PkiStore): KeyBackend {
  return new SoftwareKeyBackend(pki);
}

/** The backends a CA record may name; PKCS#11 registers here when configured. */
export type KeyBackends = Readonly<Record<string, KeyBackend>>;

function backendsFor(pki: PkiStore, extra: KeyBackends = {}): KeyBackends {
  return { software: defaultKeyBackend(pki), ...extra };
}

/** The backend that holds `record`'s key; a PKCS#11 reference names its own module and token. */
function backendOf(pki: PkiStore, record: CaRecord, extra?: KeyBackends): KeyBackend | undefined {
  return extra?.[record.keyBackend] ?? (record.keyBackend === 'pkcs11' ? Pkcs11KeyBackend.fromRef(record.keyRef) : backendsFor(pki, extra)[record.keyBackend]);
}

export interface HierarchyOptions {
  readonly algorithm: CaAlgorithm;
  readonly passphrase: string;
  /** @default the software backend (keys encrypted in the state store) */
  readonly backend?: KeyBackend;
  /** @default now */
  readonly now?: Date;
  readonly actor?: string;
  /**
   * The base of the CRL, OCSP and CA-certificate URLs in every certificate of this hierarchy (and
   * the FreshestCRL of its CRLs), kept in the store. @default http://pki.jinbao.internal
   */
  readonly distributionBase?: string;
}

function caSubject(cn: string, extra: DistinguishedName = []): DistinguishedName {
  return [{ type: 'C', value: 'CN' }, { type: 'O', value: ORG }, ...extra, { type: 'CN', value: cn }];
}

async function createCa(
  backend: KeyBackend,
  passphrase: string,
  spec: { id: string; purpose: CaPurpose; site: string | null; subject: DistinguishedName; algorithm: CaAlgorithm; validityDays: number; now: Date },
  parent?: { record: CaRecord; signer: CaSigner; distributionBase: string },
): Promise<CaRecord> {
  const { ref, signer } = await backend.generate(spec.algorithm, spec.id, passphrase);
  const notBefore = new Date(spec.now.getTime() - BACKDATE_MS);
  let notAfter = new Date(spec.now.getTime() + spec.validityDays * DAY);
  if (parent && notAfter > parent.record.notAfter) notAfter = parent.record.notAfter;
  const subject = encodeName(spec.subject);
  const skid = spkiKeyId(signer.spkiDer);
  const serial = newSerial();
  const tbs = encodeTbs({
    serial,
    issuerDer: parent ? certificateParts(parent.record.der).subjectDer : subject,
    subjectDer: subject,
    notBefore,
    notAfter,
    spkiDer: signer.spkiDer,
    algorithm: spec.algorithm,
    extensions: buildExtensions({
      ca: { pathLength: parent ? 0 : 1 },
      keyUsage: ['keyCertSign', 'cRLSign', ...(parent ? (['digitalSignature'] as const) : [])],
      subjectKeyId: skid,
      authorityKeyId: parent ? certificateKeyId(parent.record.der) : skid,
      // An issuing CA names where its parent publishes revocation data, so relying parties can check the
      // whole chain (openssl verify -crl_check_all) without hand-configured CRLs; the root names none.
      ...(parent ? { crlUrl: urlsFor(parent.distributionBase, parent.record.id).crl, ocspUrl: urlsFor(parent.distributionBase, parent.record.id).ocsp, caIssuersUrl: urlsFor(parent.distributionBase, parent.record.id).caIssuers } : {}),
    }),
  });
  const der = assembleSigned(tbs, spec.algorithm, await (parent ? parent.signer : signer).sign(tbs));
  const record: CaRecord = {
    id: spec.id,
    parentId: parent?.record.id ?? null,
    role: parent ? 'issuing' : 'root',
    purpose: spec.purpose,
    site: spec.site,
    algorithm: spec.algorithm,
    subject: formatName(spec.subject),
    serial,
    notBefore,
    notAfter,
    der,
    keyBackend: backend.name,
    keyRef: ref,
    status: 'active',
    revokedAt: null,
    revocationReason: null,
    revocationSeq: null,
    replaces: null,
    retiringAt: null,
    retiredAt: null,
    createdAt: spec.now,
  };
  return record;
}

function asCaSigner(record: CaRecord, signer: Signer): CaSigner {
  return { id: record.id, algorithm: record.algorithm, certificateDer: record.der, signatureAlgorithmOid: signer.signatureAlgorithmOid, sign: (tbs) => signer.sign(tbs) };
}

/**
 * Create the root, the ministry staff CA and the infrastructure CA. Refuses when a root exists
 * (the store is unchanged). Keys are written before the records; a crash in between leaves only
 * orphan keys, which a re-run refuses to overwrite and names.
 */
export async function initHierarchy(pki: PkiStore, opts: HierarchyOptions): Promise<CaRecord[]> {
  const backend = opts.backend ?? defaultKeyBackend(pki);
  const now = opts.now ?? new Date();
  const existing = await pki.getCa(ROOT_CA_ID);
  if (existing) {
    const err = inputError(PKI_MESSAGES, 'ca.exists', { serial: existing.serial, algorithm: existing.algorithm, created: existing.createdAt.toISOString() });
    await pki.auditRefusal({ action: 'pki.init', subject: ROOT_CA_ID, actor: opts.actor, details: { reason: err.message } });
    throw err;
  }
  const distributionBase = normalizeDistributionBase(opts.distributionBase ?? DEFAULT_DISTRIBUTION.base);
  const root = await createCa(backend, opts.passphrase, {
    id: ROOT_CA_ID,
    purpose: 'root',
    site: null,
    subject: caSubject('Jinbao National Root CA'),
    algorithm: opts.algorithm,
    validityDays: ROOT_VALIDITY_DAYS,
    now,
  });
  const rootSigner = asCaSigner(root, await backend.open(root.keyRef, root.algorithm, opts.passphrase));
  const ministry = await createCa(
    backend,
    opts.passphrase,
    { id: MINISTRY_STAFF_CA_ID, purpose: 'staff', site: '000000', subject: caSubject('Jinbao Ministry Staff CA'), algorithm: opts.algorithm, validityDays: ISSUING_VALIDITY_DAYS, now },
    { record: root, signer: rootSigner, distributionBase },
  );
  const infra = await createCa(
    backend,
    opts.passphrase,
    { id: INFRASTRUCTURE_CA_ID, purpose: 'infrastructure', site: null, subject: caSubject('Jinbao Infrastructure CA'), algorithm: opts.algorithm, validityDays: ISSUING_VALIDITY_DAYS, now },
    { record: root, signer: rootSigner, distributionBase },
  );
  await pki.db.write(async (tx) => {
    await tx.run('INSERT INTO pki_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [DISTRIBUTION_BASE_SETTING, distributionBase]);
    for (const ca of [root, ministry, infra]) {
      await pki.insertCa(tx, ca);
      await appendAudit(tx, { action: 'pki.ca.create', outcome: 'ok', subject: ca.id, actor: opts.actor, details: { serial: ca.serial, algorithm: ca.algorithm, subject: ca.subject, notAfter: ca.notAfter.toISOString(), keyBackend: ca.keyBackend } });
    }
  }, { locks: [AUDIT_LOCK] });
  return [root, ministry, infra];
}

/** The staff CA that certifies a site's staff: the ministry's, or the province's (a prefecture's province). */
export function staffCaIdFor(fabric: Fabric, site: Site): { id: string; province: Site | null } {
  if (site.tier === 'ministry') return { id: MINISTRY_STAFF_CA_ID, province: null };
  const province = site.tier === 'province' ? site : fabric.parentOf(site);
  if (!province) throw inputError(PKI_MESSAGES, 'ca.noProvince', { site: site.id });
  return { id: provinceStaffCaId(province.id), province };
}

/** Province CAs being created by this process, so concurrent issuances wait for one creation. */
const creating = new WeakMap<PkiStore, Map<string, Promise<CaRecord>>>();

/** How long a process waits for another process's creation of a province CA to land. */
const PEER_CREATION_WAIT_MS = 30_000;

/**
 * The province's staff CA (its successor once replaced), created (signed by the root) when first
 * needed. Concurrent issuances in this process share one creation; another process creating it at
 * the same moment holds its key label, and this one waits for that CA's record instead.
 */
export async function ensureProvinceStaffCa(pki: PkiStore, province: Site, passphrase: string, opts: { now?: Date; actor?: string; backends?: KeyBackends } = {}): Promise<CaRecord> {
  const id = provinceStaffCaId(province.id);
  const found = await pki.currentCa(id);
  if (found) return found;
  let inProcess = creating.get(pki);
  if (!inProcess) creating.set(pki, (inProcess = new Map()));
  let pending = inProcess.get(id);
  if (!pending) {
    pending = createProvinceStaffCa(pki, province, passphrase, opts);
    inProcess.set(id, pending);
    const forget = () => inProcess.delete(id);
    pending.then(forget, forget);
  }
  return pending;
}

async function createProvinceStaffCa(pki: PkiStore, province: Site, passphrase: string, opts: { now?: Date; actor?: string; backends?: KeyBackends }): Promise<CaRecord> {
  const id = provinceStaffCaId(province.id);
  const root = await requireRootCa(pki);
  const rootSigner = await openCaSigner(pki, ROOT_CA_ID, passphrase, opts.backends);
  const backend = backendOf(pki, root, opts.backends)!;
  const now = opts.now ?? new Date();
  let ca: CaRecord;
  try {
    ca = await createCa(
      backend,
      passphrase,
      { id, purpose: 'staff', site: province.id, subject: caSubject(`Jinbao Staff CA ${province.slug}`, [{ type: 'OU', value: province.name }]), algorithm: root.algorithm, validityDays: ISSUING_VALIDITY_DAYS, now },
      { record: root, signer: rootSigner, distributionBase: await pki.distributionBase() },
    );
  } catch (err) {
    // Another process holds the key label: it is creating this CA right now. Use its CA once recorded.
    for (const until = Date.now() + PEER_CREATION_WAIT_MS; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      const winner = await pki.currentCa(id);
      if (winner) return winner;
    }
    throw err;
  }
  await pki.db.write(async (tx) => {
    await pki.insertCa(tx, ca);
    await appendAudit(tx, { action: 'pki.ca.create', outcome: 'ok', subject: ca.id, actor: opts.actor, details: { serial: ca.serial, algorithm: ca.algorithm, subject: ca.subject, site: province.id, notAfter: ca.notAfter.toISOString() } });
  }, { locks: [AUDIT_LOCK] });
  return ca;
}

export async function requireRootCa(pki: PkiStore): Promise<CaRecord> {
  const root = await pki.getCa(ROOT_CA_ID);
  if (!root) throw inputError(PKI_MESSAGES, 'ca.noHierarchy', { dir: pki.stateDir });
  return root;
}

/**
 * Open a CA's signer from the store with the passphrase (or PIN) of its key. Unknown CA ids and
 * wrong passphrases throw InputError (exit 2).
 */
export async function openCaSigner(pki: PkiStore, caId: string, passphrase: string, backends?: KeyBackends): Promise<CaSigner> {
  const record = await pki.getCa(caId);
  if (!record) {
    await requireRootCa(pki);
    throw inputError(PKI_MESSAGES, 'store.unknownCa', { id: caId, known: (await pki.listCas()).map((c) => c.id).join(', ') });
  }
  const backend = backendOf(pki, record, backends);
  if (!backend) throw jinbaoError(PKI_MESSAGES, 'ca.unknownBackend', { ca: caId, backend: record.keyBackend }, { exitCode: ExitCode.invalidInput });
  return asCaSigner(record, await backend.open(record.keyRef, record.algorithm, passphrase));
}

/** The chain above a CA, issuing CA first, root last (DER). */
export async function chainOf(pki: PkiStore, caId: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let ca = await pki.getCa(caId); ca; ca = ca.parentId ? await pki.getCa(ca.parentId) : undefined) out.push(ca.der);
  return out;
}

/**
 * The id and subject of the next CA in `ca`'s line: the line's first id with the generation
 * appended (province-440000-staff → province-440000-staff-2 → province-440000-staff-3), and the
 * first CA's subject with " G<generation>" after its CN, so relying parties and OpenSSL never
 * confuse the successor's certificates and CRLs with those of the CA it replaces.
 */
export async function successorIdentity(pki: PkiStore, ca: CaRecord): Promise<{ id: string; generation: number; subject: DistinguishedName }> {
  let first = ca;
  let generation = 1;
  for (let prev = ca.replaces ? await pki.getCa(ca.replaces) : undefined; prev; prev = prev.replaces ? await pki.getCa(prev.replaces) : undefined) {
    first = prev;
    generation += 1;
  }
  let next = generation + 1;
  while (await pki.getCa(`${first.id}-${next}`)) next += 1;
  const subject = parseSubject(first.subject).map((a) => (a.type === 'CN' ? { type: 'CN', value: `${a.value} G${next}` } : a)) as unknown as DistinguishedName;
  return { id: `${first.id}-${next}`, generation: next, subject };
}

/**
 * Why `id` cannot be replaced, or its record. Only a revoked issuing CA without a successor can;
 * an active CA is rolled over instead (`rolloverCa`), which keeps its certificates valid.
 */
async function replaceable(pki: PkiStore, id: string, q: Queryable = pki.db): Promise<CaRecord> {
  const ca = await pki.getCa(id, q);
  if (!ca) {
    if (!(await pki.getCa(ROOT_CA_ID, q))) await requireRootCa(pki);
    throw inputError(PKI_MESSAGES, 'store.unknownCa', { id, known: (await pki.listCas(q)).map((c) => c.id).join(', ') });
  }
  if (ca.parentId === null) {
    throw new InputError(
      `CA ${id}: got the root CA, want a revoked issuing CA; nothing above the root can sign its successor. If the root key is compromised, create a new hierarchy in a new state directory (jinbao --state <new dir> pki init) and re-issue every certificate under it`,
    );
  }
  const successor = await pki.successorOf(id, q);
  if (successor) {
    throw inputError(PKI_MESSAGES, successor.status === 'revoked' ? 'ca.replacedRevoked' : 'ca.replaced', { id, successor: successor.id, created: successor.createdAt.toISOString(), status: successor.status });
  }
  if (ca.status !== 'revoked') {
    throw new InputError(
      `CA ${id}: got a${ca.status === 'active' ? 'n' : ''} ${ca.status} CA, want a revoked one; replace-ca recovers from a compromised issuing CA. Revoke it first (jinbao pki revoke --ca ${id} --reason cACompromise)${ca.status === 'active' ? `, or, for a planned change that keeps its certificates valid, roll it over: jinbao pki rollover-ca --ca ${id}` : ''}`,
    );
  }
  return ca;
}

/**
 * Why `id` cannot be rolled over, or its record. Only an active issuing CA without a successor
 * can: a revoked one is replaced (`replaceCa`), a retiring or retired one has its successor.
 */
async function rollable(pki: PkiStore, id: string, q: Queryable = pki.db): Promise<CaRecord> {
  const ca = await pki.getCa(id, q);
  if (!ca) {
    if (!(await pki.getCa(ROOT_CA_ID, q))) await requireRootCa(pki);
    throw inputError(PKI_MESSAGES, 'rollover.unknown', { id, known: (await pki.listCas(q)).filter((c) => c.role === 'issuing' && c.status === 'active').map((c) => c.id).join(', ') });
  }
  if (ca.parentId === null) throw inputError(PKI_MESSAGES, 'rollover.root', { id });
  const successor = await pki.successorOf(id, q);
  if (successor) throw inputError(PKI_MESSAGES, 'rollover.hasSuccessor', { id, successor: successor.id, created: successor.createdAt.toISOString(), status: successor.status });
  if (ca.status === 'revoked') throw inputError(PKI_MESSAGES, 'rollover.revoked', { id });
  if (ca.status !== 'active') throw inputError(PKI_MESSAGES, 'rollover.notActive', { id, status: ca.status });
  return ca;
}

/**
 * A new CA in `old`'s line: signed by the same parent, same purpose, site and algorithm, a new key
 * in the same backend (the same PKCS#11 token when the old key was on one), a fresh serial and the
 * next id of the line (`successorIdentity`). Not recorded yet.
 */
async function successorOf(pki: PkiStore, old: CaRecord, passphrase: string, opts: { now?: Date; backends?: KeyBackends }): Promise<{ parent: CaRecord; successor: CaRecord }> {
  const parent = (await pki.getCa(old.parentId!))!;
  const backend = backendOf(pki, old, opts.backends);
  if (!backend) throw jinbaoError(PKI_MESSAGES, 'ca.unknownBackendOld', { ca: old.id, backend: old.keyBackend }, { exitCode: ExitCode.invalidInput });
  const parentSigner = await openCaSigner(pki, parent.id, passphrase, opts.backends);
  const next = await successorIdentity(pki, old);
  const created = await createCa(
    backend,
    passphrase,
    { id: next.id, purpose: old.purpose, site: old.site, subject: next.subject, algorithm: old.algorithm, validityDays: ISSUING_VALIDITY_DAYS, now: opts.now ?? new Date() },
    { record: parent, signer: parentSigner, distributionBase: await pki.distributionBase() },
  );
  return { parent, successor: { ...created, replaces: old.id } };
}

function successorDetails(old: CaRecord, parent: CaRecord, successor: CaRecord): Record<string, unknown> {
  return {
    predecessor: old.id,
    predecessorSerial: old.serial,
    successor: successor.id,
    serial: successor.serial,
    parentId: parent.id,
    purpose: successor.purpose,
    site: successor.site,
    algorithm: successor.algorithm,
    subject: successor.subject,
    keyBackend: successor.keyBackend,
    notAfter: successor.notAfter.toISOString(),
  };
}

export interface RolledOverCa {
  /** The CA rolled over, now retiring. */
  readonly retiring: CaRecord;
  readonly successor: CaRecord;
}

/**
 * Planned rollover of an active issuing CA (one nearing the end of its validity, or whose key has
 * served long enough): a successor is created as `replaceCa` creates one, and in the same
 * transaction the old CA becomes `retiring`. From then on every lookup by the old id's line
 * (`PkiStore.currentCa`) finds the successor, so issuance, CMP, ACME and renewals move to it; the
 * retiring CA issues nothing (the pipeline and the store's commit refuse it) but keeps signing its
 * CRLs and OCSP answers, so relying parties see no change, until its last certificate has expired
 * (`PkiStore.retireFinishedCas` then makes it `retired`). Refused (InputError, audited): unknown
 * ids, the root, a CA that is not active, a CA that already has a successor.
 */
export async function rolloverCa(pki: PkiStore, id: string, passphrase: string, opts: { now?: Date; actor?: string; backends?: KeyBackends } = {}): Promise<RolledOverCa> {
  const old = await refusalAudited(pki, 'pki.ca.rollover', id, opts.actor, () => rollable(pki, id));
  const now = opts.now ?? new Date();
  let made: { parent: CaRecord; successor: CaRecord };
  try {
    made = await successorOf(pki, old, passphrase, { now, ...(opts.backends ? { backends: opts.backends } : {}) });
  } catch (err) {
    // A concurrent rollover that won holds the successor's key label: report that, not the key clash.
    if (await pki.successorOf(id)) await refusalAudited(pki, 'pki.ca.rollover', id, opts.actor, () => rollable(pki, id));
    throw err;
  }
  const { parent, successor } = made;
  await pki.refusalsAudited('pki.ca.rollover', id, opts.actor, async (tx) => {
    // Checked again inside the write: a concurrent rollover, replacement or revocation may have won meanwhile.
    await rollable(pki, id, tx);
    await pki.insertCa(tx, successor);
    await tx.run("UPDATE pki_cas SET status = 'retiring', retiring_at = $1 WHERE id = $2 AND status = 'active'", [now.toISOString(), id]);
    await appendAudit(tx, { action: 'pki.ca.rollover', outcome: 'ok', subject: id, actor: opts.actor, details: { ...successorDetails(old, parent, successor), lastCertificateExpiry: (await pki.lastCertificateExpiry(id, tx))?.toISOString() ?? null } });
  });
  return { retiring: (await pki.getCa(id))!, successor: (await pki.getCa(successor.id))! };
}

export interface ReplacedCa {
  /** The revoked CA, unchanged. */
  readonly replaced: CaRecord;
  readonly successor: CaRecord;
}

/**
 * Create the successor of a revoked issuing CA: signed by the same parent (the root), with the
 * same purpose, site and algorithm, a new key in the same backend (the same PKCS#11 token when the
 * old key was on one), a fresh serial and the next id of its line (`successorIdentity`). From then
 * on every lookup by the old id's line (`PkiStore.currentCa`) finds the successor; what the old CA
 * issued stays as it is. Refused (InputError, audited): unknown ids, the root, an active CA, a CA
 * already replaced. The key is written before the record; a crash in between leaves an orphan key
 * that the next attempt refuses to overwrite and names.
 */
export async function replaceCa(pki: PkiStore, id: string, passphrase: string, opts: { now?: Date; actor?: string; backends?: KeyBackends } = {}): Promise<ReplacedCa> {
  const old = await refusalAudited(pki, 'pki.ca.replace', id, opts.actor, () => replaceable(pki, id));
  let made: { parent: CaRecord; successor: CaRecord };
  try {
    made = await successorOf(pki, old, passphrase, { ...(opts.now ? { now: opts.now } : {}), ...(opts.backends ? { backends: opts.backends } : {}) });
  } catch (err) {
    // A concurrent replace-ca that won holds the successor's key label: report that, not the key clash.
    if (await pki.successorOf(id)) await refusalAudited(pki, 'pki.ca.replace', id, opts.actor, () => replaceable(pki, id));
    throw err;
  }
  const { parent, successor } = made;
  await pki.refusalsAudited('pki.ca.replace', id, opts.actor, async (tx) => {
    // Checked again inside the write: a concurrent replace-ca may have won meanwhile.
    await replaceable(pki, id, tx);
    await pki.insertCa(tx, successor);
    const { predecessor, predecessorSerial, ...rest } = successorDetails(old, parent, successor);
    await appendAudit(tx, { action: 'pki.ca.replace', outcome: 'ok', subject: id, actor: opts.actor, details: { replaced: predecessor, replacedSerial: predecessorSerial, ...rest } });
  });
  return { replaced: old, successor: (await pki.getCa(successor.id))! };
}

/** A check outside any write: a refusal (InputError) is audited before it is rethrown. */
async function refusalAudited<T>(pki: PkiStore, action: string, subject: string, actor: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof InputError) await pki.auditRefusal({ action, subject, actor, details: { reason: err.message } });
    throw err;
  }
}
