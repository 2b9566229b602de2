/**
 * tls-alpn-01 (RFC 8737) against a TLS responder in the test: node's TLS server offers ALPN
 * acme-tls/1 and, for the SNI name asked, a self-signed certificate built with @peculiar/x509
 * (certbot has no tls-alpn-01 plugin). A complete order succeeds through the service; each way a
 * validation certificate can be wrong is refused incorrectResponse.
 */
import { createHash, webcrypto } from 'node:crypto';
import { createServer as tcpServer } from 'node:net';
import { createSecureContext, createServer } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { p256Csr } from '../../pki/acme/client.js';
import { AcmeProblem, NetworkValidator } from '../../pki/acme/index.js';
import { ACME_IDENTIFIER_OID } from '../../pki/acme/validation.js';
import { startFixture, type Fixture } from './fixture.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const NAME = 'app.s440100.jinbao.internal';

interface Answer {
  readonly keyAuthorization: string;
  readonly sans?: readonly string[];
  readonly critical?: boolean;
  readonly digest?: Buffer;
  readonly omitExtension?: boolean;
}

/** A validation certificate for `name`, self-signed, shaped as `a` says (RFC 8737 §3 unless told otherwise). */
async function validationCertificate(name: string, a: Answer): Promise<{ cert: string; key: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const digest = a.digest ?? createHash('sha256').update(a.keyAuthorization).digest();
  const extensions: x509.Extension[] = [new x509.SubjectAlternativeNameExtension((a.sans ?? [name]).map((value) => ({ type: 'dns' as const, value })))];
  if (!a.omitExtension) extensions.push(new x509.Extension(ACME_IDENTIFIER_OID, a.critical ?? true, Buffer.concat([Buffer.from([0x04, digest.length]), digest])));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: `CN=${name}`, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), keys, signingAlgorithm: ALG, extensions });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n` };
}

/** The responder: per SNI name the answer set by the test; `alpn: false` offers no ALPN at all. */
async function responder(): Promise<{ port: number; answers: Map<string, { cert: string; key: string }>; setAlpn(on: boolean): void; close(): Promise<void> }> {
  const answers = new Map<string, { cert: string; key: string }>();
  let alpn = true;
  const make = (offer: boolean) =>
    createServer({
      ...(offer ? { ALPNProtocols: ['acme-tls/1'] } : {}),
      SNICallback: (servername, done) => {
        const a = answers.get(servername);
        done(a ? null : new Error(`no answer for ${servername}`), a ? createSecureContext({ cert: a.cert, key: a.key }) : undefined);
      },
    });
  const withAlpn = make(true);
  const withoutAlpn = make(false);
  // One port: connections go to the server that offers ALPN or to the one that does not.
  const front = tcpServer((socket) => (alpn ? withAlpn : withoutAlpn).emit('connection', socket));
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  return {
    port: (front.address() as { port: number }).port,
    answers,
    setAlpn: (on) => (alpn = on),
    close: () => new Promise((r) => front.close(() => r())),
  };
}

describe('tls-alpn-01', () => {
  let f: Fixture;
  let tls: Awaited<ReturnType<typeof responder>>;

  beforeAll(async () => {
    tls = await responder();
    f = await startFixture({ acmeTlsPort: tls.port });
  });
  afterAll(async () => {
    await f?.close();
    await tls?.close();
  });

  it('GIVEN an order WHEN the client answers tls-alpn-01 with a certificate carrying the acmeIdentifier THEN the authorization is valid and the order is finalized', async () => {
    const c = await f.account('440100');
    const order = await c.newOrder([NAME]);
    const authz = await c.getJson<{ challenges: { type: string; url: string; token: string }[] }>(order.authorizations[0]!);
    expect(authz.challenges.map((ch) => ch.type).sort()).toEqual(['dns-01', 'http-01', 'tls-alpn-01']);
    const ch = authz.challenges.find((x) => x.type === 'tls-alpn-01')!;
    tls.answers.set(NAME, await validationCertificate(NAME, { keyAuthorization: c.keyAuthorization(ch.token) }));
    await c.postOk(ch.url, {});
    const ready = await c.pollOrder(order.url, (s) => s !== 'pending');
    expect(ready.status).toBe('ready');
    const fin = await c.finalize(ready, p256Csr([NAME]).der);
    expect(fin.status, fin.body.toString()).toBe(200);
  });

  it('GIVEN an order WHEN the responder\'s certificate holds the wrong digest THEN the challenge is invalid with incorrectResponse naming both digests', async () => {
    const c = await f.account('440100');
    const order = await c.newOrder(['api.s440100.jinbao.internal']);
    const authz = await c.getJson<{ challenges: { type: string; url: string; token: string }[] }>(order.authorizations[0]!);
    const ch = authz.challenges.find((x) => x.type === 'tls-alpn-01')!;
    tls.answers.set('api.s440100.jinbao.internal', await validationCertificate('api.s440100.jinbao.internal', { keyAuthorization: `${ch.token}.someone-else` }));
    await c.postOk(ch.url, {});
    const done = await c.pollOrder(order.url, (s) => s !== 'pending');
    expect(done.status).toBe('invalid');
    const after = await c.getJson<{ challenges: { type: string; error?: { type: string; detail: string } }[] }>(order.authorizations[0]!);
    const error = after.challenges.find((x) => x.type === 'tls-alpn-01')!.error!;
    expect(error.type).toBe('urn:ietf:params:acme:error:incorrectResponse');
    expect(error.detail).toContain(createHash('sha256').update(c.keyAuthorization(ch.token)).digest('hex'));
  });

  describe('the validator on its own', () => {
    const keyAuthorization = 'token.thumbprint';
    const check = { type: 'tls-alpn-01' as const, name: NAME, token: 'token', keyAuthorization };
    const validator = () => new NetworkValidator({ hosts: new Map([[NAME, '127.0.0.1']]), tlsPort: tls.port, timeoutMs: 5000 });
    async function refusal(a: Answer | undefined, opts: { alpn?: boolean } = {}): Promise<AcmeProblem> {
      if (a) tls.answers.set(NAME, await validationCertificate(NAME, a));
      tls.setAlpn(opts.alpn ?? true);
      try {
        await validator().validate(check);
      } catch (err) {
        return err as AcmeProblem;
      } finally {
        tls.setAlpn(true);
      }
      throw new Error('validation passed');
    }

    it('accepts the certificate RFC 8737 describes', async () => {
      tls.answers.set(NAME, await validationCertificate(NAME, { keyAuthorization }));
      await expect(validator().validate(check)).resolves.toBeUndefined();
    });

    it('refuses a server that does not negotiate acme-tls/1', async () => {
      const p = await refusal({ keyAuthorization }, { alpn: false });
      expect(p.type).toBe('incorrectResponse');
      expect(p.message).toMatch(/got ALPN "none", want "acme-tls\/1"/);
    });

    it('refuses a non-critical acmeIdentifier', async () => {
      const p = await refusal({ keyAuthorization, critical: false });
      expect(p.type).toBe('incorrectResponse');
      expect(p.message).toContain('acmeIdentifier extension is not critical, want critical');
    });

    it('refuses a certificate without the acmeIdentifier', async () => {
      const p = await refusal({ keyAuthorization, omitExtension: true });
      expect(p.message).toContain('certificate has no acmeIdentifier extension (1.3.6.1.5.5.7.1.31)');
    });

    it('refuses a subjectAltName with another name beside the identifier', async () => {
      const p = await refusal({ keyAuthorization, sans: [NAME, 'other.s440100.jinbao.internal'] });
      expect(p.type).toBe('incorrectResponse');
      expect(p.message).toContain(`want exactly DNS:${NAME}`);
    });

    it('refuses a subjectAltName naming another host', async () => {
      const p = await refusal({ keyAuthorization, sans: ['other.s440100.jinbao.internal'] });
      expect(p.message).toContain('got "DNS:other.s440100.jinbao.internal"');
    });

    it('gives connection when nothing listens', async () => {
      const v = new NetworkValidator({ hosts: new Map([[NAME, '127.0.0.1']]), tlsPort: 1, timeoutMs: 2000 });
      const p = await v.validate(check).then(() => undefined, (e: unknown) => e as AcmeProblem);
      expect(p?.type).toBe('connection');
      expect(p?.message).toContain('ECONNREFUSED');
    });
  });
});
