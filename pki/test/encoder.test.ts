import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as pkijs from 'pkijs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { children, derLength, readTlv, tlv } from '../der.js';
import { CA_ALGORITHMS, keyUsageFor, nameFromPkijs, PROFILES, type CaAlgorithm, type DistinguishedName, type ProfileName, type SubscriberKey } from '../index.js';
import { crlUrlsFor, urlsFor } from '../profiles.js';
import { buildExtensionsPkijs, encodeTbsPkijs, nameToPkijs, spkiKeyIdPkijs } from './pkijs-reference.js';
import { mustOpenssl, openssl, opensslCsr, opensslKey, testPki, verifyWithOpenssl, type KeyKind, type TestPki } from './helpers.js';

/**
 * The hand-written certificate encoder, judged twice: OpenSSL verifies and displays what it
 * writes, and the TBSCertificate is byte-for-byte what the pkijs object-tree encoder writes for
 * the same inputs.
 */

const SUBSCRIBER_KEY: Record<CaAlgorithm, KeyKind> = { 'ecdsa-p256': 'p256', 'ecdsa-p384': 'p384', 'rsa-3072': 'rsa2048', sm2: 'sm2' };
const SUBSCRIBER_KEY_TYPE: Record<CaAlgorithm, SubscriberKey> = { 'ecdsa-p256': { type: 'ec', curve: 'P-256' }, 'ecdsa-p384': { type: 'ec', curve: 'P-384' }, 'rsa-3072': { type: 'rsa', bits: 2048 }, sm2: { type: 'sm2' } };
const KEY_USAGE_TEXT = { digitalSignature: 'Digital Signature', nonRepudiation: 'Non Repudiation', keyEncipherment: 'Key Encipherment' } as Record<string, string>;
const EKU_TEXT = { serverAuth: 'TLS Web Server Authentication', clientAuth: 'TLS Web Client Authentication', OCSPSigning: 'OCSP Signing' } as Record<string, string>;
const PURPOSES: Record<ProfileName, string | undefined> = {
  'staff-auth': 'sslclient',
  'staff-sign': undefined,
  'server-tls': 'sslserver',
  'replica-mtls': 'sslclient',
  'ocsp-signing': 'ocsphelper',
  'evidence-signing': undefined,
};
const IDENTITY = '11010519491231002X';
const INSURANCE = 'A1234567';

/** The line after an extension's header in `openssl x509 -text` output, or undefined. */
function extensionText(text: string, header: string): string | undefined {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.trim() === header);
  return i === -1 ? undefined : lines[i + 1]!.trim();
}

/** The TBSCertificate slice of a Certificate. */
function tbsOf(der: Uint8Array): Uint8Array {
  const tbs = children(der, readTlv(der, 0))[0]!;
  return der.subarray(tbs.start, tbs.end);
}

