import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sm2 } from 'sm-crypto-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../testkit/index.js';
import { loadFabric } from '../../../fabric/index.js';
import { openDatabase, type Database } from '../../../lib/sql/index.js';
import { initHierarchy, Issuer, openCaSigner, PkiStore, SM2_DEFAULT_ID, type Issued } from '../../index.js';
import { caInfo } from '../ca-info.js';
import { children, readTlv } from '../der.js';
import { CrlLedger, publishCrl, type PublishedCrlFile } from '../index.js';
import { hasOpenssl, openssl } from './openssl.js';

const PASS = 'correct horse battery staple';

/**
 * SM2 hierarchy: the CRL is signed with SM3-with-SM2 and the explicit distinguishing ID. OpenSSL 3.0
 * parses it, but its crl / verify commands cannot be given a distinguishing ID for a CRL signature
 * (-vfyopt reaches only the leaf certificate), so the signature is checked with sm-crypto-v2.
 */
describe('an SM2 CA', () => {
  let dir: string;
  let cleanup: () => void;
  let state: Database;
  let crl: PublishedCrlFile;
  let revoked: Issued;
  let caDer: Uint8Array;

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('jinbao-sm2-crl-'));
    state = await openDatabase(dir);
    const pki = await PkiStore.open(state, dir);
    await initHierarchy(pki, { algorithm: 'sm2', passphrase: PASS });
    revoked = await new Issuer(pki, loadFabric(), PASS).issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=a.440100.jinbao.internal' }, dns: ['a.440100.jinbao.internal'] });
    await pki.markRevoked(revoked.record.serial, 'keyCompromise');
    const signer = await openCaSigner(pki, 'infrastructure', PASS);
    caDer = signer.certificateDer;
    crl = await publishCrl({ ledger: await CrlLedger.open(state), registry: pki, signer });
  });
  afterAll(async () => {
    await state.close();
    cleanup();
  });

  it.skipIf(!hasOpenssl)('GIVEN a revocation WHEN its CRL is cut THEN openssl reads an SM2-with-SM3 CRL listing the serial', () => {
    const file = join(dir, 'sm2.crl');
    writeFileSync(file, crl.der);
    const r = openssl(['crl', '-inform', 'DER', '-in', file, '-noout', '-text']);
    expect(r.status).toBe(0);
    expect(r.out).toContain('Signature Algorithm: SM2-with-SM3');
    expect(r.out).toContain(`Serial Number: ${revoked.record.serial.toUpperCase()}`);
  });

  it('GIVEN the CRL THEN its signature verifies under the CA key with the explicit distinguishing ID, and not without it', () => {
    const [tbs, , sig] = children(crl.der, readTlv(crl.der, 0));
    const tbsBytes = crl.der.subarray(tbs!.start, tbs!.end);
    const signature = crl.der.subarray(sig!.contentStart + 1, sig!.end).toString('hex');
    const publicKey = caInfo(caDer).publicKey.toString('hex');
    expect(sm2.doVerifySignature(tbsBytes, signature, publicKey, { der: true, hash: true, userId: SM2_DEFAULT_ID })).toBe(true);
    expect(sm2.doVerifySignature(tbsBytes, signature, publicKey, { der: true, hash: true, userId: 'another-id' })).toBe(false);
  });
});
