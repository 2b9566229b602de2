import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as asn1js from 'asn1js';
import graphene from 'graphene-pk11';
import { InputError } from '../lib/errors.js';
import { CA_ALGORITHM_SPECS, OID, type CaAlgorithm } from './algorithms.js';
import type { KeyBackend, Signer } from './keys.js';
import { inputError, unavailableError } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';

/**
 * CA keys inside a PKCS#11 token (tested with SoftHSM2): generated on the token, never extractable;
 * the passphrase is the token's user PIN. The key reference stored with the CA record names the
 * module, the token and the key label, so the CA can be reopened with the PIN alone.
 * ECDSA signs a digest computed here with CKM_ECDSA (SoftHSM2 has no ECDSA-with-SHA mechanisms)
 * and re-encodes r||s as DER; RSA uses CKM_SHA256_RSA_PKCS. SM2 is not offered by SoftHSM2.
 */

interface Pkcs11Ref {
  readonly module: string;
  readonly token: string;
  readonly label: string;
}

interface OpenModule {
  readonly module: graphene.Module;
  sessions: number;
}
const modules = new Map<string, OpenModule>();

function loadModule(path: string): graphene.Module {
  let m = modules.get(path);
  if (!m) {
    if (!existsSync(path)) throw unavailableError(PKI_MESSAGES, 'pkcs11.module', { path });
    const module = graphene.Module.load(path, 'jinbao');
    module.initialize();
    m = { module, sessions: 0 };
    modules.set(path, m);
  }
  return m.module;
}

/** One logged-in session per token and process: PKCS#11 login state is per token, not per session. */
const sessions = new Map<string, { session: graphene.Session; pin: string }>();

function wrongPin(token: string, cause?: unknown): InputError {
  return inputError(PKI_MESSAGES, 'pkcs11.wrongPin', { token }, cause === undefined ? {} : { cause });
}

function openSession(ref: Pick<Pkcs11Ref, 'module' | 'token'>, pin: string): graphene.Session {
  const key = `${ref.module}\0${ref.token}`;
  const cached = sessions.get(key);
  if (cached) {
    if (cached.pin !== pin) throw wrongPin(ref.token);
    return cached.session;
  }
  const session = loginSession(ref, pin);
  sessions.set(key, { session, pin });
  return session;
}

/** Log out and close every token session of this process. */
export function closePkcs11Sessions(): void {
  for (const { session } of sessions.values()) {
    try {
      session.logout();
    } catch {
      /* the token may have dropped the login already */
    }
    session.close();
  }
  sessions.clear();
}

function loginSession(ref: Pick<Pkcs11Ref, 'module' | 'token'>, pin: string): graphene.Session {
  const module = loadModule(ref.module);
  const slots = module.getSlots(true);
  const labels: string[] = [];
  let slot: graphene.Slot | undefined;
  for (let i = 0; i < slots.length; i++) {
    const s = slots.items(i);
    const label = s.getToken().label.trim();
    labels.push(label);
    if (label === ref.token) slot = s;
  }
  if (!slot) throw inputError(PKI_MESSAGES, labels.length ? 'pkcs11.token' : 'pkcs11.tokenNone', { token: ref.token, known: labels.map((l) => `"${l}"`).join(', '), module: ref.module });
  const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
  try {
    session.login(pin, graphene.UserType.USER);
  } catch (err) {
    session.close();
    if (/PIN_INCORRECT|PIN_LEN_RANGE/.test(String((err as Error).message))) throw wrongPin(ref.token, err);
    throw err;
  }
  return session;
}

/** DER ECDSA-Sig-Value (minimal INTEGERs) from the token's raw r||s. */
function derSignature(raw: Buffer): Uint8Array {
  const half = raw.length / 2;
  const int = (b: Buffer) => {
    let k = 0;
    while (k < b.length - 1 && b[k] === 0) k++;
    const v = b.subarray(k);
    return new asn1js.Integer({ valueHex: v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v });
  };
  return new Uint8Array(new asn1js.Sequence({ value: [int(raw.subarray(0, half)), int(raw.subarray(half))] }).toBER(false));
}