describe.each(CA_ALGORITHMS)('certificates written by the DER encoder under a %s hierarchy', (algorithm) => {
  let t: TestPki;
  let key: string;
  beforeAll(async () => {
    t = await testPki(algorithm);
    key = opensslKey(t.dir, 'subscriber', SUBSCRIBER_KEY[algorithm]);
  });
  afterAll(() => t.cleanup());

  const issue = async (profile: ProfileName) => {
    const p = PROFILES[profile];
    const sm2 = algorithm === 'sm2';
    if (p.staff) {
      const csr = opensslCsr(t.dir, key, '/CN=张三/serialNumber=S0001', { sm2, name: profile, addext: ['subjectAltName=email:zhang.san@hrss.example.cn'] });
      return t.issuer.issue({ profile, site: '440100', csr, identityCode: IDENTITY, insuranceNumber: INSURANCE });
    }
    const cn = `${profile}.s440100.jinbao.internal`;
    const csr = opensslCsr(t.dir, key, `/CN=${cn}`, { sm2, name: profile });
    const sans = p.san.dns === 'forbidden' ? {} : { dns: [`alt.${cn}`], ip: ['10.4.1.10'] };
    return t.issuer.issue({ profile, site: '440100', csr, ...sans, ...(profile === 'ocsp-signing' ? { caId: 'province-440000-staff' } : {}) });
  };

  it.each(Object.keys(PROFILES) as ProfileName[])('GIVEN a %s request THEN openssl verify accepts the certificate and -text shows exactly the profile', async (profile) => {
    const p = PROFILES[profile];
    const issued = await issue(profile);
    const v = verifyWithOpenssl(t.dir, algorithm, issued.certificateDer, issued.chainDer, PURPOSES[profile]);
    expect(v.output).toContain('OK');
    expect(v.code).toBe(0);

    const file = join(t.dir, `${profile}.der`);
    writeFileSync(file, issued.certificateDer);
    const text = mustOpenssl(['x509', '-inform', 'DER', '-in', file, '-noout', '-text', '-nameopt', 'utf8']);
    const urls = urlsFor('http://pki.jinbao.internal', issued.record.caId);
    expect(text).toContain('Version: 3 (0x2)');
    expect(extensionText(text, 'X509v3 Basic Constraints: critical')).toBe('CA:FALSE');
    expect(extensionText(text, 'X509v3 Key Usage: critical')).toBe(keyUsageFor(p, SUBSCRIBER_KEY_TYPE[algorithm]).map((u) => KEY_USAGE_TEXT[u]).join(', '));
    expect(extensionText(text, 'X509v3 Extended Key Usage:')).toBe(p.extendedKeyUsage.length ? p.extendedKeyUsage.map((u) => EKU_TEXT[u]).join(', ') : undefined);
    const san = p.staff ? 'email:zhang.san@hrss.example.cn' : p.san.dns === 'forbidden' ? undefined : `DNS:${profile}.s440100.jinbao.internal, DNS:alt.${profile}.s440100.jinbao.internal, IP Address:10.4.1.10`;
    expect(extensionText(text, 'X509v3 Subject Alternative Name:')).toBe(san);
    expect(extensionText(text, 'X509v3 CRL Distribution Points:')).toBe(p.urls.crl ? 'Full Name:' : undefined);
    // Issuing CAs' certificates name the CRL partition they were issued into.
    if (p.urls.crl) expect(issued.record.crlPartition).toEqual(expect.any(Number));
    if (p.urls.crl) expect(text).toContain(`URI:${crlUrlsFor('http://pki.jinbao.internal', issued.record.caId, issued.record.crlPartition).full}`);
    const aia = [...(p.urls.ocsp ? [`OCSP - URI:${urls.ocsp}`] : []), ...(p.urls.caIssuers ? [`CA Issuers - URI:${urls.caIssuers}`] : [])];
    const aiaAt = text.split('\n').findIndex((l) => l.trim() === 'Authority Information Access:');
    expect(text.split('\n').slice(aiaAt + 1, aiaAt + 1 + aia.length).map((l) => l.trim())).toEqual(aia);
    expect(text.includes('OCSP No Check')).toBe(p.ocspNoCheck);
    expect(text).toMatch(/X509v3 Subject Key Identifier:\s+\n\s+([0-9A-F]{2}:){19}[0-9A-F]{2}/);
    expect(text).toMatch(/X509v3 Authority Key Identifier:\s+\n\s+([0-9A-F]{2}:){19}[0-9A-F]{2}/);
    expect(text.includes('1.2.156.10260.4.1.1:')).toBe(p.gm.identityCode);
    expect(text.includes(IDENTITY)).toBe(p.gm.identityCode);
    expect(text.includes('1.2.156.10260.4.1.2:')).toBe(p.gm.insuranceNumber);
    expect(text.includes(INSURANCE)).toBe(p.gm.insuranceNumber);
    if (p.staff) expect(text).toContain('Subject: C=CN, O=site 440100人力资源和社会保障局, serialNumber=S0001, CN=张三');
  });

  it.each(Object.keys(PROFILES) as ProfileName[])('GIVEN a %s certificate THEN its TBSCertificate is byte for byte what the pkijs encoder writes for the same inputs', async (profile) => {
    const p = PROFILES[profile];
    const issued = await issue(profile);
    const cert = pkijs.Certificate.fromBER(issued.certificateDer);
    const ca = (await t.pki.getCa(issued.record.caId))!;
    const caCert = pkijs.Certificate.fromBER(ca.der);
    const spkiDer = new Uint8Array(cert.subjectPublicKeyInfo.toSchema().toBER(false));
    const urls = urlsFor('http://pki.jinbao.internal', ca.id);
    const san = { dns: [] as string[], ip: [] as string[], email: [] as string[] };
    for (const s of issued.record.sans) {
      const [kind, value] = [s.slice(0, s.indexOf(':')), s.slice(s.indexOf(':') + 1)];
      (kind === 'DNS' ? san.dns : kind === 'IP' ? san.ip : san.email).push(value);
    }
    const reference = encodeTbsPkijs({
      serial: issued.record.serial,
      issuer: caCert.subject,
      subject: nameToPkijs(nameFromPkijs(cert.subject) as DistinguishedName),
      notBefore: issued.record.notBefore,
      notAfter: issued.record.notAfter,
      spkiDer,
      algorithm,
      extensions: buildExtensionsPkijs({
        keyUsage: keyUsageFor(p, SUBSCRIBER_KEY_TYPE[algorithm]),
        extendedKeyUsage: p.extendedKeyUsage,
        subjectKeyId: spkiKeyIdPkijs(spkiDer),
        authorityKeyId: spkiKeyIdPkijs(new Uint8Array(caCert.subjectPublicKeyInfo.toSchema().toBER(false))),
        san,
        ...(p.urls.crl ? { crlUrl: crlUrlsFor('http://pki.jinbao.internal', ca.id, issued.record.crlPartition).full } : {}),
        ...(p.urls.ocsp ? { ocspUrl: urls.ocsp } : {}),
        ...(p.urls.caIssuers ? { caIssuersUrl: urls.caIssuers } : {}),
        ocspNoCheck: p.ocspNoCheck,
        gm: p.staff ? { identityCode: IDENTITY, insuranceNumber: INSURANCE } : {},
      }),
    });
    expect(Buffer.from(tbsOf(issued.certificateDer)).toString('hex')).toBe(Buffer.from(reference).toString('hex'));
  });

  it('GIVEN the hierarchy THEN each CA certificate is byte for byte what the pkijs encoder writes, and openssl asn1parse reads it to the end', async () => {
    for (const ca of await t.pki.listCas()) {
      const cert = pkijs.Certificate.fromBER(ca.der);
      const parent = pkijs.Certificate.fromBER((await t.pki.getCa(ca.parentId ?? ca.id))!.der);
      const spkiDer = new Uint8Array(cert.subjectPublicKeyInfo.toSchema().toBER(false));
      const reference = encodeTbsPkijs({
        serial: ca.serial,
        issuer: parent.subject,
        subject: nameToPkijs(nameFromPkijs(cert.subject) as DistinguishedName),
        notBefore: ca.notBefore,
        notAfter: ca.notAfter,
        spkiDer,
        algorithm,
        extensions: buildExtensionsPkijs({
          ca: { pathLength: ca.parentId ? 0 : 1 },
          keyUsage: ['keyCertSign', 'cRLSign', ...(ca.parentId ? (['digitalSignature'] as const) : [])],
          subjectKeyId: spkiKeyIdPkijs(spkiDer),
          authorityKeyId: spkiKeyIdPkijs(new Uint8Array(parent.subjectPublicKeyInfo.toSchema().toBER(false))),
          // Issuing CAs name their parent's CRL, OCSP and certificate URLs; the root names none.
          ...(ca.parentId ? { crlUrl: urlsFor('http://pki.jinbao.internal', ca.parentId).crl, ocspUrl: urlsFor('http://pki.jinbao.internal', ca.parentId).ocsp, caIssuersUrl: urlsFor('http://pki.jinbao.internal', ca.parentId).caIssuers } : {}),
        }),
      });
      expect(Buffer.from(tbsOf(ca.der)).toString('hex')).toBe(Buffer.from(reference).toString('hex'));
      const file = join(t.dir, `${ca.id}.der`);
      writeFileSync(file, ca.der);
      const parsed = openssl(['asn1parse', '-inform', 'DER', '-in', file]);
      expect(parsed.code).toBe(0);
      expect(parsed.stderr).toBe('');
    }
  });
});

