import { createHash, createHmac, createPublicKey, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { AcmeProblem } from './problems.js';

/**
 * JWS as RFC 8555 §6.2 uses it: flattened JSON serialization, a protected header with `alg`,
 * `nonce`, `url` and exactly one of `jwk` / `kid`, no unprotected header.
 *
 * Built on node:crypto rather than the `jose` package: `createPublicKey({ format: 'jwk' })` reads
 * EC, RSA and OKP keys synchronously, `verify` takes ECDSA signatures in their JWS form
 * (`dsaEncoding: 'ieee-p1363'`), and RFC 7638 thumbprints are a few lines. jose's WebCrypto path
 * is async per verification and its Ed25519 support rests on Node 20's experimental WebCrypto.
 */

export const JWS_ALGORITHMS = ['ES256', 'ES384', 'RS256', 'EdDSA'] as const;
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number];

export type Jwk = Readonly<Record<string, unknown>>;

export interface ProtectedHeader {
  readonly alg: JwsAlgorithm;
  readonly nonce?: string;
  readonly url?: string;
  readonly jwk?: Jwk;
  readonly kid?: string;
}

export interface ParsedJws {
  readonly header: ProtectedHeader;
  /** The decoded payload bytes ("" for POST-as-GET). */
  readonly payload: Buffer;
  /** What the signature covers: `protected.payload`, ASCII. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

export function b64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Strict base64url (no padding, no other alphabet); `what` names the field in the problem. */
export function fromB64url(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || !B64URL.test(value)) throw new AcmeProblem('malformed', `${what}: got ${typeof value === 'string' ? 'characters outside base64url' : typeof value}, want a base64url string without padding`);
  return Buffer.from(value, 'base64url');
}

function jsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new AcmeProblem('malformed', `${what}: got something that is not JSON, want a JSON object`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AcmeProblem('malformed', `${what}: got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}, want a JSON object`);
  return v as Record<string, unknown>;
}

