import type { Fabric, Site } from '../fabric/index.js';
import { InputError, type CatalogueMessage } from '../lib/errors.js';
import { catalogueMessage, inputError, type MessageParams } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';
import { describeKey, SM2_DEFAULT_ID, type CaAlgorithm, type SubscriberKey } from './algorithms.js';
import { chainOf, ensureProvinceStaffCa, INFRASTRUCTURE_CA_ID, openCaSigner, requireRootCa, ROOT_CA_ID, staffCaIdFor, type CaSigner, type KeyBackends } from './ca.js';
import { describePublicKey, parseCsr, signatureVerifies, verifyCsrSignature, type ParsedCsr } from './csr.js';
import { generateSoftwareKey, type SoftwareKey } from './keys.js';
import { crlUrlsFor, keyUsageFor, organizationOf, profileByName, urlsFor, type Profile, type SanRule } from './profiles.js';
import type { CaRecord, CertificateRecord, IssuedEntry, IssueRejection, PkiStore } from './store.js';
import { assembleSigned, authorityInfoAccessExtension, authorityKeyIdExtension, buildExtensions, certificateKeyId, certificateParts, crlDistributionExtension, encodeName, encodeTbs, formatName, NAME_ATTRIBUTES, newSerial, parseSubject, spkiKeyId, type DistinguishedName, type NameAttribute } from './x509.js';

/**
 * The issuance pipeline, one small named stage per job:
 *   request → proof of possession → profile checks → modifiers → validators → enforcers → sign → persist (+ audit).
 * Every refusal is an InputError ("got X, want Y", exit 2) recorded in the audit log; nothing is
 * written to the store unless the certificate is recorded together with its audit entry.
 */

export interface IssueRequest {
  readonly profile: string;
  /** Inventory site the certificate belongs to (staff: their site; servers: where they run). */
  readonly site: string;
  /** A PKCS#10 request (PEM or DER); or `generate` to have the CA create the key; or `certRequest`. */
  readonly csr?: Uint8Array | string;
  /**
   * A CRMF certificate request (CMP ir/cr/kur, RFC 4211): the public key, the subject, and the
   * proof of possession, a signature by that key over the DER CertRequest (checked here).
   */
  readonly certRequest?: {
    readonly spkiDer: Uint8Array;
    readonly subject: readonly { readonly type: string; readonly value: string }[];
    readonly possession: { readonly signatureAlgorithmOid: string; readonly signed: Uint8Array; readonly signature: Uint8Array };
  };
  readonly generate?: { readonly subject: string; readonly algorithm?: CaAlgorithm; readonly rsaBits?: number };
  readonly validityDays?: number;
  readonly dns?: readonly string[];
  readonly ip?: readonly string[];
  readonly email?: readonly string[];
  /** GM/T 0015 extensions (staff profiles only). */
  readonly identityCode?: string;
  readonly insuranceNumber?: string;
  /** server-tls: the business domain the application serves (counts towards the MLPS-3 KPI). */
  readonly application?: string;
  /** With a CSR whose subject has no CN (ACME clients send names only as subjectAltNames): the CN to use. */
  readonly defaultCommonName?: string;
  /** For profiles signed by a named CA (ocsp-signing). @default infrastructure */
  readonly caId?: string;
  /** @default now */
  readonly now?: Date;
  readonly actor?: string;
}

export interface Issued {
  readonly record: CertificateRecord;
  readonly certificateDer: Uint8Array;
  /** Issuing CA first, root last. */
  readonly chainDer: readonly Uint8Array[];
  /** Only when the CA generated the key. */
  readonly key?: SoftwareKey;
  /** What a delivery wrote, by kind (certificate, chain, key, p12), when the issuance had one. */
  readonly files?: Readonly<Record<string, string>>;
}

/** How an issued certificate reaches its holder, in two phases around the commit (pki/deliver.ts has the file delivery). */
export interface Delivery {
  /** Before signing: refuse what would fail later. Throws InputError. */
  check(): void;
  /** After signing, before the commit: write everything, under names that are not yet final. */
  stage(issued: Issued): StagedDelivery;
}

export interface StagedDelivery {
  /** After the commit: give the staged outputs their final names; returns them by kind. */
  commit(): Readonly<Record<string, string>>;
  /** The commit failed: remove what was staged. */
  discard(): void;
}


/** One request on its way through the stages. */
interface Draft {
  readonly req: IssueRequest;
  readonly profile: Profile;
  readonly site: Site;
  readonly now: Date;
  csr?: ParsedCsr;
  generated?: SoftwareKey;
  key?: SubscriberKey | { type: 'unsupported'; description: string };
  spkiDer?: Uint8Array;
  subject: { type: string; value: string }[];
  san: { dns: string[]; ip: string[]; email: string[] };
  gm: { identityCode?: string; insuranceNumber?: string };
  requestedKeyUsage?: readonly string[];
  requestedExtendedKeyUsage?: readonly string[];
  /** The CSR asked for basicConstraints CA:TRUE. */
  requestedCa?: boolean;
  otherExtensions: readonly string[];
  validityDays: number;
  ca?: CaRecord;
  notBefore?: Date;
  notAfter?: Date;
}

