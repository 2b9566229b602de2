/**
 * Random and mutated PKIMessages thrown at /cmp: every one is answered with a protected `error`
 * PKIMessage (never an exception, never a 500), nothing is issued, the secret of the mutated
 * request is not consumed, and the service keeps serving.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CmpClient } from '../../pki/cmp/client.js';
import { BODY, createCmpSecrets, listCmpSecrets, parsePkiMessage, type CreatedSecret } from '../../pki/cmp/index.js';
import { CMP_OID, parseCertRep, parsePbmParameters, pbmVerifies } from '../../pki/cmp/message.js';
import { signatureVerifies, describePublicKey } from '../../pki/csr.js';
import { certificateParts, generateSoftwareKey } from '../../pki/index.js';
import { PASS, startFixture, type Fixture } from './fixture.js';

function post(port: number, ca: string, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/cmp/440100', method: 'POST', ca, headers: { 'content-type': 'application/pkixcmp', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('CMP fuzzing', () => {
  let f: Fixture;
  let valid: Buffer;
  let s: CreatedSecret;

  beforeAll(async () => {
    f = await startFixture();
    [s] = (await createCmpSecrets(f.ctx, f.ctx.fabric(), PASS, [{ site: '440100', profile: 'staff-auth', subject: 'CN=张三, serialNumber=S0001' }])) as [CreatedSecret];
    const key = join(f.dir, 'fuzz.key');
    spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', key]);
    // Port 1 refuses the connection: openssl writes the request it would have sent, and stops.
    spawnSync('openssl', ['cmp', '-cmd', 'ir', '-server', '127.0.0.1:1', '-path', 'cmp/440100', '-ref', s.reference, '-secret', `pass:${s.secret}`, '-newkey', key, '-subject', '/CN=张三/serialNumber=S0001', '-reqout', join(f.dir, 'ir.der'), '-certout', join(f.dir, 'unused.pem')]);
    valid = readFileSync(join(f.dir, 'ir.der'));
  }, 60_000);
  afterAll(async () => f?.close());

  async function expectProtectedError(body: Uint8Array): Promise<void> {
    const r = await f.running.cmp.handle('440100', body);
    expect(r.status).toBe(200);
    const m = parsePkiMessage(r.body);
    expect(m.bodyType).toBe(BODY.error);
    expect(m.protection).toBeDefined();
    // The request's MAC never verifies here: the answer is signed by the staff CA, first of extraCerts.
    const ca = m.extraCerts[0]!;
    const { spkiDer } = certificateParts(ca);
    expect(signatureVerifies({ signatureAlgorithmOid: m.header.protectionAlg!.oid, key: describePublicKey(spkiDer), spkiDer, tbs: m.protectedPart, signature: m.protection! })).toBe(true);
  }

  it('GIVEN random bytes THEN each is answered with a signed error', async () => {
    const before = await f.certificates();
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), expectProtectedError), { numRuns: 150 });
    expect(await f.certificates()).toBe(before);
  });

  it('GIVEN a real ir with bytes flipped, cut or inserted THEN each is refused and the secret stays unused', async () => {
    const before = await f.certificates();
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (ms) => {
        let b = Buffer.from(valid);
        for (const m of ms) {
          const at = m.at % b.length;
          if (m.kind === 'flip') b[at] = b[at]! ^ m.xor;
          else if (m.kind === 'cut') b = b.subarray(0, at);
          else b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        }
        if (b.equals(valid)) return;
        await expectProtectedError(b);
      }),
      { numRuns: 250 },
    );
    expect(await f.certificates()).toBe(before);
    const untouched = await f.running.cmp.handle('440100', valid);
    expect(parsePkiMessage(untouched.body).bodyType).toBe(BODY.ip);
  });

  it('GIVEN the same ir again (the secret is used now) THEN notAuthorized, protected with the secret, under the server\'s own senderKID', async () => {
    const r = await f.running.cmp.handle('440100', valid);
    const m = parsePkiMessage(r.body);
    expect(m.bodyType).toBe(BODY.error);
    expect(parseCertRep(m).failures).toEqual(['notAuthorized']);
    expect(m.header.protectionAlg!.oid).toBe(CMP_OID.passwordBasedMac);
    expect(pbmVerifies(Buffer.from(s.secret), parsePbmParameters(m.header.protectionAlg!), m.protectedPart, m.protection!)).toBe(true);
    expect(pbmVerifies(Buffer.from('another secret'), parsePbmParameters(m.header.protectionAlg!), m.protectedPart, m.protection!)).toBe(false);
    expect(Buffer.from(m.header.senderKid!).toString()).not.toBe(s.reference);
    expect(m.header.recipNonce).toEqual(parsePkiMessage(valid).header.senderNonce);
    expect(m.header.transactionId).toEqual(parsePkiMessage(valid).header.transactionId);
  });

  it.each(['ecdsa-p256', 'sm2'] as const)('GIVEN a CRMF request whose proof of possession is signed by another %s key THEN the pipeline refuses it and issues nothing', async (algorithm) => {
    const before = await f.certificates();
    const [key, other] = [await generateSoftwareKey(algorithm), await generateSoftwareKey(algorithm)];
    const signed = Buffer.from('a CertRequest');
    const request = { spkiDer: key.signer.spkiDer, subject: [{ type: 'CN', value: '张三' }, { type: 'serialNumber', value: 'S0001' }], possession: { signatureAlgorithmOid: other.signer.signatureAlgorithmOid, signed, signature: await other.signer.sign(signed) } };
    await expect(f.running.pki.issueStaff({ profile: 'staff-auth', site: '440100', certRequest: request, actor: 'test' })).rejects.toThrow('proof of possession does not verify');
    expect(await f.certificates()).toBe(before);
    const own = { ...request, possession: { ...request.possession, signature: await key.signer.sign(signed) } };
    expect((await f.running.pki.issueStaff({ profile: 'staff-auth', site: '440100', certRequest: own, actor: 'test' })).serial).toMatch(/^[0-9a-f]+$/);
  });

  it('GIVEN a transactionID already used THEN transactionIdInUse, nothing issued, the second secret still unused', async () => {
    const [a, b] = await createCmpSecrets(f.ctx, f.ctx.fabric(), PASS, [0, 1].map(() => ({ site: '440100', profile: 'staff-auth', subject: 'CN=张三, serialNumber=S0001' })));
    const client = new CmpClient({ url: `${f.running.publicUrl}/cmp/440100`, caPem: f.rootPem });
    const subject = [{ type: 'CN', value: '张三' }, { type: 'serialNumber', value: 'S0001' }] as const;
    const transactionId = Buffer.from('the same transaction');
    await client.enroll({ reference: a!.reference, secret: a!.secret, key: (await generateSoftwareKey('ecdsa-p256')).signer, subject, transactionId });
    const before = await f.certificates();
    await expect(client.enroll({ reference: b!.reference, secret: b!.secret, key: (await generateSoftwareKey('ecdsa-p256')).signer, subject, transactionId })).rejects.toThrow('transactionIdInUse');
    expect(await f.certificates()).toBe(before);
    expect((await listCmpSecrets(f.ctx)).find((x) => x.reference === b!.reference)?.state).toBe('unused');
  });

  it('keeps serving over HTTPS after garbage: a refusal, then /healthz', async () => {
    const port = f.running.service.port;
    const r = await post(port, f.rootPem, Buffer.from('0\x82\xff\xff not a PKIMessage'));
    expect(r.status).toBe(200);
    expect(parsePkiMessage(r.body).bodyType).toBe(BODY.error);
    const health = await new Promise<number>((resolve, reject) => request({ host: '127.0.0.1', port, path: '/healthz', ca: f.rootPem }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject).end());
    expect(health).toBe(200);
  });
});
