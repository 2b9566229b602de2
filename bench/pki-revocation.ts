/**
 * Revocation benchmark: CRLs for 1,000,000 revoked serials (time, peak RSS, full vs delta size) and
 * the OCSP responder under a bounded loopback load, each against a baseline measured in this run.
 *
 *   npx tsx bench/pki-revocation.ts            # full run (≈ 2 min)
 *   npx tsx bench/pki-revocation.ts --quick    # 100,000 serials, shorter loads
 *
 * Workers (the CRL cut and the responder) run as child processes so that peak RSS and CPU are theirs
 * alone; every child is stopped by its pid, also on failure.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import autocannon from 'autocannon';
import * as pkijs from 'pkijs';
import { StateStore } from '../lib/state.js';
import { PkiStore } from '../pki/index.js';
import { CrlLedger, OcspResponder, ocspAuthority, publishCrl, responderFromPem, serveOcsp } from '../pki/revocation/index.js';
import { issue, makeCa, type TestCa } from '../pki/revocation/test/test-pki.js';

const quick = process.argv.includes('--quick');
const N = quick ? 100_000 : 1_000_000;
const BASELINE_N = quick ? 20_000 : 100_000;
const DELTA_N = 1_000;
const LOAD_SECONDS = quick ? 3 : 6;
const CONNECTIONS = 10;
const self = new URL(import.meta.url).pathname;

const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const log = (line: string) => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------- workers

async function openCa(dir: string): Promise<{ state: StateStore; pki: PkiStore; signer: TestCa['signer'] }> {
  const state = StateStore.open(dir);
  const pki = PkiStore.open(state);
  const meta = JSON.parse(readFileSync(join(dir, 'bench-ca.json'), 'utf8')) as { id: string; certPem: string; keyPem: string };
  const { sign } = await import('node:crypto');
  const key = createPrivateKey(meta.keyPem);
  const der = Buffer.from(meta.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return {
    state,
    pki,
    signer: { id: meta.id, algorithm: 'ecdsa-p256', certificateDer: der, signatureAlgorithmOid: '1.2.840.10045.4.3.2', sign: async (d) => sign('sha256', d, key) },
  };
}

/** Cut one CRL with publishCrl and report time, size and this process's peak RSS. */
async function crlWorker(dir: string, delta: boolean): Promise<void> {
  const { state, pki, signer } = await openCa(dir);
  const t0 = performance.now();
  const crl = await publishCrl({ ledger: new CrlLedger(state), registry: pki, signer, delta, deltaUrl: 'http://pki.jinbao.internal/crl/bench-delta.crl' });
  const ms = performance.now() - t0;
  writeFileSync(join(dir, delta ? 'delta.crl' : 'full.crl'), crl.der);
  process.stdout.write(JSON.stringify({ ms, bytes: crl.der.length, entries: crl.entries, number: crl.slot.number, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
  state.close();
}

/** The same CRL contents built as a pkijs object tree (the baseline), for the first `n` entries. */
async function pkijsWorker(dir: string, n: number): Promise<void> {
  const { state, pki, signer } = await openCa(dir);
  const t0 = performance.now();
  const caCert = pkijs.Certificate.fromBER(signer.certificateDer);
  const crl = new pkijs.CertificateRevocationList();
  crl.version = 1;
  crl.issuer = caCert.subject;
  crl.thisUpdate = new pkijs.Time({ type: 0, value: new Date() });
  crl.nextUpdate = new pkijs.Time({ type: 0, value: new Date(Date.now() + 7 * 86_400_000) });
  crl.revokedCertificates = [];
  let i = 0;
  for (const e of pki.revokedEntries(signer.id)) {
    if (i++ >= n) break;
    const hex = e.serial;
    const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
    crl.revokedCertificates.push(
      new pkijs.RevokedCertificate({
        userCertificate: new asn1js.Integer({ valueHex: bytes[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes }),
        revocationDate: new pkijs.Time({ type: 0, value: e.revokedAt }),
        crlEntryExtensions: new pkijs.Extensions({
          extensions: [new pkijs.Extension({ extnID: '2.5.29.21', critical: false, extnValue: new asn1js.Enumerated({ value: 1 }).toBER(false) })],
        }),
      }),
    );
  }
  crl.crlExtensions = new pkijs.Extensions({ extensions: [new pkijs.Extension({ extnID: '2.5.29.20', critical: false, extnValue: new asn1js.Integer({ value: 1 }).toBER(false) })] });
  crl.signature = new pkijs.AlgorithmIdentifier({ algorithmId: signer.signatureAlgorithmOid });
  crl.signatureAlgorithm = crl.signature;
  // encodeTBS is protected in pkijs's typings but public at run time; the baseline signs the TBS itself.
  const tbs = (crl as unknown as { encodeTBS(): asn1js.Sequence }).encodeTBS().toBER(false);
  const sig = await signer.sign(new Uint8Array(tbs));
  crl.signatureValue = new asn1js.BitString({ valueHex: sig });
  crl.tbsView = new Uint8Array(tbs);
  const der = crl.toSchema(true).toBER(false);
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, bytes: der.byteLength, entries: Math.min(i, n), maxRssKb: process.resourceUsage().maxRSS }) + '\n');
  state.close();
}

/** Serve OCSP for the bench CA until killed. */
async function ocspWorker(dir: string, cache: boolean): Promise<void> {
  const { state, pki, signer } = await openCa(dir);
  const dataVersion = state.db.prepare('PRAGMA data_version').pluck();
  const responder = responderFromPem({
    caId: signer.id,
    caCertificateDer: signer.certificateDer,
    certPem: readFileSync(join(dir, 'ocsp.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'ocsp.key'), 'utf8'),
  });
  const running = await serveOcsp(new OcspResponder({ authorities: [ocspAuthority(signer.id, signer.certificateDer, responder)], registry: pki, cache, changeCounter: () => dataVersion.get() as number }), { port: 0 });
  process.stdout.write(`${running.url}\n`);
}

// ---------------------------------------------------------------- driver

function runWorker(args: string[]): Record<string, number> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, ...args], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`worker ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

function startResponder(dir: string, cache: boolean): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--ocsp-worker', dir, cache ? 'cache' : 'nocache'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('responder did not start within 30 s'));
    }, 30_000);
    child.stdout!.once('data', (b: Buffer) => {
      clearTimeout(timer);
      resolve({ child, url: b.toString('utf8').trim() });
    });
    child.once('exit', (code) => reject(new Error(`responder exited with ${code}`)));
  });
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  total: number;
}

async function load(url: string, bodies: () => Buffer): Promise<Load> {
  const r = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: LOAD_SECONDS,
    method: 'POST',
    headers: { 'content-type': 'application/ocsp-request' },
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies() }) }],
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx, total: r.requests.total };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-revocation-'));
  const children: ChildProcess[] = [];
  const summary: Record<string, unknown> = { machine: { cores: (await import('node:os')).cpus().length, node: process.version }, revoked: N };
  try {
    // Fixture: one CA, N revoked certificates (bulk-loaded rows; the revocation path itself is timed below).
    const state = StateStore.open(dir);
    const pki = PkiStore.open(state);
    const ca = await makeCa(dir, 'bench', pki);
    const keyPem = createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey('pkcs8', ca.keys.privateKey)), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(join(dir, 'bench-ca.json'), JSON.stringify({ id: ca.id, certPem: ca.cert.toString('pem'), keyPem }));
    const responder = await issue(dir, ca, { cn: 'ocsp', ocspSigning: true, store: pki });
    writeFileSync(join(dir, 'ocsp.pem'), responder.cert.toString('pem'));
    writeFileSync(join(dir, 'ocsp.key'), createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey('pkcs8', responder.keys.privateKey)), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }));
    const good = await issue(dir, ca, { cn: 'good', store: pki });

    log(`loading ${N.toLocaleString()} revoked certificates into the store...`);
    const t0 = performance.now();
    // One INSERT ... SELECT: random positive 128-bit serials, one revocation per second, mixed reasons.
    state.write(() => {
      state.db
        .prepare(
          `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
           INSERT INTO pki_certificates (serial, ca_id, profile, profile_version, site, subject, common_name, sans, key_type, not_before, not_after, der, status, revoked_at, revocation_reason, revocation_seq, issued_at)
           SELECT printf('%02x', 16 + abs(random()) % 112) || lower(hex(randomblob(15))), 'bench', 'staff-auth', 1, '000000', 'CN=bench', 'bench', '[]', 'EC P-256',
                  '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', x'00', 'revoked',
                  strftime('%Y-%m-%dT%H:%M:%fZ', 1780272000 + i, 'unixepoch'),
                  CASE i % 5 WHEN 0 THEN 'keyCompromise' WHEN 1 THEN 'superseded' WHEN 2 THEN 'affiliationChanged' WHEN 3 THEN 'cessationOfOperation' ELSE 'unspecified' END,
                  i, '2026-01-01T00:00:00.000Z'
           FROM n`,
        )
        .run(N);
      state.db.prepare("UPDATE pki_sequence SET value = ? WHERE name = 'revocation'").run(N);
    });
    log(`  loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s (fixture, not measured)`);

    // Revocation rate at this size: the real path (lookup, update, revocation sequence, audit entry, fsync).
    const fresh: string[] = [];
    for (let i = 0; i < DELTA_N; i++) fresh.push((await issueRecord(pki, ca.id)).serial);
    const r0 = performance.now();
    for (const s of fresh) pki.markRevoked(s, 'superseded');
    const revokeMs = performance.now() - r0;
    summary.revoke = { count: DELTA_N, perSecond: Math.round(DELTA_N / (revokeMs / 1000)), storeSize: N };
    log(`revoke (audited, one transaction each) with ${N.toLocaleString()} already revoked: ${(DELTA_N / (revokeMs / 1000)).toFixed(0)}/s`);

    // Full CRL over everything, then DELTA_N more revocations and a delta CRL over that full CRL.
    const full = runWorker(['--crl-worker', dir, 'full']);
    log(`full CRL, ${full.entries!.toLocaleString()} entries: ${(full.ms! / 1000).toFixed(2)} s, ${(full.bytes! / 1e6).toFixed(1)} MB, peak RSS ${mb(full.maxRssKb!)}`);
    const more: string[] = [];
    for (let i = 0; i < DELTA_N; i++) more.push((await issueRecord(pki, ca.id)).serial);
    for (const s of more) pki.markRevoked(s, 'keyCompromise');
    const delta = runWorker(['--crl-worker', dir, 'delta']);
    log(`delta CRL, ${delta.entries} entries: ${delta.ms!.toFixed(0)} ms, ${delta.bytes!.toLocaleString()} bytes (${((delta.bytes! / full.bytes!) * 100).toFixed(3)}% of the full CRL)`);

    const o0 = performance.now();
    const check = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'full.crl'), '-noout', '-CAfile', ca.pemFile], { encoding: 'utf8' });
    const opensslMs = performance.now() - o0;
    const opensslOk = `${check.stdout}${check.stderr}`.includes('verify OK');
    log(`openssl crl -CAfile on the full CRL: ${opensslOk ? 'verify OK' : 'FAILED'} in ${(opensslMs / 1000).toFixed(2)} s`);

    const baseline = runWorker(['--pkijs-worker', dir, String(BASELINE_N)]);
    const ours = runWorker(['--crl-worker', dir, 'full']);
    const perEntryOurs = ours.ms! / ours.entries!;
    const perEntryPkijs = baseline.ms! / baseline.entries!;
    log(`baseline: pkijs object tree, ${baseline.entries!.toLocaleString()} entries: ${(baseline.ms! / 1000).toFixed(2)} s, peak RSS ${mb(baseline.maxRssKb!)}`);
    log(`  per entry: hand-encoded ${(perEntryOurs * 1000).toFixed(2)} µs vs pkijs ${(perEntryPkijs * 1000).toFixed(2)} µs (${(perEntryPkijs / perEntryOurs).toFixed(1)}x)`);
    summary.crl = {
      full: { entries: full.entries, seconds: full.ms! / 1000, bytes: full.bytes, peakRssMb: full.maxRssKb! / 1024, targetSeconds: 15, opensslVerified: opensslOk },
      delta: { entries: delta.entries, ms: delta.ms, bytes: delta.bytes, ratioToFull: delta.bytes! / full.bytes! },
      baselinePkijs: { entries: baseline.entries, seconds: baseline.ms! / 1000, peakRssMb: baseline.maxRssKb! / 1024 },
      speedupPerEntryVsPkijs: perEntryPkijs / perEntryOurs,
    };
    state.close();

    // OCSP: the responder in a child process, autocannon here; bounded by duration and connections.
    const reqFile = join(dir, 'req.der');
    const nonceReq = join(dir, 'nonce.der');
    spawnSync('openssl', ['ocsp', '-issuer', ca.pemFile, '-cert', good.pemFile, '-no_nonce', '-reqout', reqFile]);
    spawnSync('openssl', ['ocsp', '-issuer', ca.pemFile, '-cert', good.pemFile, '-reqout', nonceReq]);
    const plain = readFileSync(reqFile);
    const template = readFileSync(nonceReq);
    const nonceAt = template.length - 16; // openssl puts the 16-byte nonce value last
    const withNonce = () => {
      const b = Buffer.from(template);
      randomBytes(16).copy(b, nonceAt);
      return b;
    };
    const ocsp: Record<string, Load> = {};
    for (const [name, cache, bodies] of [
      ['cached (no nonce)', true, () => plain],
      ['nonce (signed per request)', true, withNonce],
      ['baseline: cache off (no nonce)', false, () => plain],
    ] as const) {
      const { child, url } = await startResponder(dir, cache);
      children.push(child);
      try {
        const probe = spawnSync('openssl', ['ocsp', '-issuer', ca.pemFile, '-cert', good.pemFile, '-url', url, '-CAfile', ca.pemFile], { encoding: 'utf8' });
        if (!probe.stdout.includes(': good')) throw new Error(`responder answered wrongly: ${probe.stdout}${probe.stderr}`);
        const l = await load(url, bodies);
        ocsp[name] = l;
        log(`OCSP ${name}: ${l.rps.toFixed(0)} req/s, p50 ${l.p50} ms, p99 ${l.p99} ms, ${l.total} requests, ${l.errors} errors, ${l.non2xx} non-2xx`);
      } finally {
        child.kill('SIGTERM');
      }
    }
    const cached = ocsp['cached (no nonce)']!;
    const base = ocsp['baseline: cache off (no nonce)']!;
    log(`cache speed-up: ${(cached.rps / base.rps).toFixed(1)}x throughput, p99 ${base.p99} → ${cached.p99} ms (targets ≥ 5,000 req/s, p99 ≤ 10 ms)`);
    summary.ocsp = { connections: CONNECTIONS, seconds: LOAD_SECONDS, ...ocsp, cacheSpeedup: cached.rps / base.rps };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

let counter = 0;
async function issueRecord(pki: PkiStore, caId: string): Promise<{ serial: string }> {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  const serial = b.toString('hex');
  const now = new Date();
  pki.insertCertificate({
    serial,
    caId,
    profile: 'staff-auth',
    profileVersion: 1,
    site: '000000',
    subject: `CN=extra ${++counter}`,
    commonName: `extra ${counter}`,
    staffNumber: null,
    application: null,
    sans: [],
    keyType: 'EC P-256',
    notBefore: now,
    notAfter: new Date(now.getTime() + 86_400_000),
    der: new Uint8Array([0]),
    issuedAt: now,
  });
  return { serial };
}

const [mode, dirArg, extra] = process.argv.slice(2);
if (mode === '--crl-worker') await crlWorker(dirArg!, extra === 'delta');
else if (mode === '--pkijs-worker') await pkijsWorker(dirArg!, Number(extra));
else if (mode === '--ocsp-worker') await ocspWorker(dirArg!, extra === 'cache');
else await main();