const DAY = 86_400_000;
const BACKDATE_MS = 5 * 60_000;
const SUBJECT_ORDER: readonly NameAttribute[] = ['C', 'ST', 'L', 'O', 'OU', 'serialNumber', 'CN'];
const ATTRIBUTE_ALIASES: Readonly<Record<string, NameAttribute>> = Object.fromEntries(
  [...Object.keys(NAME_ATTRIBUTES).map((k) => [k.toLowerCase(), k]), ['sn', 'serialNumber'], ['2.5.4.5', 'serialNumber'], ['2.5.4.3', 'CN'], ['2.5.4.10', 'O'], ['2.5.4.11', 'OU'], ['2.5.4.6', 'C']],
) as Record<string, NameAttribute>;

function tag(d: Pick<Draft, 'profile'>): MessageParams[string] {
  return said('problem.profileTag', { name: d.profile.name, version: d.profile.version }).localized;
}

/** A refusal's reason as a pki/locales entry: its English text (the audit record's) and the message to say it in the reader's language. */
function said(key: string, params: MessageParams = {}): { message: string; localized: CatalogueMessage } {
  return catalogueMessage(PKI_MESSAGES, key, params);
}

/** Bad input whose message is the pki/locales entry `key`. */
function refusal(key: string, params: MessageParams = {}): InputError {
  return inputError(PKI_MESSAGES, key, params);
}

// ---- stages

/** request: the profile and site exist; exactly one of a CSR or key generation. */
function requestStage(fabric: Fabric, req: IssueRequest): Draft {
  const profile = profileByName(req.profile);
  const site = fabric.findSite(req.site);
  if (!site) throw inputError(PKI_MESSAGES, 'pipeline.site', { site: req.site });
  const sources = [req.csr, req.generate, req.certRequest].filter((s) => s !== undefined).length;
  if (sources !== 1) throw inputError(PKI_MESSAGES, sources === 0 ? 'pipeline.keySourceNone' : 'pipeline.keySourceBoth');
  if (req.generate && !profile.keyGeneration) {
    throw inputError(PKI_MESSAGES, 'pipeline.generateStaff', { profile: profile.name });
  }
  return {
    req,
    profile,
    site,
    now: req.now ?? new Date(),
    subject: [],
    san: { dns: [...(req.dns ?? [])], ip: [...(req.ip ?? [])], email: [...(req.email ?? [])] },
    gm: { ...(req.identityCode !== undefined ? { identityCode: req.identityCode } : {}), ...(req.insuranceNumber !== undefined ? { insuranceNumber: req.insuranceNumber } : {}) },
    otherExtensions: [],
    validityDays: req.validityDays ?? profile.defaultValidityDays,
  };
}

/** proof of possession: the CSR parses and is signed by its own key (or the CA generates the key). */
async function proofOfPossessionStage(d: Draft, rootAlgorithm: CaAlgorithm): Promise<void> {
  if (d.req.csr !== undefined) {
    const csr = parseCsr(d.req.csr);
    verifyCsrSignature(csr);
    d.csr = csr;
    d.key = csr.key;
    d.spkiDer = csr.spkiDer;
    d.subject = [...csr.subject];
    if (d.req.defaultCommonName !== undefined && !d.subject.some((a) => a.type.toUpperCase() === 'CN' || a.type === '2.5.4.3')) d.subject.push({ type: 'CN', value: d.req.defaultCommonName });
    d.san.dns.push(...csr.requested.dns);
    d.san.ip.push(...csr.requested.ip);
    d.san.email.push(...csr.requested.email);
    if (csr.requested.identityCode !== undefined) d.gm.identityCode ??= csr.requested.identityCode;
    if (csr.requested.insuranceNumber !== undefined) d.gm.insuranceNumber ??= csr.requested.insuranceNumber;
    d.requestedKeyUsage = csr.requested.keyUsage;
    d.requestedExtendedKeyUsage = csr.requested.extendedKeyUsage;
    d.requestedCa = csr.requested.ca;
    d.otherExtensions = csr.requested.other;
    return;
  }
  if (d.req.certRequest !== undefined) {
    const r = d.req.certRequest;
    d.key = describePublicKey(r.spkiDer);
    d.spkiDer = r.spkiDer;
    d.subject = r.subject.map((a) => ({ ...a }));
    const p = r.possession;
    // OpenSSL 3.0 signs an SM2 proof of possession under the empty distinguishing ID (openssl cmp has
    // no option to set one); either ID proves possession of the key, which is all this checks.
    if (!signatureVerifies({ signatureAlgorithmOid: p.signatureAlgorithmOid, key: d.key, spkiDer: r.spkiDer, tbs: p.signed, signature: p.signature }, [SM2_DEFAULT_ID, ''])) {
      throw refusal('problem.possession');
    }
    return;
  }
  const g = d.req.generate!;
  d.subject = parseSubject(g.subject);
  const algorithm = g.algorithm ?? rootAlgorithm;
  const rsaBits = g.rsaBits ?? (algorithm === 'rsa-3072' ? 3072 : undefined);
  d.generated = await generateSoftwareKey(algorithm, rsaBits === undefined ? {} : { rsaBits });
  d.spkiDer = d.generated.signer.spkiDer;
  d.key = algorithm === 'rsa-3072' ? { type: 'rsa', bits: rsaBits ?? 3072 } : algorithm === 'sm2' ? { type: 'sm2' } : { type: 'ec', curve: algorithm === 'ecdsa-p384' ? 'P-384' : 'P-256' };
}

