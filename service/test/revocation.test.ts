import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64url } from '../../pki/acme/jws.js';
import { p256Csr, type AcmeClient } from '../../pki/acme/client.js';
import { cutCrl } from '../../pki/revocation/index.js';
import { PASS, startFixture, type Fixture } from './fixture.js';

let f: Fixture;
let client: AcmeClient;
const files = (name: string) => join(f.dir, name);

beforeAll(async () => {
  f = await startFixture({ httpListen: true });
  client = await f.account('440100');
});
afterAll(async () => {
  await f?.close();
});

/** openssl, asynchronously: the service under test runs in this process and must keep answering. */
function openssl(args: string[], input?: Buffer): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { encoding: 'buffer' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: Buffer.concat([stdout, stderr]).toString('utf8') }),
    );
    if (input) child.stdin!.end(input);
  });
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A plain-HTTP request, as a relying party without TLS makes it. */
function plain(method: string, url: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pemOf = (label: string, der: Buffer) => `-----BEGIN ${label}-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;

/** The CRL distribution point and OCSP URL a certificate names (as OpenSSL reads them). */
async function urlsIn(pemFile: string): Promise<{ crl: string; ocsp: string }> {
  const cdp = await openssl(['x509', '-in', pemFile, '-noout', '-ext', 'crlDistributionPoints']);
  const ocsp = await openssl(['x509', '-in', pemFile, '-noout', '-ocsp_uri']);
  return { crl: /URI:(\S+)/.exec(cdp.out)?.[1] ?? '', ocsp: ocsp.out.trim() };
}

/** An ACME certificate for `names`, written as leaf.pem / inter.pem / root.pem under `stem`. */
async function obtain(stem: string, names: string[]): Promise<{ leaf: string; inter: string; root: string; serial: string; der: Buffer }> {
  const order = await client.newOrder(names);
  const ready = await client.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
  const fin = await client.finalize(ready, p256Csr(names, { noCommonName: true }).der);
  expect(fin.status, fin.body.toString()).toBe(200);
  const done = await client.pollOrder(order.url, (s) => s === 'valid' || s === 'invalid');
  const chain = await client.certificate(done.certificate!);
  const end = chain.indexOf('-----END CERTIFICATE-----') + 26;
  const out = { leaf: files(`${stem}-leaf.pem`), inter: files(`${stem}-inter.pem`), root: files('root.pem') };
  writeFileSync(out.leaf, chain.slice(0, end));
  writeFileSync(out.inter, `${chain.slice(end).trim()}\n`);
  writeFileSync(out.root, f.rootPem);
  const x = new X509Certificate(chain.slice(0, end));
  return { ...out, serial: x.serialNumber, der: Buffer.from(x.raw) };
}

describe('jinbao serve: revocation data over plain HTTP at the URLs certificates name', () => {
  it('GIVEN --http-listen WHEN a relying party asks over plain HTTP THEN CRLs, OCSP and CA certificates answer and nothing else does', async () => {
    const base = f.running.service.httpUrl!;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(f.running.revocationUrl).toBe(base);
    expect((await plain('GET', `${base}/crl/root.crl`)).status).toBe(200);
    expect(new X509Certificate((await plain('GET', `${base}/ca/infrastructure.crt`)).body).subject).toContain('Infrastructure');
    for (const path of ['/acme/directory', '/acme/new-nonce', '/healthz', '/readyz', '/metrics', '/']) {
      const a = await plain('GET', `${base}${path}`);
      expect(a.status, path).toBe(404);
      expect(a.body.toString()).toContain('serves /crl/, /ocsp and /ca/ only');
    }
    // The HTTPS listener still serves everything.
    expect((await client.http('GET', `${f.running.publicUrl}/crl/root.crl`)).status).toBe(200);
    expect((await client.http('GET', `${f.running.publicUrl}/acme/directory`)).status).toBe(200);
  });

  it('GIVEN an ACME certificate THEN it and its issuing CA name per-CA CRL and OCSP URLs on the plain-HTTP listener, and OpenSSL checks the whole chain from what those URLs serve', async () => {
    const c = await obtain('good', ['app.s440100.jinbao.internal']);
    const base = f.running.service.httpUrl!;
    const leafUrls = await urlsIn(c.leaf);
    const interUrls = await urlsIn(c.inter);
    // The leaf names the CRL partition it was issued into; the issuing CA the root's one CRL.
    expect(leafUrls).toEqual({ crl: `${base}/crl/infrastructure/0.crl`, ocsp: `${base}/ocsp/infrastructure` });
    expect(interUrls).toEqual({ crl: `${base}/crl/root.crl`, ocsp: `${base}/ocsp/root` });
    expect(new X509Certificate(await (await import('node:fs/promises')).readFile(c.inter)).infoAccess).toContain(`CA Issuers - URI:${base}/ca/root.crt`);

    writeFileSync(files('leaf-crl.pem'), pemOf('X509 CRL', (await plain('GET', leafUrls.crl)).body));
    writeFileSync(files('inter-crl.pem'), pemOf('X509 CRL', (await plain('GET', interUrls.crl)).body));
    const v = await openssl(['verify', '-crl_check_all', '-CAfile', c.root, '-untrusted', c.inter, '-CRLfile', files('leaf-crl.pem'), '-CRLfile', files('inter-crl.pem'), c.leaf]);
    expect(v.out).toContain(': OK');
    expect(v.code).toBe(0);

    const leafOcsp = await openssl(['ocsp', '-issuer', c.inter, '-cert', c.leaf, '-url', leafUrls.ocsp, '-CAfile', c.root, '-verify_other', c.inter]);
    expect(leafOcsp.out).toContain('Response verify OK');
    expect(leafOcsp.out).toMatch(/leaf\.pem: good/);
    const interOcsp = await openssl(['ocsp', '-issuer', c.root, '-cert', c.inter, '-url', interUrls.ocsp, '-CAfile', c.root]);
    expect(interOcsp.out).toContain('Response verify OK');
    expect(interOcsp.out).toMatch(/inter\.pem: good/);
    // A CA's URL answers for that CA only: the leaf asked at the root's URL is not the root's to answer.
    const wrong = await openssl(['ocsp', '-issuer', c.inter, '-cert', c.leaf, '-url', interUrls.ocsp, '-CAfile', c.root, '-verify_other', c.inter]);
    expect(wrong.out).toMatch(/unauthorized/i);
  });

  it('GIVEN a full CRL WHEN asked again with its ETag or Last-Modified THEN 304 without a body; after a revocation the delta CRL named by FreshestCRL lists it and OpenSSL refuses the certificate with -use_deltas', async () => {
    const base = f.running.service.httpUrl!;
    const c = await obtain('revoked', ['api.s440100.jinbao.internal']);
    const full = await plain('GET', `${base}/crl/infrastructure.crl`);
    expect(full.status).toBe(200);
    expect(full.headers['content-type']).toBe('application/pkix-crl');
    const etag = String(full.headers.etag);
    expect(etag).toMatch(/^"infrastructure-\d+"$/);
    const lastModified = String(full.headers['last-modified']);
    expect(Date.parse(lastModified)).toBeGreaterThan(Date.now() - 3_600_000);
    const byTag = await plain('GET', `${base}/crl/infrastructure.crl`, { 'if-none-match': etag });
    expect(byTag.status).toBe(304);
    expect(byTag.body).toHaveLength(0);
    expect(byTag.headers.etag).toBe(etag);
    expect((await plain('GET', `${base}/crl/infrastructure.crl`, { 'if-modified-since': lastModified })).status).toBe(304);
    expect((await plain('GET', `${base}/crl/infrastructure.crl`, { 'if-none-match': '"infrastructure-0"' })).status).toBe(200);
    expect((await plain('GET', `${base}/crl/infrastructure.crl`, { 'if-modified-since': new Date(Date.parse(lastModified) - 1000).toUTCString() })).status).toBe(200);

    writeFileSync(files('full.pem'), pemOf('X509 CRL', full.body));
    const fullText = await openssl(['crl', '-in', files('full.pem'), '-noout', '-text']);
    const fullNumber = Number(/X509v3 CRL Number: *\n\s*(\d+)/.exec(fullText.out)?.[1]);
    expect(etag).toBe(`"infrastructure-${fullNumber}"`);
    expect(fullText.out).toContain(`URI:${base}/crl/infrastructure-delta.crl`);

    const revokeUrl = (await client.dir()).revokeCert!;
    expect((await client.post(revokeUrl, { certificate: b64url(c.der), reason: 1 })).status).toBe(200);
    const delta = await plain('GET', `${base}/crl/infrastructure-delta.crl`);
    expect(delta.status).toBe(200);
    expect(String(delta.headers.etag)).toMatch(/^"infrastructure-\d+"$/);
    expect(delta.headers.etag).not.toBe(etag);
    writeFileSync(files('delta.pem'), pemOf('X509 CRL', delta.body));
    const deltaText = await openssl(['crl', '-in', files('delta.pem'), '-noout', '-text', '-CAfile', c.inter]);
    expect(deltaText.out).toContain('verify OK');
    expect(deltaText.out).toMatch(new RegExp(`X509v3 Delta CRL Indicator: critical\\s*\\n\\s*${fullNumber}\\b`));
    const deltaNumber = Number(/X509v3 CRL Number: *\n\s*(\d+)/.exec(deltaText.out)?.[1]);
    expect(deltaNumber).toBeGreaterThan(fullNumber);
    expect(deltaText.out).toContain(c.serial.replace(/^0+/, ''));
    expect(deltaText.out).toContain('Key Compromise');
    // Asked again without a revocation in between: the same delta, by ETag.
    expect((await plain('GET', `${base}/crl/infrastructure-delta.crl`, { 'if-none-match': String(delta.headers.etag) })).status).toBe(304);

    writeFileSync(files('root-crl.pem'), pemOf('X509 CRL', (await plain('GET', `${base}/crl/root.crl`)).body));
    const v = await openssl(['verify', '-crl_check_all', '-use_deltas', '-CAfile', c.root, '-untrusted', c.inter, '-CRLfile', files('full.pem'), '-CRLfile', files('delta.pem'), '-CRLfile', files('root-crl.pem'), c.leaf]);
    expect(v.out).toContain('certificate revoked');
    expect(v.code).not.toBe(0);
    const o = await openssl(['ocsp', '-issuer', c.inter, '-cert', c.leaf, '-url', `${base}/ocsp/infrastructure`, '-CAfile', c.root, '-verify_other', c.inter]);
    expect(o.out).toMatch(/: revoked/);
  });

  it('GIVEN a full CRL cut outside the service (pki crl) WHEN the delta is asked for THEN the full CRL and delta served belong together', async () => {
    const base = f.running.service.httpUrl!;
    const before = await plain('GET', `${base}/crl/root.crl`);
    const outside = await cutCrl({ pki: f.pki, caId: 'root', passphrase: PASS });
    expect(`"root-${outside.slot.number}"`).not.toBe(before.headers.etag);
    const delta = await plain('GET', `${base}/crl/root-delta.crl`);
    const full = await plain('GET', `${base}/crl/root.crl`);
    writeFileSync(files('root-delta.pem'), pemOf('X509 CRL', delta.body));
    const text = await openssl(['crl', '-in', files('root-delta.pem'), '-noout', '-text']);
    const fullNumber = /^"root-(\d+)"$/.exec(String(full.headers.etag))?.[1];
    expect(Number(fullNumber)).toBeGreaterThan(outside.slot.number);
    expect(text.out).toMatch(new RegExp(`X509v3 Delta CRL Indicator: critical\\s*\\n\\s*${fullNumber}\\b`));
  });

  it('GIVEN a certificate of partition 0 WHEN its partition CRL is fetched THEN it carries the critical IssuingDistributionPoint naming that URL, answers 304 by ETag and Last-Modified, and after a revocation its delta lists it and OpenSSL refuses the certificate', async () => {
    const base = f.running.service.httpUrl!;
    const c = await obtain('partitioned', ['www.s440100.jinbao.internal']);
    const url = (await urlsIn(c.leaf)).crl;
    expect(url).toBe(`${base}/crl/infrastructure/0.crl`);
    const full = await plain('GET', url);
    expect(full.status).toBe(200);
    expect(full.headers['content-type']).toBe('application/pkix-crl');
    expect(full.headers['cache-control']).toBe('max-age=60');
    const etag = String(full.headers.etag);
    expect(etag).toMatch(/^"infrastructure\.0-\d+"$/);
    expect((await plain('GET', url, { 'if-none-match': etag })).status).toBe(304);
    expect((await plain('GET', url, { 'if-modified-since': String(full.headers['last-modified']) })).status).toBe(304);
    writeFileSync(files('p0.pem'), pemOf('X509 CRL', full.body));
    const text = await openssl(['crl', '-in', files('p0.pem'), '-noout', '-text', '-CAfile', c.inter]);
    expect(text.out).toContain('verify OK');
    expect(text.out).toContain('X509v3 Issuing Distribution Point: critical');
    expect(text.out).toContain(`URI:${url}`);
    expect(text.out).toContain(`URI:${base}/crl/infrastructure/0-delta.crl`);
    writeFileSync(files('p0-root.pem'), pemOf('X509 CRL', (await plain('GET', `${base}/crl/root.crl`)).body));
    const good = await openssl(['verify', '-crl_check_all', '-CAfile', c.root, '-untrusted', c.inter, '-CRLfile', files('p0.pem'), '-CRLfile', files('p0-root.pem'), c.leaf]);
    expect(good.out).toContain(': OK');

    expect((await client.post((await client.dir()).revokeCert!, { certificate: b64url(c.der), reason: 1 })).status).toBe(200);
    const delta = await plain('GET', `${base}/crl/infrastructure/0-delta.crl`);
    expect(delta.status).toBe(200);
    expect(String(delta.headers.etag)).toMatch(/^"infrastructure\.0-\d+"$/);
    writeFileSync(files('p0-delta.pem'), pemOf('X509 CRL', delta.body));
    const deltaText = await openssl(['crl', '-in', files('p0-delta.pem'), '-noout', '-text']);
    expect(deltaText.out).toContain('X509v3 Delta CRL Indicator: critical');
    expect(deltaText.out).toContain('X509v3 Issuing Distribution Point: critical');
    const v = await openssl(['verify', '-crl_check_all', '-use_deltas', '-CAfile', c.root, '-untrusted', c.inter, '-CRLfile', files('p0.pem'), '-CRLfile', files('p0-delta.pem'), '-CRLfile', files('p0-root.pem'), c.leaf]);
    expect(v.out).toContain('certificate revoked');
    expect(v.code).not.toBe(0);
  });

  it('GIVEN a partition nothing was issued into, or a partition of the root THEN 404 naming it, and nothing is cut', async () => {
    const base = f.running.service.httpUrl!;
    const beyond = await plain('GET', `${base}/crl/infrastructure/999.crl`);
    expect(beyond.status).toBe(404);
    expect(beyond.body.toString()).toBe('no CRL partition 999 of CA infrastructure\n');
    expect((await plain('GET', `${base}/crl/infrastructure/999-delta.crl`)).status).toBe(404);
    expect((await plain('GET', `${base}/crl/root/0.crl`)).status).toBe(404);
    expect((await plain('GET', `${base}/crl/infrastructure/01.crl`)).status).toBe(404);
  });

  it('GIVEN OCSP answers served from the caches (nonce and nonce-less) WHEN the service itself revokes the certificate THEN the very next answers say revoked, with and without nonce', async () => {
    const base = f.running.service.httpUrl!;
    const c = await obtain('cached', ['www.s440100.jinbao.internal']);
    const ask = (...extra: string[]) => openssl(['ocsp', '-issuer', c.inter, '-cert', c.leaf, '-url', `${base}/ocsp/infrastructure`, '-CAfile', c.root, '-verify_other', c.inter, ...extra]);
    for (const extra of [[], ['-no_nonce'], [], ['-no_nonce']]) {
      const r = await ask(...extra);
      expect(r.out).toContain('Response verify OK');
      expect(r.out).toMatch(/cached-leaf\.pem: good/);
    }
    // Revoked by the service's own connection to the store, which the caches must notice too.
    const revokeUrl = (await client.dir()).revokeCert!;
    expect((await client.post(revokeUrl, { certificate: b64url(c.der), reason: 4 })).status).toBe(200);
    for (const extra of [[], ['-no_nonce']]) {
      const r = await ask(...extra);
      expect(r.out).toContain('Response verify OK');
      expect(r.out).toMatch(/cached-leaf\.pem: revoked/);
      expect(r.out).toContain('Reason: superseded');
    }
  });

  it('unknown CAs and methods are refused on the plain-HTTP listener too', async () => {
    const base = f.running.service.httpUrl!;
    expect((await plain('GET', `${base}/crl/nope.crl`)).status).toBe(404);
    expect((await plain('GET', `${base}/crl/nope-delta.crl`)).status).toBe(404);
    expect((await plain('POST', `${base}/crl/root.crl`, {}, Buffer.from('x'))).status).toBe(404);
    expect((await plain('DELETE', `${base}/ocsp/root`)).status).toBe(405);
  });
});
