import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../lib/errors.js';
import { initHierarchy, Issuer, type IssueRequest } from '../index.js';
import { countRows, lastAudit, opensslCsr, opensslKey, PASS, testPki, type TestPki } from './helpers.js';

describe('refused requests', () => {
  let t: TestPki;
  let goodCsr: Buffer;
  beforeAll(async () => {
    t = await testPki('ecdsa-p256');
    // The province CA exists before the refusals, so "no change" means no change at all.
    goodCsr = opensslCsr(t.dir, opensslKey(t.dir, 'good', 'p256'), '/CN=李四/serialNumber=S0002', { name: 'good' });
    await t.issuer.issue({ profile: 'staff-auth', site: '440100', csr: goodCsr });
  });
  afterAll(() => t.cleanup());

  /** WHEN the request is issued THEN it is refused with `message`, the store is unchanged and the refusal is audited. */
  async function expectRefused(req: IssueRequest, message: string, issuer: Issuer = t.issuer): Promise<void> {
    const before = (await countRows(t.db));
    const err = await issuer.issue(req).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(2);
    expect((err as Error).message).toContain(message);
    const after = (await countRows(t.db));
    expect(after.certificates).toBe(before.certificates);
    expect(after.cas).toBe(before.cas);
    expect(after.audit).toBe(before.audit + 1);
    const audit = (await lastAudit(t.db));
    expect(audit).toMatchObject({ action: 'pki.issue', outcome: 'refused' });
    expect(JSON.parse(audit.details).reason).toBe((err as Error).message);
  }

  const staff = (over: Partial<IssueRequest> = {}): IssueRequest => ({ profile: 'staff-auth', site: '440100', csr: goodCsr, ...over });
  const csrWith = (name: string, kind: Parameters<typeof opensslKey>[2], subj = '/CN=王五/serialNumber=S0003', addext: string[] = []) =>
    opensslCsr(t.dir, opensslKey(t.dir, name, kind), subj, { name, addext, sm2: kind === 'sm2' });

  it('GIVEN a truncated CSR THEN it is refused as malformed', async () => {
    await expectRefused(staff({ csr: goodCsr.subarray(0, goodCsr.length - 20) }), 'malformed CSR: the DER does not decode');
  });

  it('GIVEN a CSR whose signature was altered THEN proof of possession fails', async () => {
    const bad = Buffer.from(goodCsr);
    bad[bad.length - 5] = bad[bad.length - 5]! ^ 0x01;
    await expectRefused(staff({ csr: bad }), 'CSR signature does not verify: got a request not signed by the key it carries');
  });

  it('GIVEN an RSA-1024 key THEN it is refused as weak', async () => {
    await expectRefused(staff({ csr: csrWith('rsa1024', 'rsa1024') }), 'weak key: got RSA-1024, want RSA 2048-4096, EC P-256/P-384 or SM2 (profile staff-auth v1)');
  });

  it.each([
    ['p521', 'P-521'],
    ['secp256k1', 'secp256k1'],
  ] as const)('GIVEN a %s key THEN the curve is refused as unsupported', async (kind, name) => {
    await expectRefused(staff({ csr: csrWith(kind, kind) }), `unsupported key: got EC curve ${name}, want RSA 2048-4096`);
  });

  it('GIVEN a staff CSR asking for serverAuth THEN the usage is refused', async () => {
    await expectRefused(staff({ csr: csrWith('eku', 'p256', '/CN=王五/serialNumber=S0003', ['extendedKeyUsage=serverAuth']) }), 'forbidden extended key usage: got serverAuth, want only clientAuth (profile staff-auth v1)');
  });

  it('GIVEN a staff CSR asking for keyCertSign THEN the key usage is refused', async () => {
    await expectRefused(staff({ csr: csrWith('ku', 'p256', '/CN=王五/serialNumber=S0003', ['keyUsage=keyCertSign']) }), 'forbidden key usage: got keyCertSign, want only digitalSignature (profile staff-auth v1)');
  });

  it('GIVEN a CSR asking for CA:TRUE THEN basicConstraints is refused, not silently turned into CA:FALSE', async () => {
    await expectRefused(staff({ csr: csrWith('ca', 'p256', '/CN=王五/serialNumber=S0003', ['basicConstraints=critical,CA:TRUE']) }), 'forbidden basicConstraints: got CA:TRUE, want CA:FALSE or none (profile staff-auth v1 issues end-entity certificates; CAs are made only by jinbao pki init and pki replace-ca)');
  });

  it('GIVEN a CSR asking for CA:FALSE THEN it is issued', async () => {
    const issued = await t.issuer.issue(staff({ csr: csrWith('notca', 'p256', '/CN=王五/serialNumber=S0003', ['basicConstraints=critical,CA:FALSE']) }));
    expect(issued.record.profile).toBe('staff-auth');
  });

  it.each([
    ['random bytes', Buffer.from('0402aabb' + '5a'.repeat(60), 'hex')],
    ['a short DER SEQUENCE followed by junk', Buffer.from('3003020100' + '5a'.repeat(60), 'hex')],
    ['a text file', Buffer.from('hello, this is not a certificate request at all\n')],
  ])('GIVEN %s as a CSR THEN it is refused as not a PKCS#10 request, without talk of trailing bytes', async (_name, bytes) => {
    const err = (await t.issuer.issue(staff({ csr: bytes })).catch((e: unknown) => e)) as InputError;
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain(`malformed CSR: got ${bytes.length} bytes that are not a PKCS#10 request`);
    expect(err.message).toContain('want a PKCS#10 request in PEM ("-----BEGIN CERTIFICATE REQUEST-----") or DER');
    expect(err.message).not.toContain('trailing');
  });

  it('GIVEN a valid request followed by extra bytes THEN the trailing bytes are named', async () => {
    await expectRefused(staff({ csr: Buffer.concat([goodCsr, Buffer.from([0, 0, 0])]) }), 'malformed CSR: got 3 trailing bytes after the request');
  });

  it('GIVEN a subject with another organization THEN O is refused', async () => {
    await expectRefused(staff({ csr: csrWith('org', 'p256', '/O=Other Org/CN=王五/serialNumber=S0003') }), 'subject O: got "Other Org", want "site 440100人力资源和社会保障局" (the organization of site 440100)');
  });

  it('GIVEN a staff subject without a staff number THEN it is refused', async () => {
    await expectRefused(staff({ csr: csrWith('nosn', 'p256', '/CN=王五') }), 'subject serialNumber (staff number): got none, want one (profile staff-auth v1)');
  });

  it('GIVEN a subject outside China THEN C is refused', async () => {
    await expectRefused(staff({ csr: csrWith('us', 'p256', '/C=US/CN=王五/serialNumber=S0003') }), 'subject C: got "US", want "CN"');
  });

  it('GIVEN several broken rules THEN all are reported together', async () => {
    const before = (await countRows(t.db)).audit;
    const err = (await t.issuer.issue(staff({ csr: csrWith('multi', 'p256', '/C=US/CN=王五'), validityDays: 9999 })).catch((e: unknown) => e)) as InputError;
    expect(err.message).toMatch(/^request refused: 3 problems, first: /);
    expect(err.details).toEqual(['subject serialNumber (staff number): got none, want one (profile staff-auth v1)', 'subject C: got "US", want "CN"', 'validity: got 9999 days, want at most 730 (profile staff-auth v1)']);
    expect((await countRows(t.db)).audit).toBe(before + 1);
  });

  it('GIVEN a validity beyond the profile maximum THEN it is refused', async () => {
    await expectRefused(staff({ validityDays: 731 }), 'validity: got 731 days, want at most 730 (profile staff-auth v1)');
  });

  it('GIVEN a GM/T 0015 identity code on a server profile THEN it is refused, not stored', async () => {
    await expectRefused({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=a.s440100.jinbao.internal' }, identityCode: '11010519491231002X' }, 'GM/T 0015 identity code: got one, want none (profile server-tls v2 does not carry it)');
  });

  it('GIVEN an identity code with a wrong check character THEN it is refused', async () => {
    await expectRefused(staff({ identityCode: '110105194912310021' }), 'GM/T 0015 identity code: got "110105194912310021", want 18 characters (17 digits and a GB 11643 check character)');
  });

  it('GIVEN --generate for a staff profile THEN it is refused (staff keep their own keys)', async () => {
    await expectRefused({ profile: 'staff-auth', site: '440100', generate: { subject: 'CN=x' } }, '--generate: got profile staff-auth, want one of server-tls, replica-mtls, ocsp-signing, evidence-signing');
  });

  it('GIVEN an invalid DNS name THEN the SAN is refused', async () => {
    await expectRefused({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=ok.example' }, dns: ['bad_name!'] }, 'subjectAltName DNS name: got "bad_name!", want a valid DNS name');
  });

  it('GIVEN an application the site does not host THEN it is refused', async () => {
    await expectRefused({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=ok.example' }, application: 'national-query' }, 'application: got "national-query", want one of');
  });

  it('GIVEN an unknown profile or site THEN they are refused', async () => {
    await expectRefused(staff({ profile: 'vpn' }), 'unknown profile: got "vpn", want one of staff-auth, staff-sign, server-tls, replica-mtls, ocsp-signing, evidence-signing');
    await expectRefused(staff({ site: '999999' }), 'site: got "999999", want a site of the inventory');
  });

  it('GIVEN a wrong passphrase THEN signing is refused and nothing is stored', async () => {
    const wrong = new Issuer(t.pki, t.fabric, 'not the passphrase');
    await expectRefused({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=w.s440100.jinbao.internal' } }, 'wrong passphrase for the CA key', wrong);
  });

  it('GIVEN an issuing CA past its validity THEN it issues nothing', async () => {
    const infra = (await t.pki.getCa('infrastructure'))!;
    await expectRefused({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=late.example' }, now: new Date(infra.notAfter.getTime() + 86_400_000) }, `issuing CA infrastructure: got a CA that expired on ${infra.notAfter.toISOString()}, want one valid now`);
  });

  it('GIVEN a certificate WHEN validity would outlast its CA THEN notAfter is cut to the CA notAfter', async () => {
    const infra = (await t.pki.getCa('infrastructure'))!;
    const issued = await t.issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=edge.example' }, now: new Date(infra.notAfter.getTime() - 10 * 86_400_000) });
    expect(issued.record.notAfter.toISOString()).toBe(infra.notAfter.toISOString());
  });

  it('GIVEN a serial that is already taken WHEN issuing THEN the store refuses the duplicate and the issuer retries with a fresh serial', async () => {
    const existing = (await t.pki.listCertificates())[0]!.serial;
    const serials = [existing, '4abcdef0123456789abcdef012345678'];
    const issuer = new Issuer(t.pki, t.fabric, PASS, { newSerial: () => serials.shift()! });
    const issued = await issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=retry.example' } });
    expect(issued.record.serial).toBe('4abcdef0123456789abcdef012345678');
    await expect(t.db.write((tx) => t.pki.insertCertificate(tx, { ...issued.record }))).rejects.toThrow(/serial 4abcdef0123456789abcdef012345678 exists/);
  });

  it('GIVEN a batch with one bad request WHEN issued together THEN the good ones are recorded in one commit and the bad one is refused in place', async () => {
    const before = (await countRows(t.db));
    const results = await t.issuer.issueMany([
      { profile: 'server-tls', site: '440100', generate: { subject: 'CN=b1.example' } },
      { profile: 'server-tls', site: '440100', generate: { subject: 'CN=b2.example' }, validityDays: 400 },
      { profile: 'server-tls', site: '440100', generate: { subject: 'CN=b3.example' } },
    ]);
    expect(results.map((r) => (r instanceof InputError ? r.message : r.record.commonName))).toEqual(['b1.example', 'request refused: validity: got 400 days, want at most 397 (profile server-tls v2)', 'b3.example']);
    expect((await countRows(t.db))).toEqual({ ...before, certificates: before.certificates + 2, audit: before.audit + 3 });
  });

  it('GIVEN an existing hierarchy WHEN init runs again THEN it is refused, changes nothing and is audited', async () => {
    const before = (await countRows(t.db));
    await expect(initHierarchy(t.pki, { algorithm: 'sm2', passphrase: PASS })).rejects.toThrow(/^the CA hierarchy exists already \(root [0-9a-f]+, ecdsa-p256, created .*\); nothing changed/);
    expect((await countRows(t.db))).toEqual({ ...before, audit: before.audit + 1 });
    expect((await lastAudit(t.db))).toMatchObject({ action: 'pki.init', outcome: 'refused' });
  });

  it('GIVEN an unknown serial or a second revocation THEN markRevoked refuses and audits', async () => {
    const serial = (await t.pki.listCertificates({ status: 'active' }))[0]!.serial;
    await expect(t.pki.markRevoked('ffff', 'keyCompromise')).rejects.toThrow('unknown serial: got "ffff", want the serial of a certificate in this store (list them with: jinbao pki list)');
    expect((await lastAudit(t.db))).toMatchObject({ action: 'pki.revoke', outcome: 'refused' });
    const seq = await t.pki.revocationSeq();
    const rec = await t.pki.markRevoked(serial.toUpperCase().replace(/(..)(?!$)/g, '$1:'), 'superseded');
    expect(rec).toMatchObject({ status: 'revoked', revocationReason: 'superseded', revocationSeq: seq + 1 });
    expect((await lastAudit(t.db))).toMatchObject({ action: 'pki.revoke', outcome: 'ok' });
    await expect(t.pki.markRevoked(serial, 'keyCompromise')).rejects.toThrow(`certificate ${serial} is already revoked (since ${rec.revokedAt!.toISOString()}, reason superseded); nothing changed`);
    expect(await t.pki.revocationSeq()).toBe(seq + 1);
    const revoked: string[] = [];
    for await (const e of t.pki.revokedEntries(rec.caId)) revoked.push(e.serial);
    expect(revoked).toContain(serial);
  });

  it('GIVEN a revoked issuing CA THEN it issues nothing more (last: it changes the hierarchy)', async () => {
    await t.pki.markCaRevoked('infrastructure', 'cACompromise');
    await expectRefused({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=after.example' } }, 'issuing CA infrastructure: got a revoked CA (since ');
  });
});