/** profile checks: key type and size, requested usages and extensions within the profile. */
function profileChecksStage(d: Draft): void {
  const k = d.key!;
  const p = d.profile;
  const allowed = said('problem.allowedKeys', { rsaMin: p.keys.rsaMinBits, rsaMax: p.keys.rsaMaxBits, curves: p.keys.curves.join('/'), sm2: p.keys.sm2 ? said('problem.orSm2').localized : '', profile: tag(d) }).localized;
  if (k.type === 'unsupported') throw refusal('problem.unsupportedKey', { key: k.description, allowed });
  if (k.type === 'rsa' && k.bits < p.keys.rsaMinBits) throw inputError(PKI_MESSAGES, 'pipeline.weakKey', { bits: k.bits, allowed });
  if (k.type === 'rsa' && k.bits > p.keys.rsaMaxBits) throw refusal('problem.keyTooLarge', { bits: k.bits, allowed });
  if (k.type === 'ec' && !p.keys.curves.includes(k.curve)) throw inputError(PKI_MESSAGES, 'pipeline.curve', { curve: k.curve, allowed });
  if (k.type === 'sm2' && !p.keys.sm2) throw refusal('problem.sm2NotAllowed', { allowed });
  if (d.requestedCa) throw inputError(PKI_MESSAGES, 'pipeline.requestedCa', { profile: tag(d) });
  const usages = keyUsageFor(p, k);
  const perKey = new Set(Object.values(p.keyUsage).map((u) => u.join())).size > 1;
  const extraKu = (d.requestedKeyUsage ?? []).filter((u) => !(usages as readonly string[]).includes(u));
  if (extraKu.length) {
    const forKey = perKey ? said('problem.forKeyFamily', { family: said(`problem.keyFamily.${k.type}`).localized }).localized : '';
    throw refusal('problem.forbiddenKeyUsage', { got: extraKu.join(', '), usages: usages.join(', '), forKey, profile: tag(d) });
  }
  const extraEku = (d.requestedExtendedKeyUsage ?? []).filter((u) => !(p.extendedKeyUsage as readonly string[]).includes(u));
  if (extraEku.length) {
    const got = extraEku.join(', ');
    throw p.extendedKeyUsage.length ? refusal('problem.forbiddenEku', { got, usages: p.extendedKeyUsage.join(', '), profile: tag(d) }) : refusal('problem.forbiddenAnyEku', { got, profile: tag(d) });
  }
  if (d.otherExtensions.length) throw refusal('problem.unsupportedExtension', { got: d.otherExtensions.join(', ') });
  if (d.gm.identityCode !== undefined && !p.gm.identityCode) throw refusal('problem.identityCodeNotCarried', { profile: tag(d) });
  if (d.gm.insuranceNumber !== undefined && !p.gm.insuranceNumber) throw refusal('problem.insuranceNumberNotCarried', { profile: tag(d) });
}

/** modifiers: defaults the profile fills in (C=CN, the site's O, CN as a DNS name), canonical order. */
function modifierStage(d: Draft): void {
  const p = d.profile.subject;
  const norm = d.subject.map((a) => ({ type: ATTRIBUTE_ALIASES[a.type.toLowerCase()] ?? a.type, value: a.value }));
  if (p.countryCN && !norm.some((a) => a.type === 'C')) norm.push({ type: 'C', value: 'CN' });
  if (p.organizationOfSite && !norm.some((a) => a.type === 'O')) norm.push({ type: 'O', value: organizationOf(d.site) });
  const rank = (t: string) => {
    const i = SUBJECT_ORDER.indexOf(t as NameAttribute);
    return i === -1 ? SUBJECT_ORDER.length : i;
  };
  d.subject = norm.sort((a, b) => rank(a.type) - rank(b.type));
  const cn = d.subject.find((a) => a.type === 'CN')?.value;
  if (d.profile.san.commonNameInDns && cn !== undefined && !d.san.dns.includes(cn)) d.san.dns.unshift(cn);
  d.san = { dns: [...new Set(d.san.dns)], ip: [...new Set(d.san.ip)], email: [...new Set(d.san.email)] };
}

const DNS_NAME = /^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** GB 11643 resident identity number: 17 digits and an ISO 7064 MOD 11-2 check character. */
export function validIdentityCode(code: string): boolean {
  if (!/^\d{17}[\dX]$/.test(code)) return false;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((s, w, i) => s + w * Number(code[i]), 0);
  return '10X98765432'[sum % 11] === code[17];
}

