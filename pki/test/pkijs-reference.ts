import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { CA_ALGORITHM_SPECS, type CaAlgorithm } from '../algorithms.js';
import { EXT, EXTENDED_KEY_USAGES, KEY_USAGES, NAME_ATTRIBUTES, type DistinguishedName, type ExtensionSpec, type KeyUsage } from '../x509.js';

/**
 * The certificate encoder as it was built with pkijs object trees, kept as the reference the
 * hand-written DER encoder must match byte for byte.
 */

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** One attribute per RDN (pkijs alone would put them all in one multi-valued RDN). */
export function nameToPkijs(name: DistinguishedName): pkijs.RelativeDistinguishedNames {
  const seq = new asn1js.Sequence({
    value: name.map(
      (a) =>
        new asn1js.Set({
          value: [
            new pkijs.AttributeTypeAndValue({
              type: NAME_ATTRIBUTES[a.type],
              value: (a.type === 'C' || a.type === 'serialNumber') && PRINTABLE.test(a.value) ? new asn1js.PrintableString({ value: a.value }) : new asn1js.Utf8String({ value: a.value }),
            }).toSchema(),
          ],
        }),
    ),
  });
  return pkijs.RelativeDistinguishedNames.fromBER(seq.toBER(false));
}

function keyUsageBits(usages: readonly KeyUsage[]): asn1js.BitString {
  let bits = 0;
  for (const u of usages) bits |= 1 << (15 - KEY_USAGES.indexOf(u));
  const bytes = bits & 0xff ? [bits >> 8, bits & 0xff] : [bits >> 8];
  const last = bytes[bytes.length - 1]!;
  let unused = 0;
  while (unused < 7 && (last & (1 << unused)) === 0) unused++;
  return new asn1js.BitString({ valueHex: new Uint8Array(bytes).buffer, unusedBits: last === 0 ? 0 : unused });
}

function ext(extnID: string, critical: boolean, value: asn1js.BaseBlock): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toBER(false) });
}

function ipBytes(ip: string): Uint8Array {
  const v4 = ip.split('.');
  if (v4.length === 4 && v4.every((p) => /^\d{1,3}$/.test(p) && Number(p) < 256)) return new Uint8Array(v4.map(Number));
  throw new Error(`not an IPv4 address: ${ip}`);
}

export function buildExtensionsPkijs(s: ExtensionSpec): pkijs.Extension[] {
  const out: pkijs.Extension[] = [];
  out.push(ext(EXT.basicConstraints, true, new pkijs.BasicConstraints(s.ca ? { cA: true, ...(s.ca.pathLength !== undefined ? { pathLenConstraint: s.ca.pathLength } : {}) } : {}).toSchema()));
  out.push(ext(EXT.keyUsage, true, keyUsageBits(s.keyUsage)));
  if (s.extendedKeyUsage?.length) out.push(ext(EXT.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: s.extendedKeyUsage.map((e) => EXTENDED_KEY_USAGES[e]) }).toSchema()));
  out.push(ext(EXT.subjectKeyIdentifier, false, new asn1js.OctetString({ valueHex: s.subjectKeyId })));
  if (s.authorityKeyId) out.push(ext(EXT.authorityKeyIdentifier, false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: s.authorityKeyId }) }).toSchema()));
  const names: pkijs.GeneralName[] = [
    ...(s.san?.dns ?? []).map((d) => new pkijs.GeneralName({ type: 2, value: d })),
    ...(s.san?.ip ?? []).map((ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipBytes(ip) }) })),
    ...(s.san?.email ?? []).map((e) => new pkijs.GeneralName({ type: 1, value: e })),
  ];
  if (names.length) out.push(ext(EXT.subjectAltName, false, new pkijs.GeneralNames({ names }).toSchema()));
  if (s.crlUrl) {
    out.push(
      ext(
        EXT.crlDistributionPoints,
        false,
        new pkijs.CRLDistributionPoints({ distributionPoints: [new pkijs.DistributionPoint({ distributionPoint: [new pkijs.GeneralName({ type: 6, value: s.crlUrl })] })] }).toSchema(),
      ),
    );
  }
  const access: pkijs.AccessDescription[] = [];
  if (s.ocspUrl) access.push(new pkijs.AccessDescription({ accessMethod: '1.3.6.1.5.5.7.48.1', accessLocation: new pkijs.GeneralName({ type: 6, value: s.ocspUrl }) }));
  if (s.caIssuersUrl) access.push(new pkijs.AccessDescription({ accessMethod: '1.3.6.1.5.5.7.48.2', accessLocation: new pkijs.GeneralName({ type: 6, value: s.caIssuersUrl }) }));
  if (access.length) out.push(ext(EXT.authorityInfoAccess, false, new pkijs.InfoAccess({ accessDescriptions: access }).toSchema()));
  if (s.ocspNoCheck) out.push(ext(EXT.ocspNoCheck, false, new asn1js.Null()));
  if (s.gm?.identityCode !== undefined) {
    // IdentityCode ::= CHOICE { residenterCardNumber [0] PrintableString, ... }
    const inner = new asn1js.PrintableString({ value: s.gm.identityCode });
    out.push(ext(EXT.gmIdentityCode, false, new asn1js.Sequence({ value: [new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: inner.valueBlock.valueHexView.slice().buffer })] })));
  }
  if (s.gm?.insuranceNumber !== undefined) out.push(ext(EXT.gmInsuranceNumber, false, new asn1js.PrintableString({ value: s.gm.insuranceNumber })));
  return out;
}

export interface PkijsTbsSpec {
  readonly serial: string;
  readonly issuer: pkijs.RelativeDistinguishedNames;
  readonly subject: pkijs.RelativeDistinguishedNames;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly spkiDer: Uint8Array;
  readonly extensions: pkijs.Extension[];
  readonly algorithm: CaAlgorithm;
}

function signatureAlgorithm(algorithm: CaAlgorithm): pkijs.AlgorithmIdentifier {
  const spec = CA_ALGORITHM_SPECS[algorithm];
  return new pkijs.AlgorithmIdentifier({ algorithmId: spec.signatureAlgorithmOid, ...(spec.nullParams ? { algorithmParams: new asn1js.Null() } : {}) });
}

function time(d: Date): pkijs.Time {
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return new pkijs.Time({ type: d.getUTCFullYear() >= 2050 ? 1 : 0, value: d });
}

/** Encode the TBSCertificate (DER). */
export function encodeTbsPkijs(t: PkijsTbsSpec): Uint8Array {
  const cert = new pkijs.Certificate({
    version: 2,
    serialNumber: new asn1js.Integer({ valueHex: Buffer.from(t.serial, 'hex') }),
    signature: signatureAlgorithm(t.algorithm),
    issuer: t.issuer,
    subject: t.subject,
    notBefore: time(t.notBefore),
    notAfter: time(t.notAfter),
    subjectPublicKeyInfo: pkijs.PublicKeyInfo.fromBER(t.spkiDer),
    extensions: t.extensions,
  });
  return new Uint8Array(cert.encodeTBS().toBER(false));
}


export function spkiKeyIdPkijs(spkiDer: Uint8Array): Uint8Array {
  const spki = pkijs.PublicKeyInfo.fromBER(spkiDer);
  return createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest();
}
