import { sm2 } from 'sm-crypto-v2';
import { children, readTlv } from './der.js';

/**
 * SM2 signature verification on sm-crypto-v2's curve arithmetic (GB/T 32918.2, verification
 * steps B1-B7). The library's own `doVerifySignature` computes sG and tP as two constant-time
 * multiplications; verifying public data needs no constant time, so here sG + tP is one
 * variable-time double multiplication (about 3x faster), and r and s are range-checked, which the
 * library does not do.
 */

interface Sm2Point {
  multiplyAndAddUnsafe(q: Sm2Point, a: bigint, b: bigint): Sm2Point | undefined;
  toAffine(): { x: bigint; y: bigint };
}
interface Sm2PointClass {
  readonly BASE: Sm2Point;
  fromHex(hex: string): Sm2Point;
}

/** The order n of the SM2 base point (GB/T 32918.5). */
const N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;

let pointClass: Sm2PointClass | undefined;
/** sm-crypto-v2 does not export its curve; its point class is reached through a point it returns (the base point). */
function points(): Sm2PointClass {
  if (!pointClass) {
    const g = sm2.getPublicKeyFromPrivateKey(`${'0'.repeat(63)}1`);
    pointClass = (sm2.precomputePublicKey(g, 1) as unknown as { constructor: Sm2PointClass }).constructor;
  }
  return pointClass;
}

/** r and s of a DER SM2 signature (SEQUENCE { r INTEGER, s INTEGER }); undefined when it is not one. */
function rs(sig: Uint8Array): { r: bigint; s: bigint } | undefined {
  try {
    const top = readTlv(sig, 0);
    if (top.tag !== 0x30 || top.end !== sig.length) return undefined;
    const ints = children(sig, top);
    if (ints.length !== 2 || ints.some((t) => t.tag !== 0x02 || t.end === t.contentStart || (sig[t.contentStart]! & 0x80) !== 0)) return undefined;
    const [r, s] = ints.map((t) => BigInt(`0x${Buffer.from(sig.subarray(t.contentStart, t.end)).toString('hex')}`)) as [bigint, bigint];
    return { r, s };
  } catch {
    return undefined;
  }
}

/**
 * Whether `signature` (DER) is an SM2-with-SM3 signature of `message` by the public key
 * `publicKeyHex` (uncompressed point, hex) under the distinguishing ID `userId`.
 */
export function sm2Verify(message: Uint8Array, signature: Uint8Array, publicKeyHex: string, userId: string): boolean {
  const v = rs(signature);
  if (!v || v.r < 1n || v.r >= N || v.s < 1n || v.s >= N) return false;
  const t = (v.r + v.s) % N;
  if (t === 0n) return false;
  let p: Sm2Point;
  try {
    p = points().fromHex(publicKeyHex);
  } catch {
    return false;
  }
  const e = BigInt(`0x${sm2.getHash(message, publicKeyHex, userId)}`);
  const x1y1 = points().BASE.multiplyAndAddUnsafe(p, v.s, t);
  return x1y1 !== undefined && (e + x1y1.toAffine().x) % N === v.r;
}
