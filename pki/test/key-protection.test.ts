import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';
import { InputError } from '../../lib/errors.js';
import { openDatabase } from '../../lib/sql/index.js';
import { KEY_PROTECTION, keyProtection, SoftwareKeyBackend, type KeyBlobs } from '../keys.js';
import { PkiStore } from '../store.js';

const PASS = 'correct horse battery staple';
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));
function dir(): string {
  const t = tempDir('jinbao-keys-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** Key blobs in memory, as the store's pki_keys table holds them. */
class MemoryBlobs implements KeyBlobs {
  readonly where = 'a test store';
  readonly pems = new Map<string, string>();
  async keyPem(ref: string) {
    return this.pems.get(ref);
  }
  async insertKey(ref: string, pem: string) {
    if (this.pems.has(ref)) return false;
    this.pems.set(ref, pem);
    return true;
  }
  async replaceKey(ref: string, previous: string, pem: string) {
    if (this.pems.get(ref) === previous) this.pems.set(ref, pem);
  }
}

/** The PEM as a file, for OpenSSL. */
function pemFile(pem: string): string {
  const file = join(dir(), 'key.pem');
  writeFileSync(file, pem, { mode: 0o600 });
  return file;
}

/** OpenSSL, the independent reader: exit code and the key's public half. */
function opensslPkey(file: string, passphrase: string): { status: number | null; pub: string } {
  const r = spawnSync('openssl', ['pkey', '-in', file, '-passin', 'env:KEYPASS', '-pubout'], { encoding: 'utf8', env: { ...process.env, KEYPASS: passphrase } });
  return { status: r.status, pub: r.stdout };
}

describe('CA keys at rest', () => {
  it('GIVEN a new CA key THEN it is PBKDF2-HMAC-SHA256 at 600,000 iterations with AES-256-CBC, and OpenSSL reads it with the passphrase only', async () => {
    const blobs = new MemoryBlobs();
    const backend = new SoftwareKeyBackend(blobs);
    const { ref, signer } = await backend.generate('ecdsa-p256', 'root-ca', PASS);
    const pem = blobs.pems.get(ref)!;
    expect(keyProtection(pem)).toEqual({ kdf: 'PBKDF2-HMAC-SHA256', iterations: 600_000, current: true });
    const file = pemFile(pem);
    const parsed = spawnSync('openssl', ['asn1parse', '-in', file], { encoding: 'utf8' }).stdout;
    expect(parsed).toMatch(/:PBKDF2\n[\s\S]*INTEGER\s+:0927C0\n[\s\S]*:hmacWithSHA256\n[\s\S]*:aes-256-cbc/);
    const ok = opensslPkey(file, PASS);
    expect(ok.status).toBe(0);
    expect(createPublicKey(ok.pub).export({ type: 'spki', format: 'der' })).toEqual(Buffer.from(signer.spkiDer));
    expect(opensslPkey(file, 'not the passphrase').status).not.toBe(0);
    const reopened = await backend.open(ref, 'ecdsa-p256', PASS);
    expect(Buffer.from(reopened.spkiDer)).toEqual(Buffer.from(signer.spkiDer));
    expect(KEY_PROTECTION).toEqual({ kdf: 'PBKDF2-HMAC-SHA256', iterations: 600_000, cipher: 'AES-256-CBC' });
    await expect(backend.generate('ecdsa-p256', 'root-ca', PASS)).rejects.toThrow('a key "root-ca.key.pem" already exists in a test store; refusing to overwrite it');
  });

  it('GIVEN a key an older jinbao wrote (2,048 iterations) WHEN it is unlocked THEN it signs, and it is re-encrypted with the current protection under the same passphrase', async () => {
    const blobs = new MemoryBlobs();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // What Node's own export wrote before: OpenSSL's default PBES2 parameters.
    const before = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }) as string;
    blobs.pems.set('old-ca.key.pem', before);
    expect(keyProtection(before)).toEqual({ kdf: 'PBKDF2-HMAC-SHA256', iterations: 2048, current: false });
    const backend = new SoftwareKeyBackend(blobs);
    // A wrong passphrase changes nothing.
    await expect(backend.open('old-ca.key.pem', 'ecdsa-p256', 'wrong passphrase!')).rejects.toThrow(InputError);
    await expect(backend.open('old-ca.key.pem', 'ecdsa-p256', 'wrong passphrase!')).rejects.toThrow(/^wrong passphrase for the CA key "old-ca\.key\.pem" in a test store: got a passphrase that does not decrypt it/);
    expect(blobs.pems.get('old-ca.key.pem')).toBe(before);
    const signer = await backend.open('old-ca.key.pem', 'ecdsa-p256', PASS);
    const data = Buffer.from('tbsCertificate');
    expect(verify('sha256', data, publicKey, Buffer.from(await signer.sign(data)))).toBe(true);
    const after = blobs.pems.get('old-ca.key.pem')!;
    expect(keyProtection(after)).toEqual({ kdf: 'PBKDF2-HMAC-SHA256', iterations: 600_000, current: true });
    expect(opensslPkey(pemFile(after), PASS).status).toBe(0);
    expect(createPublicKey(opensslPkey(pemFile(after), PASS).pub).export({ type: 'spki', format: 'pem' })).toBe(publicKey.export({ type: 'spki', format: 'pem' }));
    // Unlocked again, a current key is left as it is.
    await backend.open('old-ca.key.pem', 'ecdsa-p256', PASS);
    expect(blobs.pems.get('old-ca.key.pem')).toBe(after);
  });

  it('GIVEN a key this process already unlocked THEN it opens again, a wrong passphrase is still refused, and a replaced key is read again', async () => {
    const blobs = new MemoryBlobs();
    const backend = new SoftwareKeyBackend(blobs);
    const { ref, signer } = await backend.generate('ecdsa-p256', 'cached-ca', PASS);
    await backend.open(ref, 'ecdsa-p256', PASS);
    expect(Buffer.from((await backend.open(ref, 'ecdsa-p256', PASS)).spkiDer)).toEqual(Buffer.from(signer.spkiDer));
    await expect(backend.open(ref, 'ecdsa-p256', `${PASS}!`)).rejects.toThrow(/^wrong passphrase for the CA key/);
    const elsewhere = new MemoryBlobs();
    const other = await new SoftwareKeyBackend(elsewhere).generate('ecdsa-p256', 'cached-ca', PASS);
    blobs.pems.set(ref, elsewhere.pems.get(other.ref)!);
    expect(Buffer.from((await backend.open(ref, 'ecdsa-p256', PASS)).spkiDer)).toEqual(Buffer.from(other.signer.spkiDer));
  });

  it('GIVEN an SM2 CA key THEN it gets the same protection and OpenSSL reads it', async () => {
    const blobs = new MemoryBlobs();
    const { ref } = await new SoftwareKeyBackend(blobs).generate('sm2', 'sm2-ca', PASS);
    expect(keyProtection(blobs.pems.get(ref)!).current).toBe(true);
    expect(opensslPkey(pemFile(blobs.pems.get(ref)!), PASS).status).toBe(0);
  });

  it('GIVEN key files and a demo passphrase file an older jinbao left in <state>/pki WHEN the SQLite store is opened THEN they are imported once, unchanged, and the files stay', async () => {
    const state = dir();
    const keys = join(state, 'pki', 'keys');
    mkdirSync(keys, { recursive: true });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const old = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }) as string;
    writeFileSync(join(keys, 'root.key.pem'), old, { mode: 0o600 });
    writeFileSync(join(keys, 'notes.txt'), 'not a key');
    writeFileSync(join(state, 'pki', 'DEMO-PASSPHRASE'), 'demo-secret\n', { mode: 0o600 });
    const db = await openDatabase(state);
    try {
      const pki = await PkiStore.open(db, state);
      expect(await pki.keyPem('root.key.pem')).toBe(old);
      expect(await pki.keyPem('notes.txt')).toBeUndefined();
      expect(await pki.setting('demo-passphrase')).toBe('demo-secret');
      await new SoftwareKeyBackend(pki).open('root.key.pem', 'ecdsa-p256', PASS);
      // Upgraded in the store; opening again does not bring the old file back.
      const upgraded = (await pki.keyPem('root.key.pem'))!;
      expect(keyProtection(upgraded).current).toBe(true);
      await PkiStore.open(db, state);
      expect(await pki.keyPem('root.key.pem')).toBe(upgraded);
      expect(readFileSync(join(keys, 'root.key.pem'), 'utf8')).toBe(old);
    } finally {
      await db.close();
    }
  });
});
