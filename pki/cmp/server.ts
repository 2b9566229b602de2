import { createHash, timingSafeEqual } from 'node:crypto';
import type { Fabric } from '../../fabric/index.js';
import { InputError } from '../../lib/errors.js';
import { SM2_DEFAULT_ID } from '../algorithms.js';
import { describePublicKey, parseCsr, signatureVerifies } from '../csr.js';
import { children, content, explicit, readTlv, tlv } from '../der.js';
import { REVOCATION_REASONS, type RevocationReason } from '../store.js';
import { certificateParts, formatName, NAME_ATTRIBUTES, parseSubject } from '../x509.js';
import {
  assembleMessage,
  BODY,
  BODY_NAMES,
  certRepContent,
  CMP_OID,
  CmpMalformed,
  encodeBody,
  encodeHeader,
  errorContent,
  nameAttributes,
  NULL_DN_NAME,
  p10crRequest,
  parseCertConf,
  parseCertReqMessages,
  parsePbmParameters,
  parsePkiMessage,
  parseRevReq,
  pbmAlgorithm,
  pbmMac,
  pbmUnsupported,
  pbmVerifies,
  PKI_CONF_CONTENT,
  revRepContent,
  statusInfo,
  type CertReqMsg,
  type FailureInfo,
  type PbmParameters,
  type PkiMessage,
} from './message.js';
import type { CmpCertificateAuthority, CmpHolder } from './ports.js';
import type { SecretKeyring } from '../secret-box.js';
import { secretState } from './secrets.js';
import type { CmpStore, SecretRow } from './store.js';

/**
 * The CMP server (RFC 4210, lightweight profile RFC 9483) behind `/cmp/<site>`: `ir` and `p10cr`
 * authenticated by a one-time secret (password-based MAC), `cr` and `kur` signed by the holder's
 * current certificate, `rr` for the holder's own certificate, `certConf` → `pkiConf`. Every answer
 * is protected: with the same secret when the request's MAC verified, otherwise signed by the CA
 * that issues for the site's staff. Refusals are `error` messages with a PKIFailureInfo, audited,
 * and nothing is issued. It knows no HTTP: `jinbao serve` (service/) mounts it.
 */

export interface CmpServerOptions {
  readonly store: CmpStore;
  readonly ca: CmpCertificateAuthority;
  readonly fabric: Fabric;
  readonly keyring: SecretKeyring;
  /**
   * Why a holder may not renew (cr, kur) now, or undefined when they may: the staff feature answers
   * from the site's roster (a leaver is refused). Renewal is never refused for being early.
   * @default every holder with a valid certificate may renew
   */
  readonly renewalRefusal?: (holder: CmpHolder) => Promise<string | undefined>;
  /** Messages whose messageTime is further off than this are refused (badTime). @default 600 */
  readonly maxClockSkewSeconds?: number;
  readonly onInternalError?: (err: unknown) => void;
  readonly now?: () => Date;
}

export interface CmpResponse {
  /** 404 for an unknown alias; 200 with a PKIMessage otherwise. */
  readonly status: 200 | 404;
  readonly body: Buffer;
  /** What happened, for the access log and metrics: the body type answered, or the failure. */
  readonly outcome: string;
  /** The request was refused (an `error` message, or 404). */
  readonly refused: boolean;
}

/** How an answer is protected. */
type Protection = { readonly kind: 'pbm'; readonly secret: Buffer; readonly params: PbmParameters } | { readonly kind: 'signature' };

/** A refusal: answered with an `error` message, audited. */
class Refusal extends Error {
  constructor(
    readonly failure: FailureInfo,
    message: string,
    readonly protection: Protection = { kind: 'signature' },
  ) {
    super(message);
  }
}

interface Authenticated {
  readonly protection: Protection;
  /** Who asked, for the audit log. */
  readonly actor: string;
  readonly secret?: SecretRow;
  readonly holder?: CmpHolder;
}

