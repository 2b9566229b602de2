import { createHash, X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import { request } from 'node:http';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AcmeProblem } from './problems.js';
import { inputError } from '../../lib/i18n/index.js';
import { PKI_MESSAGES } from '../messages.js';

/** One challenge to check: its type, the DNS name it proves and the key authorization expected. */
export interface ChallengeCheck {
  readonly type: 'http-01' | 'dns-01' | 'tls-alpn-01';
  /** The name without any "*." */
  readonly name: string;
  readonly token: string;
  readonly keyAuthorization: string;
}

/** Checks challenges; throws an AcmeProblem (connection, dns, incorrectResponse) when one fails. */
export interface ChallengeValidator {
  validate(c: ChallengeCheck): Promise<void>;
}

export interface NetworkValidatorOptions {
  /** Port http-01 fetches from. RFC 8555 fixes 80; labs and tests use another. @default 80 */
  readonly httpPort?: number;
  /** Port tls-alpn-01 connects to. RFC 8737 fixes 443; labs and tests use another. @default 443 */
  readonly tlsPort?: number;
  /** Names resolved from this map first (a hosts file's entries), then from the system resolver. */
  readonly hosts?: ReadonlyMap<string, string>;
  /** DNS servers for dns-01 TXT lookups ("127.0.0.1:5353"). @default the system's */
  readonly dnsServers?: readonly string[];
  /** @default 10000 */
  readonly timeoutMs?: number;
}

const MAX_BODY = 8 * 1024;

/** Read a hosts file ("ADDRESS name [name…]", "#" comments) into a name → address map. */
export function readHostsFile(file: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw inputError(PKI_MESSAGES, 'acmeHosts.read', { file, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
  }
  const hosts = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const [address, ...names] = line.split(/\s+/);
    if (!isIP(address!) || names.length === 0) throw inputError(PKI_MESSAGES, 'acmeHosts.line', { file, line: i + 1, text: line.slice(0, 80) });
    for (const n of names) if (!hosts.has(n.toLowerCase())) hosts.set(n.toLowerCase(), address!);
  });
  return hosts;
}

/** The acmeIdentifier extension (RFC 8737 §6.1): critical, an OCTET STRING holding SHA-256 of the key authorization. */
export const ACME_IDENTIFIER_OID = '1.3.6.1.5.5.7.1.31';

/**
 * http-01 over plain HTTP to the name's address, dns-01 as a TXT record under `_acme-challenge.`
 * (RFC 8555 §8.3, §8.4), tls-alpn-01 as a TLS handshake with ALPN acme-tls/1 whose certificate
 * names only the identifier and carries its acmeIdentifier (RFC 8737).
 */
export class NetworkValidator implements ChallengeValidator {
  private readonly resolver: Resolver;

  constructor(private readonly opts: NetworkValidatorOptions = {}) {
    this.resolver = new Resolver({ timeout: opts.timeoutMs ?? 10_000, tries: 2 });
    if (opts.dnsServers?.length) this.resolver.setServers([...opts.dnsServers]);
  }

  async validate(c: ChallengeCheck): Promise<void> {
    if (c.type === 'http-01') return this.http01(c);
    if (c.type === 'tls-alpn-01') return this.tlsAlpn01(c);
    return this.dns01(c);
  }

  private async tlsAlpn01(c: ChallengeCheck): Promise<void> {
    const address = await this.address(c.name, 'tls-alpn-01');
    const port = this.opts.tlsPort ?? 443;
    const where = `${c.name}:${port} (${address})`;
    const der = await new Promise<Buffer>((resolve, reject) => {
      const socket = tlsConnect({ host: address, port, servername: c.name, ALPNProtocols: ['acme-tls/1'], rejectUnauthorized: false, timeout: this.opts.timeoutMs ?? 10_000 }, () => {
        const protocol = socket.alpnProtocol;
        const cert = socket.getPeerCertificate();
        socket.end();
        if (protocol !== 'acme-tls/1') reject(new AcmeProblem('incorrectResponse', `tls-alpn-01 at ${where}: got ALPN ${JSON.stringify(protocol || 'none')}, want "acme-tls/1"`));
        else if (!cert?.raw) reject(new AcmeProblem('incorrectResponse', `tls-alpn-01 at ${where}: got no certificate, want the validation certificate`));
        else resolve(cert.raw);
      });
      socket.on('timeout', () => socket.destroy(new Error('timed out')));
      socket.on('error', (err) => reject(new AcmeProblem('connection', `tls-alpn-01 at ${where}: ${(err as NodeJS.ErrnoException).code ?? err.message}; want a TLS server offering ALPN acme-tls/1 on port ${port}`)));
    });
    checkAlpnCertificate(der, c, where);
  }