/** Parse a flattened JWS request body and its protected header (signature not yet checked). */
export function parseJws(body: Buffer): ParsedJws {
  const outer = jsonObject(body, 'request body');
  if ('signatures' in outer) throw new AcmeProblem('malformed', 'JWS: got the general JSON serialization ("signatures"), want the flattened one with exactly one signature');
  if ('header' in outer) throw new AcmeProblem('malformed', 'JWS: got an unprotected header, want every header parameter in "protected"');
  for (const k of ['protected', 'payload', 'signature']) if (typeof outer[k] !== 'string') throw new AcmeProblem('malformed', `JWS: got no "${k}" string, want "protected", "payload" and "signature"`);
  const protectedB64 = outer.protected as string;
  const payloadB64 = outer.payload as string;
  const header = jsonObject(fromB64url(protectedB64, 'JWS "protected"'), 'JWS protected header');
  const alg = header.alg;
  if (typeof alg !== 'string') throw new AcmeProblem('malformed', 'JWS protected header: got no "alg", want one of ' + JWS_ALGORITHMS.join(', '));
  if (!(JWS_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new AcmeProblem('badSignatureAlgorithm', `JWS "alg": got "${alg.slice(0, 40)}", want one of ${JWS_ALGORITHMS.join(', ')}`, { algorithms: JWS_ALGORITHMS });
  }
  if ((header.jwk === undefined) === (header.kid === undefined)) throw new AcmeProblem('malformed', `JWS protected header: got ${header.jwk === undefined ? 'neither "jwk" nor "kid"' : 'both "jwk" and "kid"'}, want exactly one`);
  if (header.jwk !== undefined && (typeof header.jwk !== 'object' || header.jwk === null || Array.isArray(header.jwk))) throw new AcmeProblem('malformed', 'JWS "jwk": got something that is not a JSON object, want a public JWK');
  if (header.kid !== undefined && typeof header.kid !== 'string') throw new AcmeProblem('malformed', 'JWS "kid": got something that is not a string, want the account URL');
  if (header.nonce !== undefined && typeof header.nonce !== 'string') throw new AcmeProblem('badNonce', 'JWS "nonce": got something that is not a string, want a nonce from newNonce');
  if (header.url !== undefined && typeof header.url !== 'string') throw new AcmeProblem('malformed', 'JWS "url": got something that is not a string, want the URL the request is sent to');
  return {
    header: header as unknown as ProtectedHeader,
    payload: fromB64url(payloadB64, 'JWS "payload"'),
    signingInput: Buffer.from(`${protectedB64}.${payloadB64}`, 'ascii'),
    signature: fromB64url(outer.signature, 'JWS "signature"'),
  };
}

/** The payload as a JSON object; POST-as-GET ("") is refused where a body is expected. */
export function payloadObject(jws: ParsedJws): Record<string, unknown> {
  if (jws.payload.length === 0) throw new AcmeProblem('malformed', 'payload: got an empty payload (POST-as-GET), want a JSON object');
  return jsonObject(jws.payload, 'payload');
}

/** A public key from a JWK; private members, unknown types and weak keys are refused. */
export function publicKeyFromJwk(jwk: Jwk): KeyObject {
  if ('d' in jwk || 'p' in jwk) throw new AcmeProblem('badPublicKey', 'JWK: got private key members ("d"), want only the public key');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' });
  } catch {
    throw new AcmeProblem('badPublicKey', `JWK: got an unreadable ${typeof jwk.kty === 'string' ? jwk.kty.slice(0, 10) : ''} key, want an EC P-256/P-384, RSA (2048-4096 bits) or Ed25519 public key`);
  }
  if (key.type !== 'public') throw new AcmeProblem('badPublicKey', 'JWK: want a public key');
  const t = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails ?? {};
  if (t === 'rsa' && ((d.modulusLength ?? 0) < 2048 || (d.modulusLength ?? 0) > 4096)) throw new AcmeProblem('badPublicKey', `JWK: got RSA-${d.modulusLength}, want RSA with 2048-4096 bits`);
  if (t === 'ec' && d.namedCurve !== 'prime256v1' && d.namedCurve !== 'secp384r1') throw new AcmeProblem('badPublicKey', `JWK: got EC curve ${d.namedCurve}, want P-256 or P-384`);
  if (t !== 'rsa' && t !== 'ec' && t !== 'ed25519') throw new AcmeProblem('badPublicKey', `JWK: got a ${t} key, want EC P-256/P-384, RSA or Ed25519`);
  return key;
}

/** Which algorithm a key signs with; a mismatch with `alg` is refused. */
function expectAlgorithm(key: KeyObject, alg: JwsAlgorithm): void {
  const t = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const want: JwsAlgorithm | undefined = t === 'rsa' ? 'RS256' : t === 'ed25519' ? 'EdDSA' : curve === 'prime256v1' ? 'ES256' : curve === 'secp384r1' ? 'ES384' : undefined;
  if (want !== alg) throw new AcmeProblem('badSignatureAlgorithm', `JWS "alg": got ${alg} with a ${t}${curve ? ` ${curve}` : ''} key, want ${want ?? 'a supported key'}`, { algorithms: JWS_ALGORITHMS });
}