/** validators: every rule of the profile, all problems reported together. */
function validatorStage(d: Draft, fabric: Fabric): void {
  const p = d.profile;
  const problems: { message: string; localized: CatalogueMessage }[] = [];
  const problem = (key: string, params: MessageParams = {}) => problems.push(said(key, params));
  const seen = new Set<string>();
  for (const a of d.subject) {
    if (!(p.subject.allowed as readonly string[]).includes(a.type)) problem('problem.subjectAttributeNotAllowed', { type: a.type, value: a.value, allowed: p.subject.allowed.join(', '), profile: tag(d) });
    if (seen.has(a.type)) problem('problem.subjectAttributeTwice', { type: a.type });
    seen.add(a.type);
    if (a.value.length === 0 || a.value.length > 64) problem('problem.subjectLength', { type: a.type, length: a.value.length });
  }
  for (const r of p.subject.required) if (!seen.has(r)) problem('problem.subjectMissing', { type: r === 'serialNumber' ? said('problem.staffNumberAttribute').localized : r, profile: tag(d) });
  const value = (t: string) => d.subject.find((a) => a.type === t)?.value;
  if (p.subject.countryCN && value('C') !== undefined && value('C') !== 'CN') problem('problem.subjectCountry', { value: value('C')! });
  if (p.subject.organizationOfSite && value('O') !== undefined && value('O') !== organizationOf(d.site)) {
    problem('problem.subjectOrganization', { value: value('O')!, want: organizationOf(d.site), site: d.site.id });
  }
  const staffNo = value('serialNumber');
  if (p.subject.staffNumber && staffNo !== undefined && !p.subject.staffNumber.test(staffNo)) problem('problem.staffNumber', { value: staffNo });
  const sanRule = (kind: 'dns' | 'ip' | 'email', valid: RegExp) => {
    const rule: SanRule = p.san[kind];
    const list = d.san[kind];
    const label = said(`problem.sanLabel.${kind}`).localized;
    if (rule === 'required' && list.length === 0) problem('problem.sanRequired', { label, profile: tag(d) });
    if (rule === 'forbidden' && list.length > 0) problem('problem.sanForbidden', { label, got: list.join(', '), profile: tag(d) });
    for (const v of list) if (!valid.test(v)) problem('problem.sanInvalid', { label, value: v });
  };
  sanRule('dns', DNS_NAME);
  sanRule('ip', IPV4);
  sanRule('email', EMAIL);
  if (d.gm.identityCode !== undefined && !validIdentityCode(d.gm.identityCode)) problem('problem.identityCode', { value: d.gm.identityCode });
  if (d.gm.insuranceNumber !== undefined && !/^[0-9A-Z]{1,18}$/.test(d.gm.insuranceNumber)) problem('problem.insuranceNumber', { value: d.gm.insuranceNumber });
  if (!Number.isInteger(d.validityDays) || d.validityDays < 1) problem('problem.validityWhole', { days: d.validityDays });
  else if (d.validityDays > p.maxValidityDays) problem('problem.validityMax', { days: d.validityDays, max: p.maxValidityDays, profile: tag(d) });
  if (d.req.application !== undefined) {
    const domains = fabric.domains(d.site) as string[];
    if (p.name !== 'server-tls') problem('problem.applicationNotServer', { value: d.req.application });
    else if (!domains.includes(d.req.application)) problem('problem.applicationUnknown', { value: d.req.application, domains: domains.length ? domains.join(', ') : said('problem.noDomains').localized, site: d.site.id });
  }
  const [first] = problems;
  if (problems.length === 1) throw inputError(PKI_MESSAGES, 'pipeline.refusedOne', { problem: first!.localized });
  if (problems.length > 1) {
    throw inputError(PKI_MESSAGES, 'pipeline.refusedMany', { count: problems.length, problem: first!.localized }, { details: problems.map((x) => x.message), localizedDetails: problems.map((x) => x.localized) });
  }
}

/** The CA that signs `d`: the site's staff CA line, the CA the request names, or the current infrastructure CA. */
async function issuingCaOf(d: Draft, issuer: Issuer): Promise<CaRecord> {
  const p = d.profile;
  let ca: CaRecord | undefined;
  if (p.issuer === 'staff') {
    // The site's staff CA line: the CA of the fixed id, or its successor once replaced (pki replace-ca).
    const { id, province } = staffCaIdFor(issuer.fabric, d.site);
    ca = await issuer.cas.currentCa(id);
    if (!ca && province) {
      ca = await ensureProvinceStaffCa(issuer.pki, province, issuer.passphrase, { now: d.now, ...(d.req.actor ? { actor: d.req.actor } : {}), ...(issuer.backends ? { backends: issuer.backends } : {}) });
      issuer.cas.invalidate();
    }
    if (!ca) throw inputError(PKI_MESSAGES, 'pipeline.noStaffCa', { id });
  } else if (p.issuer === 'named' && d.req.caId !== undefined) {
    // A CA the user names is that CA, also when it has a successor: the refusal below names it.
    ca = await issuer.cas.getCa(d.req.caId);
    if (!ca) throw inputError(PKI_MESSAGES, 'pipeline.unknownCa', { id: d.req.caId, known: (await issuer.cas.listCas()).map((c) => c.id).join(', ') });
  } else {
    ca = await issuer.cas.currentCa(INFRASTRUCTURE_CA_ID);
    if (!ca) throw inputError(PKI_MESSAGES, 'pipeline.unknownCa', { id: INFRASTRUCTURE_CA_ID, known: (await issuer.cas.listCas()).map((c) => c.id).join(', ') });
  }
  return ca;
}

