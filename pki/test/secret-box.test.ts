import { createCipheriv, randomBytes, scryptSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { validateInventory } from '../../fabric/index.js';
import { SqliteDatabase } from '../../lib/sql/index.js';
import { smallInventory, tempDir } from '../../testkit/index.js';
import { createEabKey, usableEabKey } from '../acme/eab.js';
import { AcmeStore } from '../acme/store.js';
import { CMP_SECRET_KEYRING } from '../cmp/secrets.js';
import { SECRET_BOX_KDF, SecretKeyring } from '../secret-box.js';

const PASS = 'correct horse battery staple';
const { dir, cleanup } = tempDir('jinbao-secret-box-');
afterAll(cleanup);

describe('secrets sealed under the CA passphrase', () => {
  it('GIVEN a sealed secret WHEN opened under the same passphrase and name THEN it comes back, and under another passphrase, name or an altered row it does not', async () => {
    const ring = await SecretKeyring.open(PASS, CMP_SECRET_KEYRING);
    const sealed = ring.seal('440100-abc', Buffer.from('s3cret'));
    expect(ring.open('440100-abc', sealed)?.toString()).toBe('s3cret');
    expect(ring.open('440100-abd', sealed)).toBeUndefined();
    expect((await SecretKeyring.open('another passphrase', CMP_SECRET_KEYRING)).open('440100-abc', sealed)).toBeUndefined();
    expect((await SecretKeyring.open(PASS, { kdfSalt: 'other purpose', info: 'x' })).open('440100-abc', sealed)).toBeUndefined();
    const altered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext).fill(0, 0, 1) };
    expect(ring.open('440100-abc', altered)).toBeUndefined();
    // a fresh salt and iv each time: the same secret never seals to the same bytes
    expect(Buffer.from(ring.seal('440100-abc', Buffer.from('s3cret')).ciphertext).equals(Buffer.from(sealed.ciphertext))).toBe(false);
  });

  it('GIVEN an EAB key sealed the way earlier versions did (scrypt over its own salt) WHEN it is used THEN it still opens; a new key opens under the keyring', async () => {
    const db = await SqliteDatabase.open(`${dir}/state.db`);
    const store = await AcmeStore.open(db);
    const fabric = validateInventory(smallInventory(), 'small').fabric!;
    const fresh = await createEabKey(store, fabric, PASS, { site: '440100' });
    expect((await usableEabKey(store, PASS, fresh.kid))?.key.toString('base64url')).toBe(fresh.hmacKey);
    expect(await usableEabKey(store, 'wrong passphrase', fresh.kid)).toBeUndefined();

    const kid = 'eab-440100-legacy';
    const key = randomBytes(32);
    const salt = randomBytes(16);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', scryptSync(PASS, salt, 32, SECRET_BOX_KDF), iv);
    cipher.setAAD(Buffer.from(kid));
    const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
    const now = new Date();
    await store.insertEabKey({ kid, site: '440100', application: null, salt, iv, ciphertext, tag: cipher.getAuthTag(), created_at: now.toISOString(), expires_at: new Date(now.getTime() + 86_400_000).toISOString(), account_id: null });
    expect((await usableEabKey(store, PASS, kid))?.key.equals(key)).toBe(true);
    expect(await usableEabKey(store, 'wrong passphrase', kid)).toBeUndefined();
    await db.close();
  });
});