function spkiOf(algorithm: CaAlgorithm, pub: graphene.PublicKey): Uint8Array {
  if (algorithm === 'rsa-3072') {
    const a = pub.getAttribute({ modulus: null, publicExponent: null }) as { modulus: Buffer; publicExponent: Buffer };
    const pos = (b: Buffer) => new asn1js.Integer({ valueHex: b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b });
    const rsaKey = new asn1js.Sequence({ value: [pos(a.modulus), pos(a.publicExponent)] }).toBER(false);
    return new Uint8Array(
      new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.rsaEncryption }), new asn1js.Null()] }), new asn1js.BitString({ valueHex: rsaKey })] }).toBER(false),
    );
  }
  const a = pub.getAttribute({ pointEC: null }) as { pointEC: Buffer };
  const point = (asn1js.fromBER(a.pointEC).result as asn1js.OctetString).valueBlock.valueHexView;
  const curve = algorithm === 'ecdsa-p384' ? OID.p384 : OID.p256;
  return new Uint8Array(
    new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.ecPublicKey }), new asn1js.ObjectIdentifier({ value: curve })] }), new asn1js.BitString({ valueHex: point })] }).toBER(false),
  );
}

function signerFor(session: graphene.Session, algorithm: CaAlgorithm, priv: graphene.PrivateKey, spkiDer: Uint8Array): Signer {
  const spec = CA_ALGORITHM_SPECS[algorithm];
  return {
    algorithm,
    spkiDer,
    signatureAlgorithmOid: spec.signatureAlgorithmOid,
    sign: async (data) => {
      if (algorithm === 'rsa-3072') return new Uint8Array(session.createSign('SHA256_RSA_PKCS', priv).once(Buffer.from(data)));
      const digest = createHash(spec.hash).update(data).digest();
      return derSignature(session.createSign('ECDSA', priv).once(digest));
    },
  };
}

export class Pkcs11KeyBackend implements KeyBackend {
  readonly name = 'pkcs11';
  /** `module` and `token` are needed to generate keys; opening reads them from the reference. */
  constructor(private readonly where?: { readonly module: string; readonly token: string }) {}

  static fromRef(ref: string): Pkcs11KeyBackend {
    const r = JSON.parse(ref) as Pkcs11Ref;
    return new Pkcs11KeyBackend({ module: r.module, token: r.token });
  }

  async generate(algorithm: CaAlgorithm, label: string, pin: string): Promise<{ ref: string; signer: Signer }> {
    if (!this.where) throw inputError(PKI_MESSAGES, 'pkcs11.noModule');
    if (algorithm === 'sm2') throw inputError(PKI_MESSAGES, 'pkcs11.sm2');
    const session = openSession(this.where, pin);
    if (session.find({ class: graphene.ObjectClass.PRIVATE_KEY, label }).length > 0) throw inputError(PKI_MESSAGES, 'pkcs11.labelTaken', { token: this.where.token, label });
    const common = { token: true, label, id: Buffer.from(label) };
    const keys =
      algorithm === 'rsa-3072'
        ? session.generateKeyPair(graphene.KeyGenMechanism.RSA, { ...common, keyType: graphene.KeyType.RSA, modulusBits: 3072, publicExponent: Buffer.from([1, 0, 1]), verify: true }, { ...common, keyType: graphene.KeyType.RSA, sign: true, private: true, sensitive: true, extractable: false })
        : session.generateKeyPair(
            graphene.KeyGenMechanism.EC,
            { ...common, keyType: graphene.KeyType.EC, verify: true, paramsEC: graphene.NamedCurve.getByName(algorithm === 'ecdsa-p384' ? 'secp384r1' : 'secp256r1').value },
            { ...common, keyType: graphene.KeyType.EC, sign: true, private: true, sensitive: true, extractable: false },
          );
    const spki = spkiOf(algorithm, keys.publicKey);
    return { ref: JSON.stringify({ module: this.where.module, token: this.where.token, label }), signer: signerFor(session, algorithm, keys.privateKey, spki) };
  }

  async open(ref: string, algorithm: CaAlgorithm, pin: string): Promise<Signer> {
    const r = JSON.parse(ref) as Pkcs11Ref;
    const session = openSession(r, pin);
    const priv = session.find({ class: graphene.ObjectClass.PRIVATE_KEY, label: r.label });
    const pub = session.find({ class: graphene.ObjectClass.PUBLIC_KEY, label: r.label });
    if (priv.length === 0 || pub.length === 0) throw inputError(PKI_MESSAGES, 'pkcs11.keyMissing', { label: r.label, token: r.token });
    const spki = spkiOf(algorithm, pub.items(0).toType<graphene.PublicKey>());
    return signerFor(session, algorithm, priv.items(0).toType<graphene.PrivateKey>(), spki);
  }

  /** Log out and close the token sessions (shared by every PKCS#11 backend of the process). */
  close(): void {
    closePkcs11Sessions();
  }
}