/** enforcers: the issuing CA is the profile's (its line's current CA), active and valid now; validity ends within the CA's. */
async function enforcerStage(d: Draft, issuer: Issuer): Promise<void> {
  const p = d.profile;
  let ca = await issuingCaOf(d, issuer);
  // A revoked or rolled-over CA in the records an issuer read may have a successor since: refuse only on fresh records.
  if (ca.status !== 'active' && !issuer.cas.fresh()) {
    issuer.cas.invalidate();
    ca = await issuingCaOf(d, issuer);
  }
  // The root's own delegated OCSP responder is the one leaf it signs: it answers for the issuing CAs' certificates.
  if (ca.role !== 'issuing' && p.name !== 'ocsp-signing') {
    throw inputError(PKI_MESSAGES, 'pipeline.rootCa');
  }
  if (ca.status === 'revoked') {
    const successor = await issuer.cas.currentCa(ca.id);
    const next = successor && successor.id !== ca.id ? catalogueMessage(PKI_MESSAGES, 'pipeline.replacedBy', { successor: successor.id }).localized : catalogueMessage(PKI_MESSAGES, 'pipeline.replaceIt', { ca: ca.id }).localized;
    throw inputError(PKI_MESSAGES, 'pipeline.revokedCa', { ca: ca.id, since: ca.revokedAt?.toISOString() ?? '?', reason: ca.revocationReason ?? '?', next });
  }
  // A retiring CA still answers OCSP for what it issued, so it may certify its own delegated responder; nothing else.
  if (ca.status === 'retired' || (ca.status === 'retiring' && p.name !== 'ocsp-signing')) {
    const successor = await issuer.cas.currentCa(ca.id);
    const next = successor && successor.id !== ca.id ? catalogueMessage(PKI_MESSAGES, 'pipeline.rolledOverTo', { successor: successor.id }).localized : '';
    throw inputError(PKI_MESSAGES, 'pipeline.retiringCa', { ca: ca.id, status: ca.status, since: ca.retiringAt?.toISOString() ?? '?', next });
  }
  if (ca.notAfter <= d.now) throw inputError(PKI_MESSAGES, 'pipeline.expiredCa', { ca: ca.id, notAfter: ca.notAfter.toISOString() });
  if (ca.notBefore > d.now) throw inputError(PKI_MESSAGES, 'pipeline.futureCa', { ca: ca.id, notBefore: ca.notBefore.toISOString() });
  const revoked = await issuer.cas.revokedCaInChain(ca.id);
  if (revoked) throw inputError(PKI_MESSAGES, 'pipeline.revokedParent', { ca: ca.id, parent: revoked.id });
  d.ca = ca;
  d.notBefore = new Date(d.now.getTime() - BACKDATE_MS);
  const wanted = new Date(d.now.getTime() + d.validityDays * DAY);
  d.notAfter = wanted > ca.notAfter ? ca.notAfter : wanted;
}

// ---- the issuer

export interface IssuerOptions {
  /** Key backends besides the software one (PKCS#11). */
  readonly backends?: KeyBackends;
  /** @default the hierarchy's (pki init --distribution-base; http://pki.jinbao.internal when never set) */
  readonly distributionBase?: string;
  /** Serial source. @default 126 random bits */
  readonly newSerial?: () => string;
}

/** The per-CA parts of every certificate it signs, DER. */
interface IssuerParts {
  readonly caSerial: string;
  readonly nameDer: Uint8Array;
  readonly authorityKeyIdDer: Uint8Array;
  /** Per CRL partition (null: the unpartitioned CRL). */
  readonly crlDistribution: Map<number | null, Uint8Array>;
  /** Keyed by which AIA URLs a profile carries. */
  readonly authorityInfoAccess: Map<string, Uint8Array | undefined>;
}

/** The most CRL-partition places an issuer takes from the store at once (see Issuer.crlPartitionOf). */
const PARTITION_BLOCK_MAX = 256;

/** How long an issuer trusts the CA records it read; the commit checks the issuing CA's status again. */
const CA_VIEW_MS = 1_000;

/**
 * The CA records (a handful) as an issuer last read them, one query per CA_VIEW_MS instead of
 * several per certificate, and re-read on a miss. A CA revoked meanwhile by another process is
 * caught at the commit (`PkiStore.recordIssued` checks the issuing CA's status under the audit
 * lock, which every revocation holds), and the issuer then re-runs the checks on fresh records.
 */
