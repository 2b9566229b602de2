import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $, type Shell } from 'zx';
import type { CatalogueMessage } from '../lib/errors.js';
import { catalogueMessage, type MessageParams } from '../lib/i18n/index.js';
import { DR_MESSAGES } from './messages.js';
import type { NodeName } from './model.js';

export interface KeyPairPem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Certificates for replication over mutual TLS: one server certificate per node, one client certificate. */
export interface ReplicaTlsMaterial {
  /** Where the material came from, shown in reports ("pki" or "lab-only ..."). */
  readonly source: string;
  readonly caPem: string;
  readonly servers: Readonly<Record<NodeName, KeyPairPem>>;
  /** Client certificate whose common name is the replication user. */
  readonly client: KeyPairPem;
}

export interface ReplicaTlsRequest {
  readonly site: string;
  readonly nodes: readonly NodeName[];
  /** Common name of the client certificate (PostgreSQL `cert` authentication maps it to the role). */
  readonly clientUser: string;
  readonly days: number;
}

/** A source of replica mTLS material: the PKI when present, otherwise lab-only certificates. */
export interface ReplicaTlsSource {
  readonly label: string;
  issue(request: ReplicaTlsRequest): Promise<ReplicaTlsMaterial>;
}

export const LAB_TLS_LABEL = 'lab-only certificates generated with openssl (not the jinbao PKI)';

/**
 * Lab-only replica certificates: a throwaway ECDSA P-256 CA made with openssl for one lab. Never
 * used outside the embedded lab; the PKI's replica-mTLS profile replaces it when wired in.
 */
export function labTlsSource(shell: Shell = $({ quiet: true, verbose: false })): ReplicaTlsSource {
  return {
    label: LAB_TLS_LABEL,
    async issue(req) {
      const dir = mkdtempSync(join(tmpdir(), 'jinbao-lab-tls-'));
      try {
        const days = String(req.days);
        const ca = { key: join(dir, 'ca.key'), crt: join(dir, 'ca.crt') };
        await shell`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ${ca.key} -out ${ca.crt} -days ${days} -subj ${`/O=jinbao DR lab (lab-only)/CN=jinbao DR lab CA ${req.site}`} -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign`.timeout('30s');
        const leaf = async (name: string, subject: string, exts: readonly string[]): Promise<KeyPairPem> => {
          const key = join(dir, `${name}.key`);
          const csr = join(dir, `${name}.csr`);
          const crt = join(dir, `${name}.crt`);
          const addext = exts.flatMap((e) => ['-addext', e]);
          await shell`openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ${key} -out ${csr} -subj ${subject} ${addext}`.timeout('30s');
          await shell`openssl x509 -req -in ${csr} -CA ${ca.crt} -CAkey ${ca.key} -CAcreateserial -days ${days} -copy_extensions copy -out ${crt}`.timeout('30s');
          return { certPem: readFileSync(crt, 'utf8'), keyPem: readFileSync(key, 'utf8') };
        };
        const servers = {} as Record<NodeName, KeyPairPem>;
        for (const node of req.nodes) {
          servers[node] = await leaf(node, `/O=jinbao DR lab (lab-only)/CN=${node}.dr-lab.${req.site}`, [
            'subjectAltName=IP:127.0.0.1,DNS:localhost',
            'extendedKeyUsage=serverAuth',
            'keyUsage=critical,digitalSignature',
          ]);
        }
        const client = await leaf('client', `/O=jinbao DR lab (lab-only)/CN=${req.clientUser}`, ['extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature']);
        return { source: LAB_TLS_LABEL, caPem: readFileSync(ca.crt, 'utf8'), servers, client };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export interface CertificateCheck {
  readonly file: string;
  readonly subject: string;
  readonly notAfter: string;
  /** What is wrong, in English; `localizedProblem` is the same as a catalogue entry (`cert.*`). */
  readonly problem?: string;
  readonly localizedProblem?: CatalogueMessage;
}

/** A certificate problem from the catalogue (`cert.<key>`): English in `problem`, the reader's language in `localizedProblem`. */
export function problem(key: string, params: MessageParams): { problem: string; localizedProblem: CatalogueMessage } {
  const m = catalogueMessage(DR_MESSAGES, `cert.${key}`, params);
  return { problem: m.message, localizedProblem: m.localized };
}

/** Check a certificate is within its validity period (with `marginMs` to spare) and, when a CA is given, signed by it. */
export function checkCertificate(file: string, pem: string, caPem: string | undefined, now: number, marginMs = 0): CertificateCheck {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    return { file, subject: '?', notAfter: '?', ...problem('notPem', { why: (err as Error).message }) };
  }
  const notAfter = Date.parse(cert.validTo);
  const notBefore = Date.parse(cert.validFrom);
  const base = { file, subject: cert.subject.replace(/\n/g, ', '), notAfter: new Date(notAfter).toISOString() };
  if (now < notBefore) return { ...base, ...problem('notYetValid', { from: new Date(notBefore).toISOString() }) };
  if (now + marginMs > notAfter) return { ...base, ...problem('expiring', { until: base.notAfter }) };
  if (caPem === undefined) return base;
  const anchors = [...caPem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
  if (!anchors.some((ca) => cert.verify(ca.publicKey))) {
    return { ...base, ...problem('notSignedByCa', { anchors: anchors.map((a) => a.subject.replace(/\n/g, ', ')).join('; ') }) };
  }
  return base;
}
