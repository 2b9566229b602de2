import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import * as pkijs from 'pkijs';
import { sm2 } from 'sm-crypto-v2';
import type { Fabric } from '../fabric/index.js';
import { InputError } from '../lib/errors.js';
import { OID, SM2_DEFAULT_ID, type CaAlgorithm } from './algorithms.js';
import { chainOf, INFRASTRUCTURE_CA_ID } from './ca.js';
import { Issuer } from './pipeline.js';
import type { PkiStore } from './store.js';
import { fromPem, toPem } from './x509.js';

/**
 * What other features need from the PKI, ready to use: TLS material for DR replication servers,
 * and a signer (with its verifier) for evidence such as drill reports.
 */

export interface ReplicaTlsRequest {
  /** Inventory site where the server runs. */
  readonly site: string;
  readonly commonName: string;
  /** @default [commonName] */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** Passphrase of the CA keys. */
  readonly passphrase: string;
  /** @default the profile's (365 days) */
  readonly validityDays?: number;
  readonly actor?: string;
}

export interface ReplicaTlsMaterial {
  readonly serial: string;
  readonly notAfter: Date;
  /** The server's certificate (replica-mtls: serverAuth and clientAuth). */
  readonly certificatePem: string;
  /** Unencrypted PKCS#8: write it with mode 0600 (PostgreSQL refuses looser keys). */
  readonly privateKeyPem: string;
  /** Certificate followed by the infrastructure CA: what ssl_cert_file should hold. */
  readonly fullChainPem: string;
  /** Trust anchors for the peer: the root CA and the infrastructure CA (ssl_ca_file / sslrootcert). */
  readonly caBundlePem: string;
}

/** Issue a replica-mtls certificate with a fresh key for one PostgreSQL (or other) replication server. */
export async function replicaTlsMaterial(pki: PkiStore, fabric: Fabric, req: ReplicaTlsRequest): Promise<ReplicaTlsMaterial> {
  const issuer = new Issuer(pki, fabric, req.passphrase);
  const issued = await issuer.issue({
    profile: 'replica-mtls',
    site: req.site,
    generate: { subject: `CN=${req.commonName}` },
    dns: req.dnsNames ?? [req.commonName],
    ...(req.ipAddresses ? { ip: req.ipAddresses } : {}),
    ...(req.validityDays !== undefined ? { validityDays: req.validityDays } : {}),
    ...(req.actor ? { actor: req.actor } : {}),
  });
  const certificatePem = toPem(issued.certificateDer);
  return {
    serial: issued.record.serial,
    notAfter: issued.record.notAfter,
    certificatePem,
    privateKeyPem: issued.key!.exportPkcs8(),
    fullChainPem: certificatePem + toPem(issued.chainDer[0]!),
    caBundlePem: await caBundlePem(pki),
  };
}

/** Root and the current infrastructure CA's certificates, PEM (a replaced CA's successor, never the revoked CA). Refused when the current one is revoked: peers would trust a compromised CA. */
export async function caBundlePem(pki: PkiStore): Promise<string> {
  // The infrastructure CA of today: the original, or its successor once replaced (pki replace-ca).
  const infra = (await pki.currentCa(INFRASTRUCTURE_CA_ID))?.id ?? INFRASTRUCTURE_CA_ID;
  const revoked = await pki.revokedCaInChain(infra);
  if (revoked) {
    throw new InputError(
      `CA bundle for replica TLS: got a chain through CA ${revoked.id}, revoked since ${revoked.revokedAt?.toISOString()} (${revoked.revocationReason}), want an unrevoked chain; ${infra} issues nothing more, so replicas need its successor: jinbao pki replace-ca --ca ${infra}, then new replica certificates (jinbao up)`,
    );
  }
  return (await chainOf(pki, infra))
    .reverse()
    .map((d) => toPem(d))
    .join('');
}

/** A detached signature over evidence, self-contained for verification. */
export interface EvidenceSignature {
  readonly algorithm: CaAlgorithm;
  readonly signatureAlgorithmOid: string;
  /** Base64 DER signature over the exact payload bytes. */
  readonly signature: string;
  readonly signedAt: string;
  /** The signer's certificate (evidence-signing profile) and the CA above it. */
  readonly certificatePem: string;
  readonly chainPem: string;
}

export interface EvidenceSigner {
  readonly serial: string;
  readonly certificatePem: string;
  sign(payload: Uint8Array | string): Promise<EvidenceSignature>;
}

/**
 * Issue an evidence-signing certificate with a fresh key held only in memory, and return a signer
 * for it. One signer per drill run: the key never touches the disk.
 */
export async function evidenceSigner(pki: PkiStore, fabric: Fabric, opts: { site: string; commonName: string; passphrase: string; validityDays?: number; algorithm?: CaAlgorithm; actor?: string }): Promise<EvidenceSigner> {
  const issuer = new Issuer(pki, fabric, opts.passphrase);
  const issued = await issuer.issue({
    profile: 'evidence-signing',
    site: opts.site,
    generate: { subject: `CN=${opts.commonName}`, ...(opts.algorithm ? { algorithm: opts.algorithm } : {}) },
    ...(opts.validityDays !== undefined ? { validityDays: opts.validityDays } : {}),
    ...(opts.actor ? { actor: opts.actor } : {}),
  });
  const signer = issued.key!.signer;
  const certificatePem = toPem(issued.certificateDer);
  const chainPem = issued.chainDer.map((d) => toPem(d)).join('');
  return {
    serial: issued.record.serial,
    certificatePem,
    async sign(payload) {
      const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
      const sig = await signer.sign(bytes);
      return { algorithm: signer.algorithm, signatureAlgorithmOid: signer.signatureAlgorithmOid, signature: Buffer.from(sig).toString('base64'), signedAt: new Date().toISOString(), certificatePem, chainPem };
    },
  };
}