const SIGNATURE_ALGORITHMS = new Set(['1.2.840.10045.4.3.2', '1.2.840.10045.4.3.3', '1.2.840.10045.4.3.4', '1.2.840.113549.1.1.11', '1.2.840.113549.1.1.12', '1.2.840.113549.1.1.13', '1.2.156.10197.1.501']);
const ATTRIBUTE_BY_OID = new Map<string, string>(Object.entries(NAME_ATTRIBUTES).map(([k, v]) => [v, k]));
const REASON_BY_CODE = new Map<number, RevocationReason>(Object.entries(REVOCATION_REASONS).map(([k, v]) => [v, k as RevocationReason]));
const ACTIONS: Readonly<Record<number, string>> = { [BODY.ir]: 'cmp.ir', [BODY.cr]: 'cmp.cr', [BODY.p10cr]: 'cmp.p10cr', [BODY.kur]: 'cmp.kur', [BODY.rr]: 'cmp.rr', [BODY.certConf]: 'cmp.certConf' };

export class CmpServer {
  private readonly now: () => Date;

  constructor(private readonly o: CmpServerOptions) {
    this.now = o.now ?? (() => new Date());
  }

  /** Answer one request to /cmp/<alias>. Never throws. */
  async handle(alias: string, der: Uint8Array): Promise<CmpResponse> {
    const site = this.o.fabric.findSite(alias);
    if (!site) return { status: 404, body: Buffer.from(`no CMP alias ${alias.slice(0, 64)}: the alias is a site of the inventory\n`), outcome: 'unknown-alias', refused: true };
    let msg: PkiMessage | undefined;
    try {
      try {
        msg = parsePkiMessage(der);
      } catch (err) {
        if (err instanceof CmpMalformed) throw new Refusal('badDataFormat', `malformed PKIMessage: ${err.message}`);
        throw err;
      }
      return await this.dispatch(site.id, msg);
    } catch (err) {
      let refusal: Refusal;
      if (err instanceof Refusal) refusal = err;
      else if (err instanceof CmpMalformed) refusal = new Refusal('badDataFormat', `malformed ${msg ? (BODY_NAMES[msg.bodyType] ?? 'body') : 'PKIMessage'}: ${err.message}`);
      else {
        this.o.onInternalError?.(err);
        refusal = new Refusal('systemFailure', 'the server failed to answer; try again later');
      }
      try {
        await this.o.ca.audit({
          action: msg ? (ACTIONS[msg.bodyType] ?? 'cmp.request') : 'cmp.request',
          outcome: 'refused',
          actor: msg?.header.senderKid ? `cmp:${printable(msg.header.senderKid)}` : 'cmp',
          details: { site: site.id, failInfo: refusal.failure, reason: refusal.message, body: msg ? (BODY_NAMES[msg.bodyType] ?? String(msg.bodyType)) : null },
        });
        return { status: 200, body: await this.protect(site.id, msg, BODY.error, errorContent([refusal.failure], refusal.message), refusal.protection), outcome: refusal.failure, refused: true };
      } catch (inner) {
        this.o.onInternalError?.(inner);
        return { status: 200, body: await this.protect(site.id, msg, BODY.error, errorContent(['systemFailure'], 'the server failed to answer; try again later'), { kind: 'signature' }).catch(() => Buffer.alloc(0)), outcome: 'systemFailure', refused: true };
      }
    }
  }