  private async address(name: string, type = 'http-01'): Promise<string> {
    const mapped = this.opts.hosts?.get(name);
    if (mapped) return mapped;
    try {
      return (await lookup(name)).address;
    } catch (err) {
      throw new AcmeProblem('dns', `${type} for ${name}: no address (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'}); want an A or AAAA record pointing at the server`);
    }
  }

  private async http01(c: ChallengeCheck): Promise<void> {
    const address = await this.address(c.name);
    const port = this.opts.httpPort ?? 80;
    const path = `/.well-known/acme-challenge/${c.token}`;
    const where = `http://${c.name}${port === 80 ? '' : `:${port}`}${path}`;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: address, port, path, method: 'GET', headers: { host: port === 80 ? c.name : `${c.name}:${port}`, 'user-agent': 'jinbao-acme-validator' }, timeout: this.opts.timeoutMs ?? 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (b: Buffer) => {
          size += b.length;
          if (size > MAX_BODY) {
            req.destroy();
            reject(new AcmeProblem('incorrectResponse', `http-01 at ${where}: got more than ${MAX_BODY} bytes, want the key authorization`));
            return;
          }
          chunks.push(b);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => reject(err instanceof AcmeProblem ? err : new AcmeProblem('connection', `http-01 at ${where} (${address}): ${(err as NodeJS.ErrnoException).code ?? err.message}; want an HTTP server answering on port ${port}`)));
      req.end();
    });
    if (status !== 200) throw new AcmeProblem('incorrectResponse', `http-01 at ${where}: got HTTP ${status}, want 200 with the key authorization`);
    if (body.trim() !== c.keyAuthorization) throw new AcmeProblem('incorrectResponse', `http-01 at ${where}: got ${JSON.stringify(body.trim().slice(0, 100))}, want the key authorization for token ${c.token}`);
  }

  private async dns01(c: ChallengeCheck): Promise<void> {
    const name = `_acme-challenge.${c.name}`;
    const want = createHash('sha256').update(c.keyAuthorization).digest('base64url');
    let records: string[][];
    try {
      records = await this.resolver.resolveTxt(name);
    } catch (err) {
      throw new AcmeProblem('dns', `dns-01: no TXT record at ${name} (${(err as NodeJS.ErrnoException).code ?? 'lookup failed'}); want one holding ${want}`);
    }
    if (!records.some((r) => r.join('') === want)) throw new AcmeProblem('incorrectResponse', `dns-01: TXT at ${name} got ${records.map((r) => JSON.stringify(r.join(''))).join(', ').slice(0, 200)}, want ${want}`);
  }
}

/** RFC 8737 §3: exactly one subjectAltName, the identifier's dNSName, and a critical acmeIdentifier with the digest. */
export function checkAlpnCertificate(der: Uint8Array, c: Pick<ChallengeCheck, 'name' | 'keyAuthorization'>, where: string): void {
  const want = createHash('sha256').update(c.keyAuthorization).digest();
  const san = new X509Certificate(Buffer.from(der)).subjectAltName ?? '';
  const names = san ? san.split(', ') : [];
  if (names.length !== 1 || names[0]!.toLowerCase() !== `dns:${c.name}`) throw new AcmeProblem('incorrectResponse', `tls-alpn-01 at ${where}: certificate subjectAltName got ${JSON.stringify(san.slice(0, 200))}, want exactly DNS:${c.name}`);
  const cert = pkijs.Certificate.fromBER(Buffer.from(der));
  const ext = cert.extensions?.find((e) => e.extnID === ACME_IDENTIFIER_OID);
  if (!ext) throw new AcmeProblem('incorrectResponse', `tls-alpn-01 at ${where}: certificate has no acmeIdentifier extension (${ACME_IDENTIFIER_OID}), want one holding SHA-256 of the key authorization`);
  if (!ext.critical) throw new AcmeProblem('incorrectResponse', `tls-alpn-01 at ${where}: acmeIdentifier extension is not critical, want critical`);
  const inner = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView);
  const got = inner.offset !== -1 && inner.result instanceof asn1js.OctetString ? Buffer.from(inner.result.valueBlock.valueHexView) : undefined;
  if (!got || !got.equals(want)) throw new AcmeProblem('incorrectResponse', `tls-alpn-01 at ${where}: acmeIdentifier got ${got ? got.toString('hex') : 'something that is not an OCTET STRING'}, want ${want.toString('hex')} (SHA-256 of the key authorization)`);
}