export interface EvidenceVerification {
  readonly ok: boolean;
  /** Why verification failed ("got X, want Y"). */
  readonly reason?: string;
  readonly signer?: { readonly subject: string; readonly serial: string };
}

const HASH_BY_SIG: Readonly<Record<string, string>> = {
  [OID.ecdsaSha256]: 'sha256',
  [OID.ecdsaSha384]: 'sha384',
  [OID.sha256WithRsa]: 'sha256',
  [OID.sha384WithRsa]: 'sha384',
};

function verifyWith(spki: pkijs.PublicKeyInfo, sigOid: string, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (sigOid === OID.sm2WithSm3) {
      const pub = Buffer.from(spki.subjectPublicKey.valueBlock.valueHexView).toString('hex');
      return sm2.doVerifySignature(data, Buffer.from(signature).toString('hex'), pub, { der: true, hash: true, userId: SM2_DEFAULT_ID });
    }
    const hash = HASH_BY_SIG[sigOid];
    if (!hash) return false;
    return nodeVerify(hash, data, createPublicKey({ key: Buffer.from(spki.toSchema().toBER(false)), format: 'der', type: 'spki' }), signature);
  } catch {
    return false;
  }
}

function certSignedBy(child: pkijs.Certificate, issuer: pkijs.Certificate): boolean {
  return verifyWith(issuer.subjectPublicKeyInfo, child.signatureAlgorithm.algorithmId, new Uint8Array(child.tbsView), new Uint8Array(child.signatureValue.valueBlock.valueHexView));
}

/**
 * Verify evidence: the signature over `payload`, the signer certificate's chain up to `rootPem`
 * (the trusted national root), validity at the signing time, and, when a store is given, that
 * neither the signer certificate nor any CA on its chain is revoked.
 */
export async function verifyEvidence(payload: Uint8Array | string, sig: EvidenceSignature, trust: { rootPem: string; pki?: PkiStore }): Promise<EvidenceVerification> {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  let leaf: pkijs.Certificate;
  let chain: pkijs.Certificate[];
  let root: pkijs.Certificate;
  try {
    leaf = pkijs.Certificate.fromBER(fromPem(sig.certificatePem, 'CERTIFICATE'));
    chain = [...sig.chainPem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => pkijs.Certificate.fromBER(fromPem(m[0], 'CERTIFICATE')));
    root = pkijs.Certificate.fromBER(fromPem(trust.rootPem, 'CERTIFICATE'));
  } catch (err) {
    return { ok: false, reason: `unreadable signature bundle: ${(err as Error).message}` };
  }
  const serial = Buffer.from(leaf.serialNumber.valueBlock.valueHexView).toString('hex').replace(/^(00)+/, '');
  const subject = leaf.subject.typesAndValues.map((t) => String((t.value.valueBlock as { value?: unknown }).value)).join(', ');
  const signer = { subject, serial };
  if (!verifyWith(leaf.subjectPublicKeyInfo, sig.signatureAlgorithmOid, bytes, Buffer.from(sig.signature, 'base64'))) {
    return { ok: false, reason: 'signature: got one that does not match the payload, want a signature by the certificate\'s key over these exact bytes (the evidence was altered)', signer };
  }
  const rootDer = Buffer.from(root.toSchema().toBER(false));
  let current = leaf;
  for (const next of chain) {
    if (!certSignedBy(current, next)) return { ok: false, reason: 'chain: got a certificate not signed by the next one in the bundle, want an unbroken chain', signer };
    current = next;
  }
  if (!Buffer.from(current.toSchema().toBER(false)).equals(rootDer) && !certSignedBy(current, root)) {
    return { ok: false, reason: 'chain: got a chain that does not end at the trusted root, want one issued under it', signer };
  }
  const at = new Date(sig.signedAt);
  if (at < leaf.notBefore.value || at > leaf.notAfter.value) return { ok: false, reason: `validity: got a signature made ${sig.signedAt}, want one within the certificate's validity (${leaf.notBefore.value.toISOString()} to ${leaf.notAfter.value.toISOString()})`, signer };
  if (trust.pki) {
    const rec = await trust.pki.findCertificate(serial);
    if (rec?.status === 'revoked') return { ok: false, reason: `revocation: got a signer certificate revoked at ${rec.revokedAt?.toISOString()} (${rec.revocationReason}), want an unrevoked one`, signer };
    // The chain checks above tie every CA on the way to the root into the bundle, so its serials name them all.
    const chainCas = await Promise.all(chain.map((c) => trust.pki!.findCaBySerial(Buffer.from(c.serialNumber.valueBlock.valueHexView).toString('hex'))));
    const revokedCa = chainCas.find((ca) => ca?.status === 'revoked');
    if (revokedCa) {
      return { ok: false, reason: `revocation: got a chain through CA ${revokedCa.id}, revoked at ${revokedCa.revokedAt?.toISOString()} (${revokedCa.revocationReason}), want an unrevoked chain`, signer };
    }
  }
  return { ok: true, signer };
}