class CaView {
  private loaded?: { at: number; byId: Map<string, CaRecord>; successors: Map<string, CaRecord>; list: CaRecord[] };
  private loading?: Promise<NonNullable<CaView['loaded']>>;
  constructor(private readonly pki: PkiStore) {}

  invalidate(): void {
    this.loaded = undefined;
  }

  /** Whether the records were read just now (within the last 50 ms). */
  fresh(): boolean {
    return this.loaded !== undefined && performance.now() - this.loaded.at < 50;
  }

  private async view(): Promise<NonNullable<CaView['loaded']>> {
    if (this.loaded && performance.now() - this.loaded.at < CA_VIEW_MS) return this.loaded;
    this.loading ??= this.pki.listCas().then(
      (list) => {
        this.loading = undefined;
        this.loaded = { at: performance.now(), byId: new Map(list.map((c) => [c.id, c])), successors: new Map(list.filter((c) => c.replaces !== null).map((c) => [c.replaces!, c])), list };
        return this.loaded;
      },
      (err: unknown) => {
        this.loading = undefined;
        throw err;
      },
    );
    return this.loading;
  }

  async listCas(): Promise<CaRecord[]> {
    return (await this.view()).list;
  }

  async getCa(id: string): Promise<CaRecord | undefined> {
    const found = (await this.view()).byId.get(id);
    if (found) return found;
    this.invalidate();
    return (await this.view()).byId.get(id);
  }

  /** As `PkiStore.currentCa`: `id`, or its successor's successor… */
  async currentCa(id: string): Promise<CaRecord | undefined> {
    let ca = await this.getCa(id);
    const { successors } = await this.view();
    for (let next = ca && successors.get(ca.id); next; next = successors.get(next.id)) ca = next;
    return ca;
  }

  /** As `PkiStore.revokedCaInChain`. */
  async revokedCaInChain(caId: string): Promise<CaRecord | undefined> {
    const { byId } = await this.view();
    for (let ca = byId.get(caId); ca; ca = ca.parentId ? byId.get(ca.parentId) : undefined) if (ca.status === 'revoked') return ca;
    return undefined;
  }
}

/** Issues certificates for one store and inventory, caching opened CA signers. */
export class Issuer {
  /** The CA records, read at most once a second (checked again at the commit). */
  readonly cas: CaView;
  private readonly signers = new Map<string, Promise<CaSigner>>();
  private readonly issuers = new Map<string, IssuerParts>();

  readonly backends: KeyBackends | undefined;
  private distributionBase: string | undefined;
  private readonly nextSerial: () => string;

  constructor(
    readonly pki: PkiStore,
    readonly fabric: Fabric,
    readonly passphrase: string,
    opts: IssuerOptions = {},
  ) {
    this.backends = opts.backends;
    this.distributionBase = opts.distributionBase;
    this.nextSerial = opts.newSerial ?? newSerial;
    this.cas = new CaView(pki);
  }

  private signer(caId: string): Promise<CaSigner> {
    let s = this.signers.get(caId);
    if (!s) {
      s = openCaSigner(this.pki, caId, this.passphrase, this.backends);
      s.catch(() => this.signers.delete(caId));
      this.signers.set(caId, s);
    }
    return s;
  }

  /** What every certificate of a CA shares, encoded once per CA (keyed by its certificate's serial, so a re-created CA is re-read). */
  private issuerOf(ca: CaRecord): IssuerParts {
    let v = this.issuers.get(ca.id);
    if (!v || v.caSerial !== ca.serial) {
      const urls = urlsFor(this.distributionBase!, ca.id);
      v = {
        caSerial: ca.serial,
        nameDer: certificateParts(ca.der).subjectDer,
        authorityKeyIdDer: authorityKeyIdExtension(certificateKeyId(ca.der)),
        crlDistribution: new Map([[null, crlDistributionExtension(urls.crl)]]),
        authorityInfoAccess: new Map(),
      };
      this.issuers.set(ca.id, v);
    }
    return v;
  }

  /** The CRL distribution point naming one partition of the CA's CRL (per CA, per partition). */
  private crlDistribution(iss: IssuerParts, caId: string, partition: number | null): Uint8Array {
    let der = iss.crlDistribution.get(partition);
    if (der === undefined) iss.crlDistribution.set(partition, (der = crlDistributionExtension(crlUrlsFor(this.distributionBase!, caId, partition).full)));
    return der;
  }

  private readonly partitionBlocks = new Map<string, { caSerial: string; partition: number; left: number; size: number }>();
  private readonly allocating = new Map<string, Promise<void>>();

