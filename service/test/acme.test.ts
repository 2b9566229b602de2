import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eabJws, p256Csr, problemOf, signJws, publicJwkOf, type AcmeClient } from '../../pki/acme/client.js';
import { b64url } from '../../pki/acme/jws.js';
import { renewalCertId } from '../../pki/acme/server.js';
import { startFixture, type Fixture } from './fixture.js';

const ERR = 'urn:ietf:params:acme:error:';
let f: Fixture;

beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => {
  await f?.close();
});

/** Order, authorize over http-01 and finalize; returns the PEM chain. */
async function obtain(c: AcmeClient, names: string[]): Promise<{ chainPem: string; order: Awaited<ReturnType<AcmeClient['newOrder']>> }> {
  const order = await c.newOrder(names);
  const ready = await c.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
  expect(ready.status).toBe('ready');
  const fin = await c.finalize(ready, p256Csr(names, { noCommonName: true }).der);
  expect(fin.status, fin.body.toString()).toBe(200);
  const done = await c.pollOrder(order.url, (s) => s === 'valid' || s === 'invalid');
  return { chainPem: await c.certificate(done.certificate!), order: done };
}

function expectProblem(a: { status: number; body: Buffer; headers: Record<string, unknown> }, type: string, status: number): void {
  expect(a.status, a.body.toString()).toBe(status);
  expect(a.headers['content-type']).toBe('application/problem+json');
  const p = problemOf(a as never)!;
  expect(p.type).toBe(ERR + type);
  expect(JSON.stringify(p)).not.toMatch(/\s+at \S+ \(|node:internal|\.ts:\d+/);
}

function openssl(args: string[]): { code: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

/** openssl as a client of the in-process service: asynchronous, so the service can answer it. */
function opensslAsync(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile('openssl', args, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr })));
}