  private async dispatch(site: string, msg: PkiMessage): Promise<CmpResponse> {
    const h = msg.header;
    if (h.pvno !== 2 && h.pvno !== 3) throw new Refusal('unsupportedVersion', `pvno: got ${h.pvno}, want 2 (cmp2000) or 3 (cmp2021)`);
    if (!h.transactionId || h.transactionId.length < 1 || h.transactionId.length > 64) throw new Refusal('badRequest', 'transactionID: got none, want 1-64 bytes (RFC 9483 §3.1)');
    if (!h.senderNonce || h.senderNonce.length < 1 || h.senderNonce.length > 64) throw new Refusal('badSenderNonce', 'senderNonce: got none, want 1-64 bytes (RFC 9483 §3.1)');
    if (!h.protectionAlg || !msg.protection) throw new Refusal('badMessageCheck', 'the request is not protected: want a password-based MAC with a reference and secret (ir, p10cr) or a signature by your current certificate (cr, kur, rr)');
    const skew = (this.o.maxClockSkewSeconds ?? 600) * 1000;
    if (h.messageTime && Math.abs(h.messageTime.getTime() - this.now().getTime()) > skew) throw new Refusal('badTime', `messageTime: got ${h.messageTime.toISOString()}, want within ${skew / 1000} s of the server's clock (${this.now().toISOString()})`);
    const action = ACTIONS[msg.bodyType];
    if (!action) throw new Refusal('badRequest', `body type: got ${BODY_NAMES[msg.bodyType] ?? msg.bodyType}, want ir, p10cr, cr, kur, rr or certConf`);
    const auth = await this.authenticate(site, msg);
    try {
      switch (msg.bodyType) {
        case BODY.ir:
        case BODY.p10cr:
        case BODY.cr:
        case BODY.kur:
          return await this.enroll(site, msg, auth);
        case BODY.certConf:
          return await this.certConf(site, msg, auth);
        default:
          return await this.revoke(site, msg, auth);
      }
    } catch (err) {
      if (err instanceof Refusal) throw new Refusal(err.failure, err.message, auth.protection);
      if (err instanceof CmpMalformed) throw new Refusal('badDataFormat', `malformed ${BODY_NAMES[msg.bodyType]}: ${err.message}`, auth.protection);
      throw err;
    }
  }

  // ---- authentication

  private async authenticate(site: string, msg: PkiMessage): Promise<Authenticated> {
    const alg = msg.header.protectionAlg!;
    if (alg.oid === CMP_OID.passwordBasedMac) return this.byMac(site, msg);
    if (SIGNATURE_ALGORITHMS.has(alg.oid)) return this.bySignature(site, msg);
    throw new Refusal('badAlg', `protectionAlg: got ${alg.oid}, want the password-based MAC (${CMP_OID.passwordBasedMac}) or an ECDSA, RSA or SM2 signature`);
  }

  private async byMac(site: string, msg: PkiMessage): Promise<Authenticated> {
    if (msg.bodyType !== BODY.ir && msg.bodyType !== BODY.p10cr && msg.bodyType !== BODY.certConf) {
      throw new Refusal('notAuthorized', `${BODY_NAMES[msg.bodyType]} with a shared secret: want it signed by your current certificate (openssl cmp -cert CERT -key KEY); secrets are for ir and p10cr`);
    }
    const kid = msg.header.senderKid;
    const reference = kid ? Buffer.from(kid).toString('utf8') : '';
    const row = reference && /^[\x21-\x7e]{1,64}$/.test(reference) ? await this.o.store.secret(reference) : undefined;
    // An unknown reference and a wrong secret look the same to the sender: neither says which exists.
    const wrong = () => new Refusal('badMessageCheck', 'the password-based MAC does not verify: check the reference (-ref) and secret (-secret) the security officer gave you');
    if (!row) throw wrong();
    const secret = this.o.keyring.open(row.reference, row);
    if (!secret) throw wrong();
    let params: PbmParameters;
    try {
      params = parsePbmParameters(msg.header.protectionAlg!);
    } catch (err) {
      throw new Refusal('badDataFormat', `malformed PBMParameter: ${(err as Error).message}`);
    }
    const unsupported = pbmUnsupported(params);
    if (unsupported) throw new Refusal('badAlg', unsupported);
    if (!pbmVerifies(secret, params, msg.protectedPart, msg.protection!)) throw wrong();
    const protection: Protection = { kind: 'pbm', secret, params };
    const actor = `cmp:${row.reference}`;
    if (row.site !== site) throw new Refusal('wrongAuthority', `this secret is for site ${row.site}: send it to /cmp/${row.site}, not /cmp/${site}`, protection);
    if (msg.bodyType !== BODY.certConf) {
      const state = secretState(row, this.now());
      if (state !== 'unused') throw new Refusal('notAuthorized', `secret ${row.reference} is ${state === 'used' ? 'already used (one enrollment per secret)' : state}: ask the security officer for a new one`, protection);
    }
    return { protection, actor, secret: row };
  }