  /**
   * The CRL partition a certificate of `ca` is issued into, fixed now and named by its CRL
   * distribution point. Issuing CAs take places from the store's per-CA allocator a block at a
   * time: one place first (a single `pki issue` wastes none), doubling while this issuer keeps
   * issuing, up to PARTITION_BLOCK_MAX. The root's certificates (issuing CAs, its OCSP responder)
   * stay on its one unpartitioned CRL.
   */
  private async crlPartitionOf(ca: CaRecord): Promise<number | null> {
    if (ca.role !== 'issuing') return null;
    for (;;) {
      const b = this.partitionBlocks.get(ca.id);
      if (b && b.caSerial === ca.serial && b.left > 0) {
        b.left--;
        return b.partition;
      }
      let pending = this.allocating.get(ca.id);
      if (!pending) {
        const size = b && b.caSerial === ca.serial ? Math.min(b.size * 2, PARTITION_BLOCK_MAX) : 1;
        pending = this.pki.allocateCrlPartition(ca.id, size).then(
          (got) => {
            this.partitionBlocks.set(ca.id, { caSerial: ca.serial, partition: got.partition, left: got.count, size });
            this.allocating.delete(ca.id);
          },
          (err: unknown) => {
            this.allocating.delete(ca.id);
            throw err;
          },
        );
        this.allocating.set(ca.id, pending);
      }
      await pending;
    }
  }

  /** The AIA extension for a profile's choice of URLs (per CA, per choice). */
  private authorityInfoAccess(iss: IssuerParts, caId: string, p: Profile): Uint8Array | undefined {
    const key = `${p.urls.ocsp ? 'o' : ''}${p.urls.caIssuers ? 'i' : ''}`;
    if (!iss.authorityInfoAccess.has(key)) {
      const urls = urlsFor(this.distributionBase!, caId);
      iss.authorityInfoAccess.set(key, authorityInfoAccessExtension(p.urls.ocsp ? urls.ocsp : undefined, p.urls.caIssuers ? urls.caIssuers : undefined));
    }
    return iss.authorityInfoAccess.get(key);
  }

  /**
   * Run the pipeline. Refusals are audited and rethrown; nothing else changes. With a `delivery`,
   * its outputs are checked before signing and staged before the commit (a refusal there is
   * audited and nothing is recorded); a failed commit discards them. The certificate is recorded
   * with its audit entry by the store's group commit: concurrent issuances of this process share
   * one transaction, and this resolves only after the one holding this certificate committed.
   */
  async issue(req: IssueRequest, delivery?: Delivery): Promise<Issued> {
    let d = await this.check(req, delivery);
    for (let attempt = 1; ; attempt++) {
      const issued = await this.sign(d);
      const staged = delivery ? await this.refusalAudited(req, d, () => delivery.stage(issued)) : undefined;
      let rejected: IssueRejection | undefined;
      try {
        rejected = (await this.pki.recordIssued([issuedEntry(d, issued)])).get(issued.record.serial);
      } catch (err) {
        staged?.discard();
        throw err;
      }
      if (rejected === undefined) return staged ? { ...issued, files: staged.commit() } : issued;
      staged?.discard();
      if (attempt >= 5) throw new Error(`certificate ${issued.record.serial} was not recorded ${attempt} times in a row (${rejected}); check the serial source and the CA records`);
      if (rejected === 'ca-revoked' || rejected === 'ca-retiring') {
        // Revoked or rolled over since this issuer read it: the checks run again on fresh records and
        // refuse (audited), or pick the successor.
        this.cas.invalidate();
        d = await this.check(req, delivery);
      }
    }
  }

  /**
   * Issue many requests with one durable commit for all that pass (group commit): each is checked
   * and signed on its own, refusals are audited and returned in place, and the accepted ones are
   * recorded with their audit entries in a single transaction, so a crash keeps all or none (a
   * serial that turns out to be taken is signed again and recorded on its own).
   */
  async issueMany(reqs: readonly IssueRequest[]): Promise<(Issued | InputError)[]> {
    const out: (Issued | InputError)[] = [];
    const batch: { d: Draft; issued: Issued; index: number }[] = [];
    for (const req of reqs) {
      try {
        const d = await this.check(req);
        batch.push({ d, issued: await this.sign(d), index: out.length });
        out.push(undefined as unknown as Issued);
      } catch (err) {
        if (!(err instanceof InputError)) throw err;
        out.push(err);
      }
    }
    const rejected = await this.pki.recordIssued(batch.map((b) => issuedEntry(b.d, b.issued)));
    if (rejected.size > 0) this.cas.invalidate();
    for (const b of batch) {
      if (!rejected.has(b.issued.record.serial)) out[b.index] = b.issued;
      else out[b.index] = await this.issue(b.d.req).catch((err: unknown) => (err instanceof InputError ? err : Promise.reject(err)));
    }
    return out;
  }

  /** Every stage before signing (and the delivery's own check); refusals are audited and rethrown. */
  private async check(req: IssueRequest, delivery?: Delivery): Promise<Draft> {
    await yieldToIo();
    let draft: Draft | undefined;
    try {
      const root = (await this.cas.getCa(ROOT_CA_ID)) ?? (await requireRootCa(this.pki));
      const d = (draft = requestStage(this.fabric, req));
      await proofOfPossessionStage(d, root.algorithm);
      profileChecksStage(d);
      modifierStage(d);
      validatorStage(d, this.fabric);
      await enforcerStage(d, this);
      await this.signer(d.ca!.id);
      delivery?.check();
      return d;
    } catch (err) {
      if (err instanceof InputError) await this.auditRefusal(req, draft, err);
      throw err;
    }
  }