describe('jinbao serve: ACME', () => {
  it('GIVEN an account of site 440100 WHEN it orders one of its names over http-01 THEN it gets a certificate that openssl verifies, with CRL and OCSP URLs under the public URL', async () => {
    const c = await f.account('440100');
    const { chainPem } = await obtain(c, ['app.s440100.jinbao.internal', 'api.s440100.jinbao.internal']);
    const leafPem = chainPem.slice(0, chainPem.indexOf('-----END CERTIFICATE-----') + 26);
    const leaf = new X509Certificate(leafPem);
    expect(leaf.subjectAltName).toContain('DNS:app.s440100.jinbao.internal');
    expect(leaf.subjectAltName).toContain('DNS:api.s440100.jinbao.internal');
    expect(leaf.infoAccess).toContain(`OCSP - URI:${f.running.publicUrl}/ocsp/infrastructure\n`);
    const files = { root: join(f.dir, 'root.pem'), chain: join(f.dir, 'chain.pem'), leaf: join(f.dir, 'leaf.pem') };
    writeFileSync(files.root, f.rootPem);
    writeFileSync(files.chain, chainPem.slice(leafPem.length).trim() + '\n');
    writeFileSync(files.leaf, leafPem);
    const v = openssl(['verify', '-purpose', 'sslserver', '-CAfile', files.root, '-untrusted', files.chain, files.leaf]);
    expect(v.out).toContain('OK');
    expect(v.code).toBe(0);
    const issued = (await f.audit('pki.issue')).filter((e) => e.outcome === 'ok').pop()!;
    expect(issued.actor).toMatch(/^acme:/);
  });

  it('GIVEN an order that is ready WHEN five finalize requests arrive at once THEN exactly one certificate is issued and the others get orderNotReady', async () => {
    const c = await f.account('440100');
    const order = await c.newOrder(['www.s440100.jinbao.internal']);
    const ready = await c.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
    const before = (await f.certificates());
    const csr = p256Csr(['www.s440100.jinbao.internal']).der;
    const nonces = await Promise.all(Array.from({ length: 5 }, () => c.nonce()));
    const answers = await Promise.all(nonces.map((nonce) => c.postRaw(ready.finalize, JSON.stringify(signJws(c.key, { nonce, url: ready.finalize, kid: c.accountUrl }, { csr: b64url(csr) })))));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 403, 403, 403, 403]);
    for (const a of answers.filter((x) => x.status === 403)) expect(problemOf(a)?.type).toBe(ERR + 'orderNotReady');
    expect((await f.certificates()) - before).toBe(1);
  });

  describe('bad input: the precise error type, nothing issued, the refusal audited, the service keeps serving', () => {
    let c: AcmeClient;
    let before: number;
    beforeAll(async () => {
      c = await f.account('440100');
      before = (await f.certificates());
    });
    afterAll(async () => {
      expect((await f.certificates())).toBe(before);
      const d = await c.http('GET', f.running.directoryUrl);
      expect(d.status).toBe(200);
    });

    it('malformed JWS bodies → malformed', async () => {
      const url = (await c.dir()).newOrder!;
      expectProblem(await c.postRaw(url, '{not json'), 'malformed', 400);
      expectProblem(await c.postRaw(url, JSON.stringify({ protected: 'e30', payload: '' })), 'malformed', 400);
      expectProblem(await c.postRaw(url, JSON.stringify({ signatures: [] })), 'malformed', 400);
      expectProblem(await c.postRaw(url, '{}', 'application/json'), 'malformed', 415);
      const refusals = (await f.audit('acme.new-order')).filter((e) => e.outcome === 'refused');
      expect(refusals.length).toBeGreaterThanOrEqual(4);
      expect(refusals.pop()!.details).toMatchObject({ type: 'malformed', status: 415 });
    });

    it('an unsupported JWS algorithm → badSignatureAlgorithm with the list of algorithms', async () => {
      const url = (await c.dir()).newOrder!;
      const protectedB64 = b64url(JSON.stringify({ alg: 'HS256', nonce: await c.nonce(), url, kid: c.accountUrl }));
      const a = await c.postRaw(url, JSON.stringify({ protected: protectedB64, payload: b64url('{}'), signature: b64url('x') }));
      expectProblem(a, 'badSignatureAlgorithm', 400);
      expect(problemOf(a)).toMatchObject({ algorithms: ['ES256', 'ES384', 'RS256', 'EdDSA'] });
    });

    it('an unknown nonce and a replayed request → badNonce, with a fresh nonce to retry with', async () => {
      const url = (await c.dir()).newOrder!;
      const unknown = await c.postRaw(url, JSON.stringify(signJws(c.key, { nonce: 'bm90LWEtbm9uY2U', url, kid: c.accountUrl }, { identifiers: [{ type: 'dns', value: 'app.s440100.jinbao.internal' }] })));
      expectProblem(unknown, 'badNonce', 400);
      expect(unknown.headers['replay-nonce']).toBeTruthy();
      const body = JSON.stringify(signJws(c.key, { nonce: await c.nonce(), url: `${f.running.publicUrl}/acme/acct/${c.accountUrl!.split('/').pop()}`, kid: c.accountUrl }, ''));
      const first = await c.postRaw(`${f.running.publicUrl}/acme/acct/${c.accountUrl!.split('/').pop()}`, body);
      expect(first.status).toBe(200);
      expectProblem(await c.postRaw(`${f.running.publicUrl}/acme/acct/${c.accountUrl!.split('/').pop()}`, body), 'badNonce', 400);
      expect((await f.audit('acme.')).some((e) => e.outcome === 'refused' && e.details.type === 'badNonce')).toBe(true);
    });

    it('a JWS "url" other than the request URL → unauthorized', async () => {
      const url = (await c.dir()).newOrder!;
      const a = await c.postRaw(url, JSON.stringify(signJws(c.key, { nonce: await c.nonce(), url: url.replace('new-order', 'new-account'), kid: c.accountUrl }, { identifiers: [] })));
      expectProblem(a, 'unauthorized', 403);
    });

    it('a bad signature → malformed; an unknown account → accountDoesNotExist', async () => {
      const url = (await c.dir()).newOrder!;
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      expectProblem(await c.post(url, { identifiers: [] }, { key: other }), 'malformed', 400);
      expectProblem(await c.post(url, { identifiers: [] }, { header: { kid: `${f.running.publicUrl}/acme/acct/nobody` } }), 'accountDoesNotExist', 400);
    });

    it('EAB: none → externalAccountRequired; unknown key id or a wrong MAC → unauthorized; a key used once → unauthorized', async () => {
      const fresh = f.client();
      expectProblem(await fresh.register(undefined), 'externalAccountRequired', 400);
      expectProblem(await fresh.register({ kid: 'eab-440100-unknown', hmacKey: b64url(Buffer.alloc(32, 1)) }), 'unauthorized', 403);
      const eab = await f.eab('440100');
      expectProblem(await fresh.register({ kid: eab.kid, hmacKey: b64url(Buffer.alloc(32, 2)) }), 'unauthorized', 403);
      expect((await fresh.register(eab)).status).toBe(201);
      const second = f.client();
      const again = await second.register(eab);
      expectProblem(again, 'unauthorized', 403);
      expect(problemOf(again)!.detail).toContain('unknown, expired or used by another account');
    });

    it('an EAB made for the newAccount URL but bound to another key → malformed', async () => {
      const fresh = f.client();
      const eab = await f.eab('440100');
      const url = (await fresh.dir()).newAccount!;
      const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const a = await fresh.post(url, { termsOfServiceAgreed: true, externalAccountBinding: eabJws(eab, url, otherKey) }, { useJwk: true });
      expectProblem(a, 'malformed', 400);
    });

    it('another site\'s names and names outside the fabric → rejectedIdentifier naming the owner', async () => {
      const url = (await c.dir()).newOrder!;
      const a = await c.post(url, { identifiers: [{ type: 'dns', value: 'app.s440300.jinbao.internal' }, { type: 'dns', value: 'example.org' }] });
      expectProblem(a, 'rejectedIdentifier', 400);
      const p = problemOf(a) as { subproblems: { detail: string; identifier: { value: string } }[] };
      expect(p.subproblems.map((s) => s.identifier.value)).toEqual(['app.s440300.jinbao.internal', 'example.org']);
      expect(p.subproblems[0]!.detail).toContain('a name of site 440300');
      expect(p.subproblems[1]!.detail).toContain('outside the fabric');
      expectProblem(await c.post(url, { identifiers: [{ type: 'ip', value: '10.0.0.1' }] }), 'unsupportedIdentifier', 400);
      expectProblem(await c.post(url, { identifiers: [{ type: 'dns', value: 'App.s440100.jinbao.internal' }] }), 'rejectedIdentifier', 400);
    });

    it('a CSR whose names differ from the order → badCSR, and the order stays ready', async () => {
      const order = await c.newOrder(['app.s440100.jinbao.internal']);
      const ready = await c.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
      const a = await c.finalize(ready, p256Csr(['app.s440100.jinbao.internal', 'api.s440100.jinbao.internal']).der);
      expectProblem(a, 'badCSR', 400);
      expect(problemOf(a)!.detail).toContain('names not in the order: api.s440100.jinbao.internal');
      expectProblem(await c.finalize(ready, Buffer.from('not a csr')), 'badCSR', 400);
      expect((await c.getJson<{ status: string }>(order.url)).status).toBe('ready');
    });

    it('a weak key in the CSR → badCSR from the pipeline, the order invalid', async () => {
      const order = await c.newOrder(['api.s440100.jinbao.internal']);
      const ready = await c.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
      const key = join(f.dir, 'weak.key');
      openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', key]);
      const csrFile = join(f.dir, 'weak.csr');
      openssl(['req', '-new', '-key', key, '-subj', '/CN=api.s440100.jinbao.internal', '-addext', 'subjectAltName=DNS:api.s440100.jinbao.internal', '-outform', 'DER', '-out', csrFile]);
      const a = await c.finalize(ready, (await import('node:fs')).readFileSync(csrFile));
      expectProblem(a, 'badCSR', 400);
      expect(problemOf(a)!.detail).toContain('weak key: got RSA-1024');
      expect((await f.audit('pki.issue')).some((e) => e.outcome === 'refused' && String(e.details.reason).includes('weak key: got RSA-1024'))).toBe(true);
      expect((await c.getJson<{ status: string }>(order.url)).status).toBe('invalid');
    });

    it('a failed http-01 validation makes the authorization and order invalid with incorrectResponse', async () => {
      const order = await c.newOrder(['db.440100.jinbao.internal']);
      const done = await c.authorize(order, (t) => f.challenges.tokens.set(t, 'wrong'));
      expect(done.status).toBe('invalid');
      expect(done.error?.type).toBe(ERR + 'incorrectResponse');
    });

    it('a body over 64 KiB → 413 malformed', async () => {
      const a = await c.postRaw((await c.dir()).newOrder!, 'x'.repeat(70_000));
      expect(a.status).toBe(413);
      expect(problemOf(a)!.type).toBe(ERR + 'malformed');
    });
  });

  it.each([
    ['RSA-2048', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], [] as string[], 'rsaEncryption'],
    ['SM2', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2'], ['-sm3', '-sigopt', 'distid:1234567812345678'], 'SM2'],
  ])('finalize takes a %s CSR made by openssl', async (name, gen, sign, keyText) => {
    const c = await f.account('440100');
    const names = ['api.s440100.jinbao.internal'];
    const order = await c.newOrder(names);
    const ready = await c.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
    const key = join(f.dir, `${name}.key`);
    const csrFile = join(f.dir, `${name}.csr`);
    expect(openssl(['genpkey', ...gen, '-out', key]).code).toBe(0);
    expect(openssl(['req', '-new', '-key', key, '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=DNS:${names[0]}`, ...sign, '-outform', 'DER', '-out', csrFile]).code).toBe(0);
    const fin = await c.finalize(ready, (await import('node:fs')).readFileSync(csrFile));
    expect(fin.status, fin.body.toString()).toBe(200);
    const done = await c.pollOrder(order.url, (s) => s === 'valid');
    const leaf = join(f.dir, `${name}.pem`);
    writeFileSync(leaf, await c.certificate(done.certificate!));
    expect(openssl(['x509', '-in', leaf, '-noout', '-text']).out).toContain(keyText);
  });

  it('revocation by the ordering account: OCSP and the CRL say revoked; again → alreadyRevoked; a bad reason → badRevocationReason; another account → unauthorized', async () => {
    const c = await f.account('440100');
    const { chainPem } = await obtain(c, ['app.s440100.jinbao.internal']);
    const der = new X509Certificate(chainPem).raw;
    const url = (await c.dir()).revokeCert!;
    expectProblem(await c.post(url, { certificate: b64url(der), reason: 2 }), 'badRevocationReason', 400);
    const stranger = await f.account('440100');
    expectProblem(await stranger.post(url, { certificate: b64url(der) }), 'unauthorized', 403);
    expect((await c.post(url, { certificate: b64url(der), reason: 1 })).status).toBe(200);
    expectProblem(await c.post(url, { certificate: b64url(der) }), 'alreadyRevoked', 400);
    const files = { root: join(f.dir, 'r-root.pem'), inter: join(f.dir, 'r-inter.pem'), leaf: join(f.dir, 'r-leaf.pem'), crl: join(f.dir, 'infra.crl') };
    const leafPem = chainPem.slice(0, chainPem.indexOf('-----END CERTIFICATE-----') + 26);
    writeFileSync(files.root, f.rootPem);
    writeFileSync(files.inter, chainPem.slice(leafPem.length).trim() + '\n');
    writeFileSync(files.leaf, leafPem);
    const o = await opensslAsync(['ocsp', '-issuer', files.inter, '-cert', files.leaf, '-url', `${f.running.publicUrl}/ocsp/infrastructure`, '-CAfile', files.root, '-verify_other', files.inter]);
    expect(o.out).toContain('Response verify OK');
    expect(o.out).toMatch(/: revoked/);
    const crl = await c.http('GET', `${f.running.publicUrl}/crl/infrastructure.crl`);
    writeFileSync(files.crl, crl.body);
    const text = openssl(['crl', '-inform', 'DER', '-in', files.crl, '-noout', '-text', '-CAfile', files.inter]);
    expect(text.out).toContain(new X509Certificate(chainPem).serialNumber.toUpperCase().replace(/^0+/, ''));
    expect(text.out).toContain('Key Compromise');
  });

  it('revocation with the certificate key (jwk) is accepted', async () => {
    const c = await f.account('440100');
    const names = ['api.s440100.jinbao.internal'];
    const order = await c.newOrder(names);
    const ready = await c.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
    const csr = p256Csr(names);
    await c.finalize(ready, csr.der);
    const done = await c.pollOrder(order.url, (s) => s === 'valid');
    const der = new X509Certificate(await c.certificate(done.certificate!)).raw;
    const holder = f.client({ key: csr.key });
    expect((await holder.post((await holder.dir()).revokeCert!, { certificate: b64url(der) }, { useJwk: true })).status).toBe(200);
  });

  it('ES384, RS256 and EdDSA account keys register and order; keyChange moves the account to a new key; a deactivated account is refused', async () => {
    for (const key of [
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
      generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
      generateKeyPairSync('ed25519').privateKey,
    ]) {
      const c = await f.account('440100', { key });
      expect((await c.newOrder(['app.s440100.jinbao.internal'])).status).toBe('pending');
    }
    const c = await f.account('440100');
    const url = (await c.dir()).keyChange!;
    const newKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const inner = signJws(newKey, { jwk: publicJwkOf(newKey), url }, { account: c.accountUrl, oldKey: publicJwkOf(c.key) });
    expect((await c.post(url, inner)).status).toBe(200);
    const oldKey = c.key;
    expectProblem(await c.post(c.accountUrl!, ''), 'malformed', 400);
    c.key = newKey;
    expect((await c.post(c.accountUrl!, '')).status).toBe(200);
    const taken = await f.account('440100');
    const innerTaken = signJws(newKey, { jwk: publicJwkOf(newKey), url }, { account: taken.accountUrl, oldKey: publicJwkOf(taken.key) });
    expectProblem(await taken.post(url, innerTaken), 'malformed', 409);
    expect(oldKey).not.toBe(newKey);
    expect((await c.post(c.accountUrl!, { status: 'deactivated' })).status).toBe(200);
    expectProblem(await c.post((await c.dir()).newOrder!, { identifiers: [{ type: 'dns', value: 'app.s440100.jinbao.internal' }] }), 'unauthorized', 403);
  });

  it('renewalInfo (RFC 9773) suggests a window in the last third of the validity', async () => {
    const c = await f.account('440100');
    const { chainPem } = await obtain(c, ['www.s440100.jinbao.internal']);
    const x = new X509Certificate(chainPem);
    const a = await c.http('GET', `${(await c.dir()).renewalInfo}/${renewalCertId(x.raw)}`);
    expect(a.status).toBe(200);
    const w = (JSON.parse(a.body.toString()) as { suggestedWindow: { start: string; end: string } }).suggestedWindow;
    const nb = Date.parse(x.validFrom);
    const life = Date.parse(x.validTo) - nb;
    expect(Date.parse(w.start)).toBeGreaterThan(nb + life / 2);
    expect(Date.parse(w.end)).toBeLessThan(Date.parse(x.validTo));
    expect((await c.http('GET', `${(await c.dir()).renewalInfo}/bad`)).status).toBe(400);
  });

  it('health, readiness, metrics, CA certificates and the access log', async () => {
    const c = f.client();
    expect((await c.http('GET', `${f.running.publicUrl}/healthz`)).status).toBe(200);
    expect((await c.http('GET', `${f.running.publicUrl}/readyz`)).status).toBe(200);
    const m = (await c.http('GET', `${f.running.publicUrl}/metrics`)).body.toString();
    expect(m).toMatch(/jinbao_serve_requests_total\{route="acme:new-order",status="201"\} \d+/);
    expect(m).toMatch(/jinbao_acme_problems_total\{type="badNonce"\} \d+/);
    const root = await c.http('GET', `${f.running.publicUrl}/ca/root.crt`);
    expect(new X509Certificate(root.body).subject).toContain('Root');
    expect((await c.http('GET', `${f.running.publicUrl}/crl/nope.crl`)).status).toBe(404);
    const line = f.log.find((l) => l.path === '/acme/new-order');
    expect(line).toMatchObject({ method: 'POST', remote: '127.0.0.1' });
    expect(typeof line!.ms).toBe('number');
  });

  it('fuzz: random and mutated requests never crash the service or leak a stack trace', async () => {
    const c = await f.account('440100');
    const dir = await c.dir();
    const urls = [dir.newAccount!, dir.newOrder!, dir.revokeCert!, dir.keyChange!, c.accountUrl!, `${f.running.publicUrl}/acme/order/x/finalize`, `${f.running.publicUrl}/acme/chall/x`];
    let seed = 42;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const valid = JSON.stringify(signJws(c.key, { nonce: await c.nonce(), url: dir.newOrder, kid: c.accountUrl }, { identifiers: [{ type: 'dns', value: 'app.s440100.jinbao.internal' }] }));
    for (let i = 0; i < 300; i++) {
      let body: string;
      const kind = rand(4);
      if (kind === 0) body = Buffer.from(Array.from({ length: rand(400) }, () => rand(256))).toString('latin1');
      else if (kind === 1) {
        const b = Buffer.from(valid);
        for (let k = 0; k < 1 + rand(5); k++) b[rand(b.length)] = rand(256);
        body = b.toString('latin1');
      } else if (kind === 2) {
        const parts = JSON.parse(valid) as Record<string, string>;
        const header = JSON.parse(Buffer.from(parts.protected!, 'base64url').toString()) as Record<string, unknown>;
        const mutations: Record<string, unknown>[] = [{ alg: null }, { jwk: 'x' }, { jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } }, { kid: 12 }, { nonce: 1 }, { url: [] }, { jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } }, { jwk: { kty: 'OKP', crv: 'X25519', x: 'AA' } }];
        body = JSON.stringify({ ...parts, protected: b64url(JSON.stringify({ ...header, ...mutations[rand(mutations.length)] })) });
      } else body = JSON.stringify({ protected: b64url(JSON.stringify({ alg: 'ES256', nonce: await c.nonce(), url: urls[0], jwk: publicJwkOf(c.key) })), payload: b64url(['[]', 'null', '{"externalAccountBinding":1}', '{"identifiers":"x"}', '"s"'][rand(5)]!), signature: 'AA' });
      const a = await c.postRaw(urls[rand(urls.length)]!, body);
      expect(a.status, body).toBeLessThan(500);
      expect(a.body.toString()).not.toMatch(/\s+at \S+ \(|node:internal|\.ts:\d+/);
    }
    expect((await c.http('GET', `${f.running.publicUrl}/healthz`)).status).toBe(200);
  });
});
