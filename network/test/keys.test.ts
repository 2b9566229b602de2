import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stateBackends } from '../../lib/test/state-backends.js';
import { generateKeyPair, KeyStore, lastCheck, parseKey, publicKeyOf, saveCheck, type CheckResult } from '../index.js';

const hasWg = (() => {
  try {
    execFileSync('wg', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
const backends = stateBackends('jinbao-wan-keys-');

describe('WireGuard keys', () => {
  it.skipIf(!hasWg)('GIVEN a key pair from node:crypto WHEN wg derives the public key THEN it is the same (wg is the oracle; skipped only without wireguard-tools)', () => {
    const k = generateKeyPair();
    expect(execFileSync('wg', ['pubkey'], { input: k.privateKey + '\n' }).toString().trim()).toBe(k.publicKey);
    const fromWg = execFileSync('wg', ['genkey']).toString().trim();
    expect(publicKeyOf(fromWg)).toBe(execFileSync('wg', ['pubkey'], { input: fromWg + '\n' }).toString().trim());
  });

  it('GIVEN text that is not base64 of 32 bytes WHEN parsed THEN the message names the source and the expected form', () => {
    expect(() => parseKey('not-a-key', 'public key for node 440100')).toThrow(
      'public key for node 440100: "not-a-key" is not a WireGuard key; want 44 characters of base64 encoding 32 bytes (as printed by "wg genkey" / "wg pubkey")',
    );
    expect(() => parseKey(Buffer.alloc(31, 7).toString('base64'), 'k')).toThrow('is not a WireGuard key');
    expect(() => parseKey(Buffer.alloc(32).toString('base64'), 'k')).toThrow('k: the all-zero key is not a usable X25519 key; generate one with "wg genkey"');
    expect(parseKey(generateKeyPair().publicKey, 'k').length).toBe(32);
  });
});

describe.each(backends)('node keys in the state store on $name', ({ skip, open }) => {
  it.skipIf(skip)('GIVEN a state store WHEN keys are ensured twice THEN they are generated once and kept', async () => {
    const db = await open();
    const first = await (await KeyStore.open(db)).ensure(['000000', '440000']);
    const again = await (await KeyStore.open(db)).ensure(['000000', '440000', '440100']);
    expect(again.get('000000')).toEqual(first.get('000000'));
    expect(again.size).toBe(3);
    expect(again.get('440100')).toMatchObject({ node: '440100', generation: 1 });
    expect(publicKeyOf(again.get('440100')!.privateKey!)).toBe(again.get('440100')!.publicKey);
  });

  it.skipIf(skip)('GIVEN more nodes than one statement takes WHEN keys are ensured THEN every node has its own pair', async () => {
    const db = await open();
    const nodes = Array.from({ length: 450 }, (_, i) => `n${String(i).padStart(3, '0')}`);
    const keys = await (await KeyStore.open(db)).ensure(nodes);
    expect([...(await (await KeyStore.open(db)).all()).keys()].sort()).toEqual(nodes);
    expect(new Set([...keys.values()].map((k) => k.publicKey)).size).toBe(450);
  });

  it.skipIf(skip)('WHEN a node is rotated THEN it has a new pair and the next generation; others are untouched', async () => {
    const ks = await KeyStore.open(await open());
    const before = await ks.ensure(['000000', '440000']);
    const after = await ks.rotate('440000');
    expect(after.generation).toBe(2);
    expect(after.publicKey).not.toBe(before.get('440000')!.publicKey);
    expect((await ks.all()).get('440000')).toEqual(after);
    expect((await ks.all()).get('000000')).toEqual(before.get('000000'));
  });

  it.skipIf(skip)('WHEN a public key is imported THEN the node holds no private key; a bad one is refused and nothing changes', async () => {
    const ks = await KeyStore.open(await open());
    const pub = generateKeyPair().publicKey;
    expect(await ks.importPublic('440100', pub)).toMatchObject({ node: '440100', publicKey: pub, generation: 1 });
    expect((await ks.all()).get('440100')!.privateKey).toBeUndefined();
    await expect(ks.importPublic('440100', 'xyz=')).rejects.toThrow('public key for node 440100: "xyz=" is not a WireGuard key');
    expect((await ks.all()).get('440100')!.publicKey).toBe(pub);
  });

  it.skipIf(skip)('GIVEN two writers at once WHEN one ensures keys and the other rotates THEN no generation is lost and no key generated twice', async () => {
    const db = await open();
    const [a, b] = [await KeyStore.open(db), await KeyStore.open(db)];
    await a.ensure(['440000']);
    const results = await Promise.all([a.rotate('440000'), b.rotate('440000'), a.ensure(['440000', '440100']), b.ensure(['440100', '440200'])]);
    expect([results[0].generation, results[1].generation].sort()).toEqual([2, 3]);
    const all = await a.all();
    expect(all.get('440000')!.generation).toBe(3);
    expect(results[2].get('440100')).toEqual(all.get('440100'));
    expect(results[3].get('440100')).toEqual(all.get('440100'));
  });

  it.skipIf(skip)('GIVEN recorded lab checks THEN the latest is read back', async () => {
    const db = await open();
    expect(await lastCheck(db)).toBeUndefined();
    const check = (checkedAt: string, failures: number): CheckResult => ({ tag: 't', checkedAt, pairs: [], links: [], routing: [], summary: { allowed: 0, denied: 0, failures, linksUp: 0, links: 0 } });
    await saveCheck(db, check('2026-11-27T00:00:00.000Z', 1));
    await saveCheck(db, check('2026-11-26T00:00:00.000Z', 2));
    expect(await lastCheck(db)).toEqual(check('2026-11-26T00:00:00.000Z', 2));
  });
});
