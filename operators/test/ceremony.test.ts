import { describe, expect, it } from 'vitest';
import { formatShare, parseShare, ShareCollector } from '../index.js';
import { splitSecret } from '../ceremony.js';

const SECRET = 'correct horse battery staple';

describe('the key ceremony (Shamir\'s secret sharing, shamir-secret-sharing)', () => {
  it('GIVEN a 3-of-5 split THEN any three shares rebuild the passphrase and two do not', async () => {
    const { ceremony, shares } = await splitSecret(SECRET, 5, 3);
    for (const pick of [[0, 1, 2], [4, 2, 0], [1, 3, 4]]) {
      const c = new ShareCollector(ceremony);
      expect(await c.submit(shares[pick[0]!]!)).toBeUndefined();
      expect(await c.submit(shares[pick[1]!]!)).toBeUndefined();
      expect(await c.submit(parseShare(formatShare(shares[pick[2]!]!, 5, 3)))).toBe(SECRET);
    }
  });

  it('GIVEN a share submitted twice, a corrupted one, one of another ceremony or out of range THEN each is refused and does not count', async () => {
    const { ceremony, shares } = await splitSecret(SECRET, 5, 3);
    const other = await splitSecret(SECRET, 5, 3);
    const c = new ShareCollector(ceremony);
    await c.submit(shares[0]!);
    await expect(c.submit(shares[0]!)).rejects.toThrow('share 1 was already submitted (1 of 3 in); each custodian submits once');
    const bytes = Uint8Array.from(shares[1]!.bytes);
    bytes[0] = bytes[0]! ^ 1;
    await expect(c.submit({ ...shares[1]!, bytes })).rejects.toThrow(`share 2 does not match what ceremony ${ceremony.id} recorded`);
    await expect(c.submit(other.shares[1]!)).rejects.toThrow(`the share belongs to ceremony ${other.ceremony.id}, want one of ceremony ${ceremony.id}`);
    await expect(c.submit({ ...shares[1]!, number: 9 })).rejects.toThrow('share 9 does not match');
    expect(c.submitted).toBe(1);
  });

  it('GIVEN text that is not a share THEN it is refused as malformed; comment lines are allowed', async () => {
    expect(() => parseShare('hello')).toThrow('the share is malformed');
    const { shares } = await splitSecret(SECRET, 2, 2);
    expect(formatShare(shares[0]!, 2, 2)).toMatch(/^# jinbao CA passphrase share 1 of 2 \(any 2 open the CA keys\)/);
    expect(parseShare(formatShare(shares[0]!, 2, 2)).number).toBe(1);
  });

  it('GIVEN impossible counts THEN the split is refused naming the flag', async () => {
    await expect(splitSecret(SECRET, 1, 1)).rejects.toThrow('--shares: got 1, want a whole number from 2 to 255');
    await expect(splitSecret(SECRET, 3, 4)).rejects.toThrow('--threshold: got 4, want a whole number from 2 to --shares (3)');
  });
});
