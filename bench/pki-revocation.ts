/**
 * Revocation benchmark: CRLs for 1,000,000 revoked serials (time, peak RSS, full vs delta size), the
 * revocation rate at that size, and the OCSP responder under a bounded loopback load, each against a
 * baseline measured in this run on the same amount of work, `runs` samples each (default 3):
 *  - hand-encoded CRL vs a pkijs object-tree CRL, both over the same BASELINE_N revoked entries of
 *    one CA (pkijs cannot hold a million entries in reasonable memory, so the comparison is at the
 *    size both can do; the million-entry cut is reported against its 15 s target);
 *  - a delta CRL vs the full CRL it updates (size);
 *  - DELTA_N revocations in a store holding N revoked certificates vs the same DELTA_N revocations
 *    in a store holding none (the same code: does revocation slow down as the store grows?);
 *  - OCSP with the answer cache vs the same responder with its cache off (same load, same duration);
 *  - one BASELINE_N-entry CRL partition (IssuingDistributionPoint, the partition read from the index)
 *    of the big CA vs the complete CRL of the comparison CA, which holds the same BASELINE_N entries
 *    (does a partition of a million-certificate CA cost what a CA of that size costs? target ≤ 2 s).
 *
 *   npx tsx bench/pki-revocation.ts            # full run (≈ 5 min)
 *   npx tsx bench/pki-revocation.ts --quick    # 100,000 serials, shorter loads
 *   npx tsx bench/pki-revocation.ts --runs 5   # samples per measurement
 *   npx tsx bench/pki-revocation.ts --smoke    # token sizes, for the test that keeps it running
 *
 * Workers (the CRL cuts and the responders) run as child processes so that peak RSS and CPU are
 * theirs alone; every child is stopped by its pid, also on failure.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import autocannon from 'autocannon';
import * as pkijs from 'pkijs';
import { openDatabase, type Database } from '../lib/sql/index.js';
import { PkiStore } from '../pki/index.js';
import { CrlLedger, OcspResponder, ocspAuthority, publishCrl, responderFromPem, serveOcsp } from '../pki/revocation/index.js';
import { issue, makeCa, type TestCa, type TestCert } from '../pki/revocation/test/test-pki.js';
import { benchArgs, compare, describe, report, stats, summarize, type BenchArgs } from './lib.js';

const self = new URL(import.meta.url).pathname;

/** Sizes of a full run, a --quick run and a --smoke run. */
function sizes(o: { quick: boolean; smoke: boolean }) {
  if (o.smoke) return { N: 2_000, BASELINE_N: 500, DELTA_N: 20, LOAD_SECONDS: 1, CONNECTIONS: 2 };
  if (o.quick) return { N: 100_000, BASELINE_N: 20_000, DELTA_N: 1_000, LOAD_SECONDS: 3, CONNECTIONS: 10 };
  return { N: 1_000_000, BASELINE_N: 100_000, DELTA_N: 1_000, LOAD_SECONDS: 6, CONNECTIONS: 10 };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------- workers

async function openCa(dir: string): Promise<{ state: Database; pki: PkiStore; signer: TestCa['signer'] }> {
  const state = await openDatabase(dir);
  const pki = await PkiStore.open(state, dir);
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

/** Cut one CRL (full, delta, or the full CRL of partition 0) with publishCrl and report time, size and this process's peak RSS. */
async function crlWorker(dir: string, kind: 'full' | 'delta' | 'partition'): Promise<Record<string, number>> {
  const { state, pki, signer } = await openCa(dir);
  const delta = kind === 'delta';
  const scope =
    kind === 'partition'
      ? { partition: 0, deltaUrl: 'http://pki.jinbao.internal/crl/bench/0-delta.crl', issuingDistributionPoint: { url: 'http://pki.jinbao.internal/crl/bench/0.crl', onlyContainsUserCerts: true } }
      : { deltaUrl: 'http://pki.jinbao.internal/crl/bench-delta.crl' };
  const t0 = performance.now();
  const crl = await publishCrl({ ledger: await CrlLedger.open(state), registry: pki, signer, delta, ...scope });
  const ms = performance.now() - t0;
  writeFileSync(join(dir, `${kind}.crl`), crl.der);
  await state.close();
  return { ms, bytes: crl.der.length, entries: crl.entries, number: crl.slot.number, maxRssKb: process.resourceUsage().maxRSS };
}

/** The same CRL contents built as a pkijs object tree (the baseline), for every revoked entry of the CA. */
async function pkijsWorker(dir: string): Promise<Record<string, number>> {
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
  for await (const e of pki.revokedEntries(signer.id)) {
    i++;
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
  await state.close();
  return { ms, bytes: der.byteLength, entries: i, maxRssKb: process.resourceUsage().maxRSS };
}

/** Serve OCSP for the bench CA (until the process is killed, when run as a worker process). */
async function ocspWorker(dir: string, cache: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const { state, pki, signer } = await openCa(dir);
  const changeCounter = state.changeMark ? () => state.changeMark!() : undefined;
  const responder = responderFromPem({
    caId: signer.id,
    caCertificateDer: signer.certificateDer,
    certPem: readFileSync(join(dir, 'ocsp.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'ocsp.key'), 'utf8'),
  });
  const running = await serveOcsp(new OcspResponder({ authorities: [ocspAuthority(signer.id, signer.certificateDer, responder)], registry: pki, cache, ...(changeCounter ? { changeCounter } : {}) }), { port: 0 });
  return {
    url: running.url,
    close: async () => {
      await running.close();
      await state.close();
    },
  };
}

// ---------------------------------------------------------------- driver

/**
 * A worker in its own process (so its peak RSS and CPU are its own), or with --smoke in this one:
 * the smoke run only proves the code paths work, and process start-ups would be most of its time.
 */
async function runWorker(args: string[], inProcess: boolean): Promise<Record<string, number>> {
  if (inProcess) return args[0] === '--crl-worker' ? crlWorker(args[1]!, args[2] as 'full' | 'delta' | 'partition') : pkijsWorker(args[1]!);
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, ...args], { encoding: 'utf8', timeout: 300_000, maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`worker ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
}

async function startResponder(dir: string, cache: boolean, inProcess: boolean): Promise<{ stop(): Promise<void>; url: string }> {
  if (inProcess) {
    const r = await ocspWorker(dir, cache);
    return { url: r.url, stop: r.close };
  }
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--ocsp-worker', dir, cache ? 'cache' : 'nocache'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('responder did not start within 30 s'));
    }, 30_000);
    child.stdout!.once('data', (b: Buffer) => {
      clearTimeout(timer);
      resolve({
        url: b.toString('utf8').trim(),
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
        },
      });
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

async function load(url: string, bodies: () => Buffer, seconds: number, connections: number): Promise<Load> {
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/ocsp-request' },
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies() }) }],
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx, total: r.requests.total };
}

/** A throwaway CA in its own state directory, with what the workers need to open it. */
async function benchCa(dir: string, id: string): Promise<{ state: Database; pki: PkiStore; ca: TestCa }> {
  mkdirSync(dir, { recursive: true });
  const state = await openDatabase(dir);
  const pki = await PkiStore.open(state, dir);
  const ca = await makeCa(dir, id, pki);
  const keyPem = createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey('pkcs8', ca.keys.privateKey)), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' });
  writeFileSync(join(dir, 'bench-ca.json'), JSON.stringify({ id: ca.id, certPem: ca.cert.toString('pem'), keyPem }));
  return { state, pki, ca };
}

/** `n` revoked certificates of CA `caId` in one INSERT ... SELECT (a fixture: the revocation path itself is measured apart). */
async function loadRevoked(state: Database, caId: string, n: number): Promise<void> {
  await state.write(async (tx) => {
    await tx.run(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO pki_certificates (serial, ca_id, profile, profile_version, site, subject, common_name, sans, key_type, not_before, not_after, der, status, revoked_at, revocation_reason, revocation_seq, issued_at)
         SELECT printf('%02x', 16 + abs(random()) % 112) || lower(hex(randomblob(15))), $2, 'staff-auth', 1, '000000', 'CN=bench', 'bench', '[]', 'EC P-256',
                '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', x'00', 'revoked',
                strftime('%Y-%m-%dT%H:%M:%fZ', 1780272000 + i, 'unixepoch'),
                CASE i % 5 WHEN 0 THEN 'keyCompromise' WHEN 1 THEN 'superseded' WHEN 2 THEN 'affiliationChanged' WHEN 3 THEN 'cessationOfOperation' ELSE 'unspecified' END,
                i, '2026-01-01T00:00:00.000Z'
         FROM n`,
        [n, caId],
      );
    await tx.run("UPDATE pki_sequence SET value = $1 WHERE name = 'revocation'", [n]);
  });
}

/** Milliseconds to revoke `n` fresh certificates of `caId` one by one (lookup, update, sequence, audit entry, fsync each). */
async function revokeMs(pki: PkiStore, caId: string, n: number): Promise<number> {
  const fresh: string[] = [];
  for (let i = 0; i < n; i++) fresh.push((await issueRecord(pki, caId)).serial);
  const t0 = performance.now();
  for (const serial of fresh) await pki.markRevoked(serial, 'superseded');
  return performance.now() - t0;
}

async function main(args: BenchArgs & { quick: boolean }): Promise<void> {
  const { runs } = args;
  const { N, BASELINE_N, DELTA_N, LOAD_SECONDS, CONNECTIONS } = sizes(args);
  const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-revocation-'));
  const responders: (() => Promise<void>)[] = [];
  const summary: Record<string, unknown> = { bench: 'pki-revocation', runs, smoke: args.smoke, machine: { cores: (await import('node:os')).cpus().length, node: process.version }, revoked: N };
  const opened: Database[] = [];
  try {
    // Fixtures: the big CA (N revoked), the comparison CA (BASELINE_N revoked), an empty store.
    const big = await benchCa(join(dir, 'big'), 'bench');
    const cmp = await benchCa(join(dir, 'cmp'), 'bench-cmp');
    const empty = await benchCa(join(dir, 'empty'), 'bench-empty');
    opened.push(big.state, cmp.state, empty.state);
    const responder: TestCert = await issue(join(dir, 'big'), big.ca, { cn: 'ocsp', ocspSigning: true, store: big.pki });
    writeFileSync(join(dir, 'big', 'ocsp.pem'), responder.cert.toString('pem'));
    writeFileSync(join(dir, 'big', 'ocsp.key'), createPrivateKey({ key: Buffer.from(await crypto.subtle.exportKey('pkcs8', responder.keys.privateKey)), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }));
    const good = await issue(join(dir, 'big'), big.ca, { cn: 'good', store: big.pki });
    log(`loading ${N.toLocaleString()} + ${BASELINE_N.toLocaleString()} revoked certificates into the stores...`);
    const t0 = performance.now();
    await loadRevoked(big.state, big.ca.id, N);
    await loadRevoked(cmp.state, cmp.ca.id, BASELINE_N);
    // The big CA's certificates in partitions of BASELINE_N, in issuance order, as the allocator fills them.
    await big.state.run('UPDATE pki_certificates SET crl_partition = CAST((id - 1) / CAST($1 AS INTEGER) AS INTEGER) WHERE ca_id = $2 AND revocation_seq IS NOT NULL', [BASELINE_N, big.ca.id]);
    log(`  loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s (fixture, not measured)`);

    // Revocation rate at this size against the same revocations in an empty store, interleaved.
    const revokeBig: number[] = [];
    const revokeEmpty: number[] = [];
    for (let i = 0; i < runs; i++) {
      revokeBig.push(DELTA_N / ((await revokeMs(big.pki, big.ca.id, DELTA_N)) / 1000));
      revokeEmpty.push(DELTA_N / ((await revokeMs(empty.pki, empty.ca.id, DELTA_N)) / 1000));
    }
    const revoke = compare({ subject: `revoke with ${N.toLocaleString()} already revoked`, baseline: 'the same revocations in a store with none revoked', unit: 'revocations/s', work: `${DELTA_N} revocations per sample, each audited and committed on its own`, subjectSamples: revokeBig, baselineSamples: revokeEmpty });
    log(report(revoke, 0));
    summary.revoke = summarize(revoke);

    // Full CRL over everything, then DELTA_N more revocations and a delta CRL over that full CRL, `runs` times.
    const fullMs: number[] = [];
    const fullRss: number[] = [];
    const deltaMs: number[] = [];
    let full: Record<string, number> = {};
    let delta: Record<string, number> = {};
    for (let i = 0; i < runs; i++) {
      full = await runWorker(['--crl-worker', join(dir, 'big'), 'full'], args.smoke);
      fullMs.push(full.ms!);
      fullRss.push(full.maxRssKb! / 1024);
      await revokeMs(big.pki, big.ca.id, DELTA_N);
      delta = await runWorker(['--crl-worker', join(dir, 'big'), 'delta'], args.smoke);
      deltaMs.push(delta.ms!);
    }
    const fullStats = stats(fullMs);
    log(`full CRL, ${full.entries!.toLocaleString()} entries: ${describe(stats(fullMs.map((m) => m / 1000)), 's', 2)}, ${(full.bytes! / 1e6).toFixed(1)} MB, peak RSS ${describe(stats(fullRss), 'MB', 0)} (target ≤ 15 s)`);
    log(`delta CRL, ${delta.entries} entries: ${describe(stats(deltaMs), 'ms', 0)}, ${delta.bytes!.toLocaleString()} bytes (${((delta.bytes! / full.bytes!) * 100).toFixed(3)}% of the full CRL's size)`);

    const o0 = performance.now();
    const check = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'big', 'full.crl'), '-noout', '-CAfile', big.ca.pemFile], { encoding: 'utf8' });
    const opensslMs = performance.now() - o0;
    const opensslOk = `${check.stdout}${check.stderr}`.includes('verify OK');
    log(`openssl crl -CAfile on the full CRL: ${opensslOk ? 'verify OK' : 'FAILED'} in ${(opensslMs / 1000).toFixed(2)} s`);

    // Hand-encoded vs pkijs over the same BASELINE_N entries of the comparison CA, interleaved.
    const oursMs: number[] = [];
    const pkijsMs: number[] = [];
    const pkijsRss: number[] = [];
    let entries = 0;
    for (let i = 0; i < runs; i++) {
      const ours = await runWorker(['--crl-worker', join(dir, 'cmp'), 'full'], args.smoke);
      const baseline = await runWorker(['--pkijs-worker', join(dir, 'cmp')], args.smoke);
      if (ours.entries !== baseline.entries) throw new Error(`the two CRLs differ in size: ${ours.entries} vs ${baseline.entries} entries`);
      entries = ours.entries!;
      oursMs.push(ours.ms!);
      pkijsMs.push(baseline.ms!);
      pkijsRss.push(baseline.maxRssKb! / 1024);
    }
    const crlVsPkijs = compare({ subject: 'hand-encoded full CRL (publishCrl)', baseline: 'the same CRL as a pkijs object tree, signed by the same key', unit: 'ms', work: `${entries.toLocaleString()} revoked entries, the same rows`, subjectSamples: oursMs, baselineSamples: pkijsMs });
    log(report(crlVsPkijs, 0));
    summary.crl = {
      full: { entries: full.entries, seconds: { median: fullStats.median / 1000, min: fullStats.min / 1000, max: fullStats.max / 1000, spreadPct: Math.round(fullStats.spreadPct) }, bytes: full.bytes, peakRssMb: stats(fullRss).median, targetSeconds: 15, opensslVerified: opensslOk },
      delta: { entries: delta.entries, ms: stats(deltaMs).median, bytes: delta.bytes, sizeRatioToFull: delta.bytes! / full.bytes! },
      vsPkijs: { ...summarize(crlVsPkijs), pkijsPeakRssMb: stats(pkijsRss).median },
    };

    // One partition of the big CA vs the comparison CA's complete CRL: the same number of entries, interleaved.
    const partMs: number[] = [];
    const partBaseMs: number[] = [];
    let part: Record<string, number> = {};
    for (let i = 0; i < runs; i++) {
      part = await runWorker(['--crl-worker', join(dir, 'big'), 'partition'], args.smoke);
      partMs.push(part.ms!);
      partBaseMs.push((await runWorker(['--crl-worker', join(dir, 'cmp'), 'full'], args.smoke)).ms!);
    }
    const partCheck = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'big', 'partition.crl'), '-noout', '-text', '-CAfile', big.ca.pemFile], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const partOk = partCheck.stdout.includes('X509v3 Issuing Distribution Point: critical') && `${partCheck.stdout}${partCheck.stderr}`.includes('verify OK');
    const partition = compare({
      subject: `full CRL of partition 0 (${part.entries!.toLocaleString()} entries) of a CA with ${N.toLocaleString()} revoked`,
      baseline: `the complete CRL of a CA with the same ${entries.toLocaleString()} revoked`,
      unit: 'ms',
      work: `${part.entries!.toLocaleString()} entries each, IssuingDistributionPoint and partition filter on the subject`,
      subjectSamples: partMs,
      baselineSamples: partBaseMs,
    });
    log(report(partition, 0));
    log(`partition CRL: ${describe(stats(partMs.map((m) => m / 1000)), 's', 2)}, ${(part.bytes! / 1e6).toFixed(1)} MB, openssl crl -text -CAfile ${partOk ? 'verify OK with the IDP' : 'FAILED'} (target ≤ 2 s)`);
    summary.partition = { ...summarize(partition), entries: part.entries, bytes: part.bytes, seconds: stats(partMs).median / 1000, targetSeconds: 2, opensslVerified: partOk };

    // OCSP: three responders in child processes, autocannon here; loads interleaved, bounded by duration and connections.
    const reqFile = join(dir, 'req.der');
    const nonceReq = join(dir, 'nonce.der');
    spawnSync('openssl', ['ocsp', '-issuer', big.ca.pemFile, '-cert', good.pemFile, '-no_nonce', '-reqout', reqFile]);
    spawnSync('openssl', ['ocsp', '-issuer', big.ca.pemFile, '-cert', good.pemFile, '-reqout', nonceReq]);
    const plain = readFileSync(reqFile);
    const template = readFileSync(nonceReq);
    const nonceAt = template.length - 16; // openssl puts the 16-byte nonce value last
    const withNonce = () => {
      const b = Buffer.from(template);
      randomBytes(16).copy(b, nonceAt);
      return b;
    };
    const configs = [
      { name: 'cached (no nonce)', cache: true, bodies: () => plain },
      { name: 'nonce (signed per request)', cache: true, bodies: withNonce },
      { name: 'baseline: cache off (no nonce)', cache: false, bodies: () => plain },
    ] as const;
    const urls: string[] = [];
    for (const c of configs) {
      const { stop, url } = await startResponder(join(dir, 'big'), c.cache, args.smoke);
      responders.push(stop);
      // Asynchronously: with --smoke the responder runs in this process and must keep answering.
      const probe = await new Promise<string>((resolve) => execFile('openssl', ['ocsp', '-issuer', big.ca.pemFile, '-cert', good.pemFile, '-url', url, '-CAfile', big.ca.pemFile], { timeout: 30_000 }, (_err, out, err) => resolve(`${out}${err}`)));
      if (!probe.includes(': good')) throw new Error(`responder answered wrongly: ${probe}`);
      urls.push(url);
    }
    const loads: Load[][] = configs.map(() => []);
    for (let i = 0; i < runs; i++) {
      for (const [k, c] of configs.entries()) loads[k]!.push(await load(urls[k]!, c.bodies, LOAD_SECONDS, CONNECTIONS));
    }
    const ocsp: Record<string, unknown> = {};
    for (const [k, c] of configs.entries()) {
      const l = loads[k]!;
      const errors = l.reduce((a, x) => a + x.errors + x.non2xx, 0);
      log(`OCSP ${c.name}: ${describe(stats(l.map((x) => x.rps)), 'req/s', 0)}, p99 ${describe(stats(l.map((x) => x.p99)), 'ms', 0)}, ${errors} errors or non-2xx`);
      ocsp[c.name] = { rps: stats(l.map((x) => x.rps)), p99Ms: stats(l.map((x) => x.p99)), errors };
    }
    const cacheVsOff = compare({ subject: 'OCSP with the answer cache', baseline: 'the same responder with its cache off', unit: 'req/s', work: `${LOAD_SECONDS} s of the same request, ${CONNECTIONS} connections`, subjectSamples: loads[0]!.map((x) => x.rps), baselineSamples: loads[2]!.map((x) => x.rps) });
    log(report(cacheVsOff, 0));
    log('(targets ≥ 5,000 req/s and p99 ≤ 10 ms for cached answers)');
    summary.ocsp = { connections: CONNECTIONS, seconds: LOAD_SECONDS, ...ocsp, cache: summarize(cacheVsOff) };
  } finally {
    for (const stop of responders) await stop();
    for (const st of opened) await st.close();
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
  await pki.db.write((tx) => pki.insertCertificate(tx, {
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
  }));
  return { serial };
}

const [mode, dirArg, extra] = process.argv.slice(2);
if (mode === '--crl-worker') process.stdout.write(`${JSON.stringify(await crlWorker(dirArg!, extra as 'full' | 'delta' | 'partition'))}\n`);
else if (mode === '--pkijs-worker') process.stdout.write(`${JSON.stringify(await pkijsWorker(dirArg!))}\n`);
else if (mode === '--ocsp-worker') process.stdout.write(`${(await ocspWorker(dirArg!, extra === 'cache')).url}\n`);
else {
  const args = benchArgs({ runs: 3, smokeRuns: 1 }, ['--quick']);
  await main({ ...args, quick: args.flags.has('--quick') });
}
