import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StateStore } from '../../lib/state.js';
import { generateKeyPair, KeyStore, parseKey, publicKeyOf } from '../index.js';

const hasWg = (() => {
  try {
    execFileSync('wg', ['--version']);
    return true;
  } catch {
    return false;
  }
})();
const dir = mkdtempSync(join(tmpdir(), 'jinbao-wan-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

  it('GIVEN a state store WHEN keys are ensured twice THEN they are generated once and kept', () => {
    const store = StateStore.open(join(dir, 'a'));
    const first = new KeyStore(store).ensure(['000000', '440000']);
    const again = new KeyStore(store).ensure(['000000', '440000', '440100']);
    expect(again.get('000000')).toEqual(first.get('000000'));
    expect(again.size).toBe(3);
    store.close();
  });

  it('WHEN a node is rotated THEN it has a new pair and the next generation; others are untouched', () => {
    const store = StateStore.open(join(dir, 'b'));
    const ks = new KeyStore(store);
    const before = ks.ensure(['000000', '440000']);
    const after = ks.rotate('440000');
    expect(after.generation).toBe(2);
    expect(after.publicKey).not.toBe(before.get('440000')!.publicKey);
    expect(ks.all().get('000000')).toEqual(before.get('000000'));
    store.close();
  });

  it('WHEN a public key is imported THEN the node holds no private key; a bad one is refused and nothing changes', () => {
    const store = StateStore.open(join(dir, 'c'));
    const ks = new KeyStore(store);
    const pub = generateKeyPair().publicKey;
    expect(ks.importPublic('440100', pub)).toMatchObject({ node: '440100', publicKey: pub, generation: 1 });
    expect(ks.all().get('440100')!.privateKey).toBeUndefined();
    expect(() => ks.importPublic('440100', 'xyz=')).toThrow('public key for node 440100: "xyz=" is not a WireGuard key');
    expect(ks.all().get('440100')!.publicKey).toBe(pub);
    store.close();
  });
});