describe('subjects as operators type them', () => {
  it('GIVEN the comma form or OpenSSL\'s slash form THEN both parse to the same attributes, escapes kept, and subjectText gives the comma form back', async () => {
    const { parseSubject, subjectText } = await import('../x509.js');
    const want = [{ type: 'CN', value: '张三' }, { type: 'serialNumber', value: 'S0001' }];
    expect(parseSubject('CN=张三, serialNumber=S0001')).toEqual(want);
    expect(parseSubject('/CN=张三/serialNumber=S0001')).toEqual(want);
    expect(parseSubject('/CN=a\\/b/O=x, y')).toEqual([{ type: 'CN', value: 'a/b' }, { type: 'O', value: 'x, y' }]);
    expect(subjectText(parseSubject('/CN=a\\/b/O=x, y'))).toBe('CN=a/b, O=x\\, y');
    expect(parseSubject(subjectText(parseSubject('/CN=a\\/b/O=x, y')))).toEqual([{ type: 'CN', value: 'a/b' }, { type: 'O', value: 'x, y' }]);
    expect(() => parseSubject('/CN=a/nonsense')).toThrow(/want TYPE=VALUE pairs/);
  });
});

describe('DER lengths', () => {
  it('GIVEN contents on each side of every length-form boundary THEN tlv writes tag, length and contents as the reference encoding does, and readTlv reads them back', () => {
    for (const n of [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffff, 0x1000000]) {
      const content = Buffer.alloc(n, 0xab);
      const expected = Buffer.concat([Buffer.from([0x04]), derLength(n), content]);
      // in one piece and in several
      for (const written of [tlv(0x04, content), tlv(0x04, [content.subarray(0, n >> 1), Buffer.alloc(0), content.subarray(n >> 1)])]) {
        expect(written.length).toBe(expected.length);
        expect(written.equals(expected)).toBe(true);
        const read = readTlv(written, 0);
        expect(read.tag).toBe(0x04);
        expect(read.end).toBe(written.length);
      }
    }
  });
});