/** Check the signature of `jws` with `key`; a bad signature is `malformed` (RFC 8555 §6.2). */
export function verifyJws(jws: ParsedJws, key: KeyObject): void {
  expectAlgorithm(key, jws.header.alg);
  let ok = false;
  try {
    switch (jws.header.alg) {
      case 'ES256':
        ok = jws.signature.length === 64 && verify('sha256', jws.signingInput, { key, dsaEncoding: 'ieee-p1363' }, jws.signature);
        break;
      case 'ES384':
        ok = jws.signature.length === 96 && verify('sha384', jws.signingInput, { key, dsaEncoding: 'ieee-p1363' }, jws.signature);
        break;
      case 'RS256':
        ok = verify('sha256', jws.signingInput, key, jws.signature);
        break;
      case 'EdDSA':
        ok = verify(null, jws.signingInput, key, jws.signature);
        break;
    }
  } catch {
    ok = false;
  }
  if (!ok) throw new AcmeProblem('malformed', 'JWS signature: got one that does not verify with the request\'s key, want a signature over "protected.payload" by that key');
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a public key. */
export function jwkThumbprint(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  const members: Record<string, string[]> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] };
  const names = members[jwk.kty!];
  if (!names) throw new AcmeProblem('badPublicKey', `JWK: got kty ${jwk.kty}, want EC, RSA or OKP`);
  const canonical = `{${names.map((n) => `${JSON.stringify(n)}:${JSON.stringify(jwk[n])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The public JWK of a key in canonical form (what accounts store). */
export function publicJwk(key: KeyObject): Record<string, string> {
  return key.export({ format: 'jwk' }) as Record<string, string>;
}

export const EAB_ALGORITHMS = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' } as const;

/**
 * The External Account Binding of a newAccount request (RFC 8555 §7.3.4): a JWS over the account
 * key, MACed with the EAB key. Returns its key id; `macKey(kid)` gives the HMAC key (undefined:
 * unknown key id). The MAC, the URL and the bound key are checked.
 */
export async function verifyExternalAccountBinding(
  eab: unknown,
  opts: { url: string; accountKey: KeyObject; macKey: (kid: string) => Promise<Buffer | undefined> },
): Promise<string> {
  if (typeof eab !== 'object' || eab === null || Array.isArray(eab)) throw new AcmeProblem('malformed', 'externalAccountBinding: got something that is not a JWS object, want {protected, payload, signature}');
  const o = eab as Record<string, unknown>;
  for (const k of ['protected', 'payload', 'signature']) if (typeof o[k] !== 'string') throw new AcmeProblem('malformed', `externalAccountBinding: got no "${k}" string, want a flattened JWS`);
  const header = jsonObject(fromB64url(o.protected, 'externalAccountBinding "protected"'), 'externalAccountBinding protected header');
  const alg = header.alg;
  if (typeof alg !== 'string' || !(alg in EAB_ALGORITHMS)) throw new AcmeProblem('malformed', `externalAccountBinding "alg": got ${JSON.stringify(alg)?.slice(0, 20)}, want HS256, HS384 or HS512`);
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 200) throw new AcmeProblem('malformed', 'externalAccountBinding "kid": got none, want the key id printed by jinbao acme eab create');
  if ('nonce' in header) throw new AcmeProblem('malformed', 'externalAccountBinding: got a "nonce", want none (RFC 8555 §7.3.4)');
  if (header.url !== opts.url) throw new AcmeProblem('unauthorized', `externalAccountBinding "url": got ${JSON.stringify(header.url)?.slice(0, 200)}, want ${opts.url}`);
  const key = await opts.macKey(header.kid);
  if (!key) throw new AcmeProblem('unauthorized', `externalAccountBinding: got key id "${header.kid.slice(0, 80)}", which is unknown, expired or used by another account; want a key id from jinbao acme eab create`);
  const mac = createHmac(EAB_ALGORITHMS[alg as keyof typeof EAB_ALGORITHMS], key).update(`${o.protected}.${o.payload}`).digest();
  const given = fromB64url(o.signature, 'externalAccountBinding "signature"');
  if (given.length !== mac.length || !timingSafeEqual(given, mac)) throw new AcmeProblem('unauthorized', `externalAccountBinding: got a MAC that does not verify with the HMAC key of "${header.kid.slice(0, 80)}", want one made with that key`);
  const bound = jsonObject(fromB64url(o.payload, 'externalAccountBinding "payload"'), 'externalAccountBinding payload');
  if (jwkThumbprint(publicKeyFromJwk(bound)) !== jwkThumbprint(opts.accountKey)) throw new AcmeProblem('malformed', 'externalAccountBinding payload: got a key other than the account key, want the account key of this request');
  return header.kid;
}