  /** Run `fn` (a stage after signing); an InputError from it is audited as a refusal of `req`. */
  private async refusalAudited(req: IssueRequest, d: Draft, fn: () => StagedDelivery): Promise<StagedDelivery> {
    try {
      return fn();
    } catch (err) {
      if (err instanceof InputError) await this.auditRefusal(req, d, err);
      throw err;
    }
  }

  private async auditRefusal(req: IssueRequest, draft: Draft | undefined, err: InputError): Promise<void> {
    await this.pki.auditRefusal({
      action: 'pki.issue',
      subject: draft ? formatName(draft.subject) : '',
      ...(req.actor ? { actor: req.actor } : {}),
      details: { profile: req.profile, site: req.site, reason: err.message, ...(err.details.length ? { problems: err.details } : {}) },
    });
  }

  /** sign: the certificate with a fresh serial, not yet recorded. */
  private async sign(d: Draft): Promise<Issued> {
    await yieldToIo();
    const ca = d.ca!;
    const signer = await this.signer(ca.id);
    this.distributionBase ??= await this.pki.distributionBase();
    const iss = this.issuerOf(ca);
    const aia = this.authorityInfoAccess(iss, ca.id, d.profile);
    const crlPartition = d.profile.urls.crl ? await this.crlPartitionOf(ca) : null;
    const extensions = buildExtensions({
      keyUsage: keyUsageFor(d.profile, d.key as SubscriberKey),
      extendedKeyUsage: d.profile.extendedKeyUsage,
      subjectKeyId: spkiKeyId(d.spkiDer!),
      authorityKeyIdDer: iss.authorityKeyIdDer,
      san: d.san,
      ...(d.profile.urls.crl ? { crlDistributionDer: this.crlDistribution(iss, ca.id, crlPartition) } : {}),
      ...(aia ? { authorityInfoAccessDer: aia } : {}),
      ocspNoCheck: d.profile.ocspNoCheck,
      gm: d.gm,
    });
    const value = (t: string) => d.subject.find((a) => a.type === t)?.value ?? null;
    const serial = this.nextSerial();
    const tbs = encodeTbs({ serial, issuerDer: iss.nameDer, subjectDer: encodeName(d.subject as unknown as DistinguishedName), notBefore: d.notBefore!, notAfter: d.notAfter!, spkiDer: d.spkiDer!, extensions, algorithm: ca.algorithm });
    const der = assembleSigned(tbs, ca.algorithm, await signer.sign(tbs));
    const record: CertificateRecord = {
      serial,
      caId: ca.id,
      profile: d.profile.name,
      profileVersion: d.profile.version,
      site: d.site.id,
      subject: formatName(d.subject),
      commonName: value('CN') ?? '',
      staffNumber: d.profile.staff ? value('serialNumber') : null,
      application: d.req.application ?? null,
      sans: [...d.san.dns.map((x) => `DNS:${x}`), ...d.san.ip.map((x) => `IP:${x}`), ...d.san.email.map((x) => `email:${x}`)],
      keyType: describeKey(d.key as SubscriberKey),
      notBefore: d.notBefore!,
      notAfter: d.notAfter!,
      der,
      status: 'active',
      revokedAt: null,
      revocationReason: null,
      revocationSeq: null,
      issuedAt: d.now,
      crlPartition,
    };
    return { record, certificateDer: der, chainDer: await this.chain(ca.id), ...(d.generated ? { key: d.generated } : {}) };
  }

  private readonly chains = new Map<string, Promise<Uint8Array[]>>();
  private chain(caId: string): Promise<Uint8Array[]> {
    let c = this.chains.get(caId);
    if (!c) {
      this.chains.set(caId, (c = chainOf(this.pki, caId)));
      c.catch(() => this.chains.delete(caId));
    }
    return c;
  }
}

/**
 * Let pending I/O run before the next CPU-bound stage. Without it, issuances running at once chain
 * their checks and signatures in one long run of microtasks, and the group commit's replies from
 * the database (answered while it holds the audit lock that other processes wait for) sit behind
 * all of them.
 */
function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** persist + audit: what the store records for one issued certificate. */
function issuedEntry(d: Draft, issued: Issued): IssuedEntry {
  const r = issued.record;
  return {
    certificate: r,
    audit: {
      action: 'pki.issue',
      outcome: 'ok',
      subject: r.serial,
      ...(d.req.actor ? { actor: d.req.actor } : {}),
      details: { profile: r.profile, profileVersion: r.profileVersion, site: r.site, caId: r.caId, subject: r.subject, notAfter: r.notAfter.toISOString(), keyType: r.keyType },
    },
  };
}
