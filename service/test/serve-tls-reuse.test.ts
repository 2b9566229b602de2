/**
 * The service's own TLS certificate survives restarts: a start reuses the one an earlier start
 * issued for the same site and names while over a third of its life is left and it is not
 * revoked; its key is kept in the state encrypted under the CA passphrase, never in clear.
 */
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeSerial } from '../../pki/index.js';
import { freePort } from '../../testkit/index.js';
import { startServe } from '../index.js';
import { PASS, startFixture, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => {
  await f?.close();
});

function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: f.rootPem, servername: 'localhost' }, () => {
      resolve(normalizeSerial(s.getPeerX509Certificate()!.serialNumber));
      s.end();
    });
    s.on('error', reject);
  });
}

const ministry = () => f.ctx.fabric().sites.find((s) => s.tier === 'ministry')!.id;

describe('the service\'s own TLS certificate', () => {
  it('GIVEN a first start that issued it WHEN the service starts again on the same state THEN it serves the same certificate and issues none', async () => {
    expect(f.running.tlsReused).toBe(false);
    const before = await f.certificates();
    const port = await freePort();
    const again = await startServe(f.ctx, { host: '127.0.0.1', port, passphrase: PASS, log: () => undefined, publicUrl: f.running.publicUrl });
    try {
      expect(again.tlsReused).toBe(true);
      expect(again.tlsSerial).toBe(f.running.tlsSerial);
      expect(await servedSerial(port)).toBe(f.running.tlsSerial);
      expect(await f.certificates()).toBe(before);
    } finally {
      await again.close(1000);
    }
  });

  it('keeps the key encrypted (PKCS#8 under the CA passphrase), never in clear', async () => {
    const db = await f.ctx.database();
    const rows = await db.query<{ serial: string; key_pem: string }>('SELECT serial, key_pem FROM service_tls_keys');
    expect(rows.map((r) => r.serial)).toContain(f.running.tlsSerial);
    for (const r of rows) {
      expect(r.key_pem).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
      expect(r.key_pem).not.toContain('-----BEGIN PRIVATE KEY-----');
    }
  });

  it('GIVEN the certificate has a third of its life or less left WHEN the service starts THEN it issues a new one', async () => {
    const cert = new X509Certificate(Buffer.from((await f.running.pki.certificate(f.running.tlsSerial!))!.der));
    const nb = Date.parse(cert.validFrom);
    const life = Date.parse(cert.validTo) - nb;
    const early = await f.running.pki.serviceTls({ site: ministry(), dns: ['localhost'], ip: ['127.0.0.1'], actor: 'test', now: new Date(nb + life * 0.6) });
    expect(early).toMatchObject({ reused: true, serial: f.running.tlsSerial });
    const late = await f.running.pki.serviceTls({ site: ministry(), dns: ['localhost'], ip: ['127.0.0.1'], actor: 'test', now: new Date(nb + life * 0.7) });
    expect(late.reused).toBe(false);
    expect(late.serial).not.toBe(f.running.tlsSerial);
  });

  it('GIVEN other names, or the certificate revoked WHEN the service starts THEN it issues a new one', async () => {
    const site = ministry();
    const other = await f.running.pki.serviceTls({ site, dns: ['pki.jinbao.internal'], ip: [], actor: 'test' });
    expect(other.reused).toBe(false);
    expect((await f.running.pki.serviceTls({ site, dns: ['pki.jinbao.internal'], ip: [], actor: 'test' })).serial).toBe(other.serial);
    await f.running.pki.revoke(other.serial, 'superseded', 'test');
    const next = await f.running.pki.serviceTls({ site, dns: ['pki.jinbao.internal'], ip: [], actor: 'test' });
    expect(next.reused).toBe(false);
    expect(next.serial).not.toBe(other.serial);
  });
});