  private async bySignature(site: string, msg: PkiMessage): Promise<Authenticated> {
    if (msg.bodyType === BODY.ir || msg.bodyType === BODY.p10cr) throw new Refusal('notAuthorized', `${BODY_NAMES[msg.bodyType]} signed by a certificate: first enrollment takes a reference and secret (-ref, -secret); a holder renews with cr or kur`);
    const signerDer = msg.extraCerts[0];
    if (!signerDer) throw new Refusal('signerNotTrusted', 'a signed request needs the signer certificate as the first of extraCerts (openssl cmp -cert CERT)');
    const serial = certificateSerial(signerDer);
    const holder = serial ? await this.o.ca.holder(serial) : undefined;
    if (!holder || !sameBytes(holder.der, signerDer)) throw new Refusal('signerNotTrusted', 'the signer certificate was not issued by this CA: sign with the certificate jinbao issued you');
    const actor = `cmp:${holder.serial} ${holder.subject}`;
    if (holder.status === 'revoked') throw new Refusal('certRevoked', `the signer certificate ${holder.serial} is revoked: enroll again with a new secret`);
    const now = this.now();
    if (holder.notAfter <= now || holder.notBefore > now) throw new Refusal('signerNotTrusted', `the signer certificate ${holder.serial} is not valid now (${holder.notBefore.toISOString()} to ${holder.notAfter.toISOString()}): enroll again with a new secret`);
    const { spkiDer } = certificateParts(holder.der);
    // SM2: GM/T 0009's default ID, or the empty one OpenSSL 3.0 signs with when none is set.
    const ok = signatureVerifies({ signatureAlgorithmOid: msg.header.protectionAlg!.oid, key: describePublicKey(spkiDer), spkiDer, tbs: msg.protectedPart, signature: msg.protection! }, [SM2_DEFAULT_ID, '']);
    if (!ok) throw new Refusal('badMessageCheck', 'the request signature does not verify with the signer certificate: sign with the key of -cert');
    if (holder.site !== site) throw new Refusal('wrongAuthority', `certificate ${holder.serial} belongs to site ${holder.site}: send it to /cmp/${holder.site}, not /cmp/${site}`);
    return { protection: { kind: 'signature' }, actor, holder };
  }

  // ---- enrollment: ir, p10cr (secret), cr, kur (holder)

