import { randomBytes } from 'node:crypto';
import { sm2 } from 'sm-crypto-v2';
import { describe, expect, it } from 'vitest';
import { integer, seq } from '../der.js';
import { sm2Verify } from '../sm2.js';

const ID = '1234567812345678';
const N = 'fffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123';

function signed(message: Uint8Array) {
  const kp = sm2.generateKeyPairHex();
  const sig = Buffer.from(sm2.doSignature(message, kp.privateKey, { der: true, hash: true, publicKey: kp.publicKey, userId: ID }), 'hex');
  return { kp, sig };
}

const library = (m: Uint8Array, sig: Uint8Array, pub: string, id = ID) => {
  try {
    return sm2.doVerifySignature(m, Buffer.from(sig).toString('hex'), pub, { der: true, hash: true, userId: id });
  } catch {
    return false;
  }
};

describe('SM2 verification (proof of possession of SM2 requests)', () => {
  it('GIVEN signatures made by sm-crypto-v2 THEN sm2Verify accepts them, and refuses another message, key or distinguishing ID exactly as the library does', () => {
    for (let i = 0; i < 12; i++) {
      const m = randomBytes(1 + i * 37);
      const { kp, sig } = signed(m);
      expect(sm2Verify(m, sig, kp.publicKey, ID)).toBe(true);
      const other = Buffer.from(m);
      other[i % other.length]! ^= 1;
      expect(sm2Verify(other, sig, kp.publicKey, ID)).toBe(false);
      expect(library(other, sig, kp.publicKey)).toBe(false);
      expect(sm2Verify(m, sig, kp.publicKey, '1234567812345679')).toBe(false);
      expect(sm2Verify(m, sig, sm2.generateKeyPairHex().publicKey, ID)).toBe(false);
    }
  });

  it('GIVEN byte flips of a valid signature THEN sm2Verify never accepts one the library refuses, and accepts none that changed r or s', () => {
    const m = randomBytes(300);
    const { kp, sig } = signed(m);
    for (let i = 0; i < sig.length; i++) {
      const bad = Buffer.from(sig);
      bad[i]! ^= 1 << i % 8;
      const ours = sm2Verify(m, bad, kp.publicKey, ID);
      if (ours) expect(library(m, bad, kp.publicKey)).toBe(true);
      if (i >= 4) expect(ours).toBe(false);
    }
  });

  it('GIVEN r or s out of range, a non-DER signature or a point off the curve THEN it is refused without throwing', () => {
    const m = randomBytes(64);
    const { kp, sig } = signed(m);
    expect(sm2Verify(m, seq(integer(0), integer(1)), kp.publicKey, ID)).toBe(false);
    expect(sm2Verify(m, seq(integer(1), integer(N)), kp.publicKey, ID)).toBe(false);
    expect(sm2Verify(m, Buffer.concat([sig, Buffer.from([0])]), kp.publicKey, ID)).toBe(false);
    expect(sm2Verify(m, sig.subarray(0, sig.length - 1), kp.publicKey, ID)).toBe(false);
    expect(sm2Verify(m, Buffer.from('garbage'), kp.publicKey, ID)).toBe(false);
    expect(sm2Verify(m, sig, `04${'11'.repeat(64)}`, ID)).toBe(false);
    expect(sm2Verify(m, sig, 'zz', ID)).toBe(false);
  });
});
