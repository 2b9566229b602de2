import { spawnSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';
import { InputError } from '../../lib/errors.js';
import { KEY_PROTECTION, keyProtection, SoftwareKeyBackend } from '../keys.js';

const PASS = 'correct horse battery staple';
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));
function dir(): string {
  const t = tempDir('jinbao-keys-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** OpenSSL, the independent reader: exit code and the key's public half. */
function opensslPkey(file: string, passphrase: string): { status: number | null; pub: string } {
  const r = spawnSync('openssl', ['pkey', '-in', file, '-passin', 'env:KEYPASS', '-pubout'], { encoding: 'utf8', env: { ...process.env, KEYPASS: passphrase } });
  return { status: r.status, pub: r.stdout };
}

describe('CA keys at rest', () => {
  it('GIVEN a new CA key THEN it is PBKDF2-HMAC-SHA256 at 600,000 iterations with AES-256-CBC, and OpenSSL reads it with the passphrase only', async () => {
    const d = dir();
    const backend = new SoftwareKeyBackend(d);
    const { ref, signer } = await backend.generate('ecdsa-p256', 'root-ca', PASS);
    const pem = readFileSync(join(d, ref), 'utf8');
    expect(keyProtection(pem)).toEqual({ kdf: 'PBKDF2-HMAC-SHA256', iterations: 600_000, current: true });
    const parsed = spawnSync('openssl', ['asn1parse', '-in', join(d, ref)], { encoding: 'utf8' }).stdout;
    expect(parsed).toMatch(/:PBKDF2\n[\s\S]*INTEGER\s+:0927C0\n[\s\S]*:hmacWithSHA256\n[\s\S]*:aes-256-cbc/);
    const ok = opensslPkey(join(d, ref), PASS);
    expect(ok.status).toBe(0);
    expect(createPublicKey(ok.pub).export({ type: 'spki', format: 'der' })).toEqual(Buffer.from(signer.spkiDer));
    expect(opensslPkey(join(d, ref), 'not the passphrase').status).not.toBe(0);
    const reopened = await backend.open(ref, 'ecdsa-p256', PASS);
    expect(Buffer.from(reopened.spkiDer)).toEqual(Buffer.from(signer.spkiDer));
    expect(KEY_PROTECTION).toEqual({ kdf: 'PBKDF2-HMAC-SHA256', iterations: 600_000, cipher: 'AES-256-CBC' });
  });

  it('GIVEN a key an older jinbao wrote (2,048 iterations) WHEN it is unlocked THEN it signs, and its file is re-encrypted with the current protection under the same passphrase', async () => {
    const d = dir();
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const file = join(d, 'old-ca.key.pem');
    // What Node's own export wrote before: OpenSSL's default PBES2 parameters.
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: PASS }), { mode: 0o600 });
    const before = readFileSync(file, 'utf8');
    expect(keyProtection(before)).toEqual({ kdf: 'PBKDF2-HMAC-SHA256', iterations: 2048, current: false });
    const backend = new SoftwareKeyBackend(d);
    // A wrong passphrase changes nothing.
    await expect(backend.open('old-ca.key.pem', 'ecdsa-p256', 'wrong passphrase!')).rejects.toThrow(InputError);
    await expect(backend.open('old-ca.key.pem', 'ecdsa-p256', 'wrong passphrase!')).rejects.toThrow(/^wrong passphrase for the CA key .*old-ca\.key\.pem: got a passphrase that does not decrypt it/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    const signer = await backend.open('old-ca.key.pem', 'ecdsa-p256', PASS);
    const data = Buffer.from('tbsCertificate');
    expect(verify('sha256', data, publicKey, Buffer.from(await signer.sign(data)))).toBe(true);
    const after = readFileSync(file, 'utf8');
    expect(keyProtection(after)).toEqual({ kdf: 'PBKDF2-HMAC-SHA256', iterations: 600_000, current: true });
    expect(opensslPkey(file, PASS).status).toBe(0);
    expect(createPublicKey(opensslPkey(file, PASS).pub).export({ type: 'spki', format: 'pem' })).toBe(publicKey.export({ type: 'spki', format: 'pem' }));
    // Unlocked again, a current file is left as it is.
    await backend.open('old-ca.key.pem', 'ecdsa-p256', PASS);
    expect(readFileSync(file, 'utf8')).toBe(after);
  });

  it('GIVEN a key this process already unlocked THEN it opens again, a wrong passphrase is still refused, and a replaced file is read again', async () => {
    const d = dir();
    const backend = new SoftwareKeyBackend(d);
    const { ref, signer } = await backend.generate('ecdsa-p256', 'cached-ca', PASS);
    await backend.open(ref, 'ecdsa-p256', PASS);
    expect(Buffer.from((await backend.open(ref, 'ecdsa-p256', PASS)).spkiDer)).toEqual(Buffer.from(signer.spkiDer));
    await expect(backend.open(ref, 'ecdsa-p256', `${PASS}!`)).rejects.toThrow(/^wrong passphrase for the CA key/);
    const elsewhere = dir();
    const other = await new SoftwareKeyBackend(elsewhere).generate('ecdsa-p256', 'cached-ca', PASS);
    writeFileSync(join(d, ref), readFileSync(join(elsewhere, other.ref), 'utf8'));
    expect(Buffer.from((await backend.open(ref, 'ecdsa-p256', PASS)).spkiDer)).toEqual(Buffer.from(other.signer.spkiDer));
  });

  it('GIVEN an SM2 CA key THEN it gets the same protection and OpenSSL reads it', async () => {
    const d = dir();
    const { ref } = await new SoftwareKeyBackend(d).generate('sm2', 'sm2-ca', PASS);
    expect(keyProtection(readFileSync(join(d, ref), 'utf8')).current).toBe(true);
    expect(opensslPkey(join(d, ref), PASS).status).toBe(0);
  });
});