  private async enroll(site: string, msg: PkiMessage, auth: Authenticated): Promise<CmpResponse> {
    const type = msg.bodyType;
    const action = ACTIONS[type]!;
    let request: CertReqMsg | undefined;
    let csrDer: Uint8Array | undefined;
    if (type === BODY.p10cr) csrDer = p10crRequest(msg);
    else {
      const all = parseCertReqMessages(msg);
      if (all.length !== 1) throw new Refusal('badRequest', `CertReqMessages: got ${all.length} requests, want 1`);
      request = all[0]!;
      if (!request.pop) throw new Refusal('badPOP', `proof of possession: got ${request.otherPop === undefined ? 'none' : `kind ${request.otherPop}`}, want a signature by the new key (POPOSigningKey)`);
      if (!request.template.publicKey) throw new Refusal('badCertTemplate', 'CertTemplate: got no publicKey, want the new key (openssl cmp -newkey KEY)');
      if (request.template.extensions.length) throw new Refusal('unacceptedExtension', `CertTemplate extensions: got ${request.template.extensions.map((e) => e.oid).join(', ')}, want none (the staff profile decides the extensions)`);
    }
    let profile: string;
    let subject: { type: string; value: string }[];
    let gm: { identityCode?: string; insuranceNumber?: string } = {};
    if (auth.secret) {
      const s = auth.secret;
      profile = s.profile;
      subject = parseSubject(s.subject);
      gm = { ...(s.identity_code ? { identityCode: s.identity_code } : {}), ...(s.insurance_number ? { insuranceNumber: s.insurance_number } : {}) };
    } else {
      const holder = auth.holder!;
      profile = holder.profile;
      subject = parseSubject(holder.subject);
      if (type === BODY.kur && request?.oldCert && request.oldCert.serial !== holder.serial) throw new Refusal('badCertId', `oldCertID: got serial ${request.oldCert.serial}, want the signer certificate's ${holder.serial}`);
      const refused = await this.o.renewalRefusal?.(holder);
      if (refused !== undefined) throw new Refusal('notAuthorized', refused);
    }
    let asked: { type: string; value: string }[] | undefined;
    if (request?.template.subject) asked = readName(request.template.subject);
    if (csrDer) {
      try {
        asked = parseCsr(csrDer).subject.map((a) => ({ ...a }));
      } catch (err) {
        if (err instanceof InputError) throw new Refusal('badDataFormat', err.message);
        throw err;
      }
    }
    if (asked !== undefined) {
      const mismatch = subjectMismatch(asked, subject);
      if (mismatch) throw new Refusal('badCertTemplate', `subject: ${mismatch}`);
    }
    const transactionId = Buffer.from(msg.header.transactionId!).toString('hex');
    if (await this.o.store.transaction(transactionId)) throw new Refusal('transactionIdInUse', 'transactionID: already used by another transaction; start a new one');
    if (auth.secret && !(await this.o.store.claimSecret(auth.secret.reference, this.now()))) {
      throw new Refusal('notAuthorized', `secret ${auth.secret.reference} is already used (one enrollment per secret): ask the security officer for a new one`);
    }
    let issued: Awaited<ReturnType<CmpCertificateAuthority['issueStaff']>>;
    try {
      issued = await this.o.ca.issueStaff({
        profile,
        site,
        ...(csrDer ? { csrDer } : {}),
        ...(request ? { certRequest: { spkiDer: request.template.publicKey!, subject, possession: { signatureAlgorithmOid: request.pop!.algorithmOid, signed: request.pop!.signed, signature: request.pop!.signature } } } : {}),
        ...gm,
        actor: auth.actor,
      });
    } catch (err) {
      if (auth.secret) await this.o.store.releaseSecret(auth.secret.reference);
      if (err instanceof InputError) throw new Refusal(/proof of possession|signature does not verify/.test(err.message) ? 'badPOP' : 'badCertTemplate', err.message);
      throw err;
    }
    await this.o.store.recordIssued(
      {
        transaction_id: transactionId,
        reference: auth.secret?.reference ?? null,
        holder: auth.secret?.reference ?? auth.holder!.serial,
        serial: issued.serial,
        cert_hash: createHash('sha256').update(issued.certificateDer).digest('hex'),
        // The old certificate still signs the certConf; it is superseded when the new one is confirmed.
        supersedes: type === BODY.kur ? auth.holder!.serial : null,
        status: 'waiting',
        created_at: this.now().toISOString(),
      },
      {
        action,
        outcome: 'ok',
        subject: issued.serial,
        actor: auth.actor,
        details: { site, profile, ...(auth.secret ? { reference: auth.secret.reference } : { holder: auth.holder!.serial }), ...(type === BODY.kur ? { supersedes: auth.holder!.serial } : {}) },
      },
    );
    const reply = type === BODY.kur ? BODY.kup : type === BODY.ir ? BODY.ip : BODY.cp;
    const certReqId = request?.certReqId ?? 0;
    const caPubs = type === BODY.ir || type === BODY.p10cr ? issued.chainDer.slice(-1) : [];
    return this.answer(site, msg, reply, certRepContent(certReqId, issued.certificateDer, statusInfo(0), caPubs), auth.protection, issued.chainDer);
  }

  // ---- certConf → pkiConf

  private async certConf(site: string, msg: PkiMessage, auth: Authenticated): Promise<CmpResponse> {
    const id = Buffer.from(msg.header.transactionId!).toString('hex');
    const tx = await this.o.store.transaction(id);
    const holder = auth.secret?.reference ?? auth.holder?.serial;
    if (!tx || tx.holder !== holder) throw new Refusal('badRequest', 'certConf: no certificate of yours waits for confirmation in this transaction');
    if (tx.status !== 'waiting') throw new Refusal('certConfirmed', `certConf: transaction already ${tx.status}`);
    const statuses = parseCertConf(msg);
    const issued = await this.o.ca.holder(tx.serial);
    if (!issued) throw new Refusal('badCertId', 'certConf: the certificate of this transaction is unknown');
    const s = statuses[0];
    if (statuses.length !== 1 || !s) throw new Refusal('badRequest', `certConf: got ${statuses.length} statuses, want 1`);
    if (!['sha256', 'sha384', 'sha512', 'sm3', 'sha1'].some((h) => sameBytes(createHash(h).update(issued.der).digest(), s.certHash))) throw new Refusal('badCertId', 'certConf: certHash does not match the certificate issued in this transaction');
    const audit = { action: 'cmp.certConf', outcome: 'ok' as const, subject: tx.serial, actor: auth.actor, details: { site, accepted: s.accepted, ...(s.accepted ? (tx.supersedes ? { superseded: tx.supersedes } : {}) : { revoked: tx.serial }) } };
    if (!(await this.o.store.finishTransaction(id, s.accepted ? 'confirmed' : 'rejected', audit))) throw new Refusal('certConfirmed', 'certConf: transaction already confirmed');
    if (!s.accepted) await this.o.ca.revoke(tx.serial, 'cessationOfOperation', auth.actor);
    else if (tx.supersedes) await this.o.ca.revoke(tx.supersedes, 'superseded', auth.actor);
    return this.answer(site, msg, BODY.pkiconf, PKI_CONF_CONTENT, auth.protection);
  }

  // ---- rr: the holder revokes its own certificate

  private async revoke(site: string, msg: PkiMessage, auth: Authenticated): Promise<CmpResponse> {
    const holder = auth.holder!;
    const details = parseRevReq(msg);
    if (details.length !== 1) throw new Refusal('badRequest', `RevReqContent: got ${details.length} requests, want 1`);
    const d = details[0]!;
    if (d.template.serial !== undefined && d.template.serial !== holder.serial) throw new Refusal('notAuthorized', `rr: got serial ${d.template.serial}, want the signer's own certificate ${holder.serial} (a holder revokes only its own)`);
    const reason: RevocationReason = d.reason === undefined ? 'unspecified' : (REASON_BY_CODE.get(d.reason) ?? 'unspecified');
    if (reason === 'cACompromise' || reason === 'aACompromise' || reason === 'certificateHold') throw new Refusal('badRequest', `reasonCode: got ${reason}, want one a holder may give (unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn)`);
    await this.o.ca.revoke(holder.serial, reason, auth.actor);
    await this.o.ca.audit({ action: 'cmp.rr', outcome: 'ok', subject: holder.serial, actor: auth.actor, details: { site, reason } });
    return this.answer(site, msg, BODY.rp, revRepContent(statusInfo(0)), auth.protection);
  }

  // ---- answers

  private async answer(site: string, msg: PkiMessage, type: number, body: Uint8Array, protection: Protection, extraCerts: readonly Uint8Array[] = []): Promise<CmpResponse> {
    return { status: 200, body: await this.protect(site, msg, type, body, protection, extraCerts), outcome: BODY_NAMES[type]!, refused: false };
  }

  private async protect(site: string, msg: PkiMessage | undefined, type: number, body: Uint8Array, protection: Protection, extraCerts: readonly Uint8Array[] = []): Promise<Buffer> {
    const responder = await this.o.ca.responder(site);
    const h = msg?.header;
    const common = {
      senderName: responder.nameDer,
      recipientDer: h?.senderDer ?? explicit(4, NULL_DN_NAME),
      ...(h?.transactionId ? { transactionId: h.transactionId } : {}),
      ...(h?.senderNonce ? { recipNonce: h.senderNonce } : {}),
    };
    const bodyDer = encodeBody(type, body);
    if (protection.kind === 'pbm') {
      const alg = pbmAlgorithm(protection.params);
      // The server's own key id (RFC 9483 §3.1): never the requester's reference echoed back.
      const headerDer = encodeHeader({ ...common, protectionAlgDer: alg.der, senderKid: responder.keyId }, this.now());
      const mac = pbmMac(protection.secret, alg.params, tlv(0x30, [headerDer, bodyDer]));
      return assembleMessage(headerDer, bodyDer, mac, extraCerts);
    }
    const headerDer = encodeHeader({ ...common, protectionAlgDer: responder.algorithmDer, senderKid: responder.keyId }, this.now());
    const signature = await responder.sign(tlv(0x30, [headerDer, bodyDer]));
    const chain = [...responder.chainDer, ...extraCerts.filter((c) => !responder.chainDer.some((r) => sameBytes(r, c)))];
    return assembleMessage(headerDer, bodyDer, signature, chain);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function printable(b: Uint8Array): string {
  const s = Buffer.from(b).toString('utf8');
  return /^[\x21-\x7e]{1,64}$/.test(s) ? s : Buffer.from(b).subarray(0, 32).toString('hex');
}

/** A certificate's serial (lowercase hex), or undefined when it does not decode. */
function certificateSerial(der: Uint8Array): string | undefined {
  try {
    const cert = readTlv(der, 0);
    const tbs = children(der, cert)[0];
    if (cert.tag !== 0x30 || tbs?.tag !== 0x30) return undefined;
    const f = children(der, tbs);
    const s = f[f[0]?.tag === 0xa0 ? 1 : 0];
    if (s?.tag !== 0x02) return undefined;
    return Buffer.from(content(der, s)).toString('hex').replace(/^0+(?=.)/, '');
  } catch {
    return undefined;
  }
}

function readName(nameDer: Uint8Array): { type: string; value: string }[] {
  return nameAttributes(nameDer).map((a) => ({ type: ATTRIBUTE_BY_OID.get(a.oid) ?? a.oid, value: a.value }));
}

/**
 * Why the subject asked for differs from the one the secret (or the current certificate) names;
 * undefined when it matches. C and O may be left out: the profile fills them in from the site.
 */
function subjectMismatch(asked: readonly { type: string; value: string }[], want: readonly { type: string; value: string }[]): string | undefined {
  const key = (a: { type: string; value: string }) => `${a.type}=${a.value}`;
  const need = new Set(want.filter((a) => a.type !== 'C' && a.type !== 'O').map(key));
  const got = new Set(asked.filter((a) => a.type !== 'C' && a.type !== 'O').map(key));
  const same = need.size === got.size && [...need].every((k) => got.has(k));
  const extraCO = asked.filter((a) => (a.type === 'C' || a.type === 'O') && want.some((w) => w.type === a.type) && !want.some((w) => key(w) === key(a)));
  if (same && extraCO.length === 0) return undefined;
  return `got "${formatName(asked)}", want "${formatName(want.filter((a) => a.type !== 'C' && a.type !== 'O'))}" (the subject this secret or certificate was issued for)`;
}
