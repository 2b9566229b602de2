/**
 * Issuance throughput of the PKI core, measured in one run with its baselines, `runs` samples each
 * (interleaved, so load on the machine falls on subject and baseline alike):
 *   - P-256 staff certificates (staff-auth, CSR proof of possession, persisted and audited) issued
 *     by 1, 4 and 8 concurrent processes into one PostgreSQL store (a server this benchmark starts,
 *     fsync on), each process keeping IN_FLIGHT issuances going so its group commit has work; the
 *     baseline is one process issuing the same number into an SQLite store the same way;
 *   - issuance through the whole pipeline (CSR proof of possession, profile checks, sign, SQLite
 *     insert + audit entry in one durable transaction) per CA algorithm, one commit each and in
 *     group commits of 100;
 *   - baseline: raw signing with the same CA key, the same number of signatures per sample (the
 *     ceiling: what the pipeline adds is the rest);
 *   - baseline: node-forge issuing the same number of RSA certificates per sample (node-forge has
 *     no EC or SM2), unpersisted.
 * Run: npx tsx bench/pki.ts [--runs N] [--smoke] [--quick] [--concurrent-only]  (prints human lines, then one JSON summary)
 */
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { validateInventory } from '../fabric/index.js';
import { smallInventory } from '../fabric/test/builders.js';
import { openDatabase, type Database } from '../lib/sql/index.js';
import { postgresMissing, startPostgres } from '../lib/test/postgres-server.js';
import { initHierarchy, Issuer, openCaSigner, PkiStore, type CaAlgorithm } from '../pki/index.js';
import { benchArgs, compare, report, summarize } from './lib.js';

const PASS = 'bench passphrase, not secret';
if (process.argv[2] === '--issue-worker') {
  await issueWorker(process.argv.slice(3));
  process.exit(0);
}

const { runs, smoke, flags } = benchArgs({ runs: 5 }, ['--quick', '--concurrent-only']);
const quick = flags.has('--quick');
const concurrentOnly = flags.has('--concurrent-only');
const fabric = validateInventory(smallInventory(), 'bench').fabric!;
const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-pki-'));

function csrFor(algorithm: CaAlgorithm): Buffer {
  const key = join(dir, `${algorithm}.key`);
  const gen: Record<CaAlgorithm, string[]> = {
    'ecdsa-p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    'ecdsa-p384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    'rsa-3072': ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
    sm2: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2'],
  };
  execFileSync('openssl', ['genpkey', ...gen[algorithm], '-out', key], { stdio: 'ignore' });
  const out = join(dir, `${algorithm}.csr`);
  execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/CN=app.s440100.jinbao.internal', '-outform', 'DER', '-out', out, ...(algorithm === 'sm2' ? ['-sm3', '-sigopt', 'distid:1234567812345678'] : [])]);
  return readFileSync(out);
}

/** `fn` (which does `per` operations) repeated until `n` operations are done; returns operations per second. */
async function rate(n: number, fn: () => Promise<unknown> | unknown, per = 1): Promise<number> {
  const start = performance.now();
  for (let ops = 0; ops < n; ops += per) await fn();
  return n / ((performance.now() - start) / 1000);
}

const results: Record<string, unknown> = {};
try {
  const sizes: (readonly [CaAlgorithm, number])[] = smoke
    ? [['ecdsa-p256', 4], ['rsa-3072', 4], ['sm2', 4]]
    : [['ecdsa-p256', 400], ['rsa-3072', 100], ['sm2', 200]];
  if (concurrentOnly) sizes.length = 0;
  for (const [algorithm, n] of sizes) {
    const state = await openDatabase(join(dir, algorithm));
    const pki = await PkiStore.open(state, join(dir, algorithm));
    await initHierarchy(pki, { algorithm, passphrase: PASS });
    const issuer = new Issuer(pki, fabric, PASS);
    const csr = csrFor(algorithm);
    await issuer.issue({ profile: 'server-tls', site: '440100', csr });
    const batchSize = Math.min(100, n);
    const batch = Array.from({ length: batchSize }, () => ({ profile: 'server-tls', site: '440100', csr }));
    const signer = await openCaSigner(pki, 'infrastructure', PASS);
    const tbs = new Uint8Array(700).fill(7);
    const single: number[] = [];
    const grouped: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < runs; i++) {
      single.push(await rate(n, () => issuer.issue({ profile: 'server-tls', site: '440100', csr })));
      grouped.push(await rate(n, () => issuer.issueMany(batch), batchSize));
      raw.push(await rate(n, () => signer.sign(tbs)));
    }
    const work = `${n} per sample`;
    const one = compare({ subject: `${algorithm} issuance, one commit each`, baseline: 'raw signing with the same CA key', unit: 'certificates/s', work, subjectSamples: single, baselineSamples: raw });
    const group = compare({ subject: `${algorithm} issuance, group commits of ${batchSize}`, baseline: 'raw signing with the same CA key', unit: 'certificates/s', work, subjectSamples: grouped, baselineSamples: raw });
    results[algorithm] = { oneCommitEach: summarize(one), groupCommit: summarize(group) };
    console.log(report(one, 0));
    console.log(report(group, 0));
    await state.close();
  }

  if (!concurrentOnly) {
    // node-forge alone: RSA-3072 CA key signing an RSA-2048 subscriber certificate, in memory only.
    const toForge = (bits: number) => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
      return { privateKey: forge.pki.privateKeyFromPem(privateKey), publicKey: forge.pki.publicKeyFromPem(publicKey) };
    };
    const caKeys = toForge(3072);
    const subject = toForge(2048);
    const forgeOne = () => {
      const cert = forge.pki.createCertificate();
      cert.publicKey = subject.publicKey;
      cert.serialNumber = forge.util.bytesToHex(forge.random.getBytesSync(16)).replace(/^[89a-f]/, '4');
      cert.validity.notBefore = new Date();
      cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
      cert.setSubject([{ name: 'commonName', value: 'app.s440100.jinbao.internal' }]);
      cert.setIssuer([{ name: 'commonName', value: 'Jinbao Infrastructure CA' }]);
      cert.setExtensions([{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true }, { name: 'extKeyUsage', serverAuth: true }, { name: 'subjectAltName', altNames: [{ type: 2, value: 'app.s440100.jinbao.internal' }] }]);
      cert.sign(caKeys.privateKey, forge.md.sha256.create());
      return forge.pki.certificateToPem(cert);
    };
    const nForge = smoke ? 2 : 50;
    const state = await openDatabase(join(dir, 'rsa-3072'));
    const pki = await PkiStore.open(state, join(dir, 'rsa-3072'));
    const issuer = new Issuer(pki, fabric, PASS);
    const csr = csrFor('rsa-3072');
    const jinbaoRsa: number[] = [];
    const forgeRsa: number[] = [];
    for (let i = 0; i < runs; i++) {
      jinbaoRsa.push(await rate(nForge, () => issuer.issue({ profile: 'server-tls', site: '440100', csr })));
      forgeRsa.push(await rate(nForge, forgeOne));
    }
    await state.close();
    const vsForge = compare({ subject: 'jinbao rsa-3072 issuance (persisted, audited)', baseline: 'node-forge alone, RSA-3072 CA, unpersisted', unit: 'certificates/s', work: `${nForge} certificates per sample`, subjectSamples: jinbaoRsa, baselineSamples: forgeRsa });
    results.vsNodeForge = summarize(vsForge);
    console.log(report(vsForge, 0));
  }
  results.concurrent = await concurrentIssuance();
  const os = await import('node:os');
  console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  const median = (alg: string, kind: 'oneCommitEach' | 'groupCommit') => ((results[alg] as Record<string, { subjectStats: { median: number } }>)[kind]!).subjectStats.median;
  const targets = smoke || concurrentOnly
    ? {}
    : { pgStaffP256With4ProcessesAtLeast1000: ((results.concurrent as Record<string, { subjectStats: { median: number } }> | undefined)?.['postgresql-4']?.subjectStats.median ?? 0) >= 1000, p256AtLeast1000: median('ecdsa-p256', 'oneCommitEach') >= 1000, sm2AtLeast300: median('sm2', 'oneCommitEach') >= 300, groupCommitP256AtLeast1000: median('ecdsa-p256', 'groupCommit') >= 1000, groupCommitSm2AtLeast300: median('sm2', 'groupCommit') >= 300 };
  console.log(JSON.stringify({ bench: 'pki', runs, smoke, cpus: os.cpus().length, loadavg: os.loadavg(), results, targets }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * P-256 staff certificates from `processes` worker processes at once into one store, IN_FLIGHT
 * issuances outstanding per process; returns certificates per second, aggregate, from the moment
 * all workers were released until the last one acknowledged its last certificate.
 */
async function concurrentRate(target: string, stateDir: string, csr: string, processes: number, total: number, inFlight: number): Promise<number> {
  const barrier = join(dir, `go-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const per = Math.ceil(total / processes);
  let ready = 0;
  let released = 0;
  const children = Array.from({ length: processes }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--issue-worker', target, stateDir, csr, String(per), String(inFlight), barrier], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const lines: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (b: Buffer) => {
        buf += b.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          lines.push(line);
          if (line === 'ready' && ++ready === processes) {
            released = performance.now();
            writeFileSync(barrier, '');
          }
          if (line.startsWith('done ')) resolve();
        }
      });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`issue worker exited ${code}: ${stderr.slice(-1500)}`))));
    });
    return { child, done, lines };
  });
  await Promise.all(children.map((c) => c.done));
  const ms = performance.now() - released;
  await Promise.all(children.map((c) => new Promise((r) => (c.child.exitCode !== null ? r(undefined) : c.child.once('exit', r)))));
  const issued = children.reduce((n, c) => n + Number(c.lines.find((l) => l.startsWith('done '))?.split(' ')[1] ?? 0), 0);
  if (issued !== per * processes) throw new Error(`workers acknowledged ${issued} of ${per * processes} certificates`);
  return issued / (ms / 1000);
}

/** One worker: open the store, warm up (unlock the CA key), wait for the barrier, issue, report. */
async function issueWorker([target, stateDir, csrFile, countText, inFlightText, barrier]: string[]): Promise<void> {
  const fabric = validateInventory(smallInventory(), 'bench').fabric!;
  const db: Database = await openDatabase(target!, { poolSize: 4 });
  const pki = await PkiStore.open(db, stateDir!);
  const issuer = new Issuer(pki, fabric, PASS);
  const csr = readFileSync(csrFile!);
  const req = { profile: 'staff-auth', site: '440100', csr };
  await issuer.issue(req);
  process.stdout.write('ready\n');
  while (!existsSync(barrier!)) await new Promise((r) => setTimeout(r, 2));
  const count = Number(countText);
  let next = 0;
  const lane = async () => {
    while (next++ < count) await issuer.issue(req);
  };
  await Promise.all(Array.from({ length: Number(inFlightText) }, lane));
  process.stdout.write(`done ${count}\n`);
  await db.close();
}

/** The multi-process comparison: PostgreSQL at 1, 4 and 8 processes against SQLite from one process. */
async function concurrentIssuance(): Promise<Record<string, unknown>> {
  const missing = postgresMissing();
  if (missing !== undefined) {
    console.log(`concurrent issuance on PostgreSQL: skipped (${missing})`);
    return { skipped: missing };
  }
  const total = smoke ? 40 : quick ? 3_000 : 12_000;
  const inFlight = smoke ? 4 : 256;
  const samples = smoke ? 1 : Math.min(runs, 3);
  const keyFile = join(dir, 'staff.key');
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], { stdio: 'ignore' });
  const csrFile = join(dir, 'staff.csr');
  execFileSync('openssl', ['req', '-new', '-utf8', '-key', keyFile, '-subj', '/CN=张三/serialNumber=S0001', '-outform', 'DER', '-out', csrFile]);
  const server = await startPostgres({ prefix: 'jinbao-bench-pki-pg-' });
  const out: Record<string, unknown> = {};
  try {
    const stores: Record<string, { target: string; stateDir: string }> = {};
    const fresh = async (name: string, pg: boolean) => {
      const stateDir = join(dir, `concurrent-${name}`);
      let target = stateDir;
      if (pg) {
        await server.sql(`CREATE DATABASE ${name.replace(/-/g, '_')}`);
        target = server.url({ dbname: name.replace(/-/g, '_'), sslmode: 'disable' });
      }
      const db = await openDatabase(target);
      const pki = await PkiStore.open(db, stateDir);
      await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS });
      // The province's staff CA is created by the first staff issuance: not part of what is measured.
      await new Issuer(pki, fabric, PASS).issue({ profile: 'staff-auth', site: '440100', csr: readFileSync(csrFile) });
      await db.close();
      stores[name] = { target, stateDir };
    };
    await fresh('sqlite', false);
    for (const n of [1, 4, 8]) await fresh(`pg-${n}`, true);
    const rates: Record<string, number[]> = { sqlite: [], 'pg-1': [], 'pg-4': [], 'pg-8': [] };
    for (let i = 0; i < samples; i++) {
      rates.sqlite!.push(await concurrentRate(stores.sqlite!.target, stores.sqlite!.stateDir, csrFile, 1, total, inFlight));
      for (const n of [1, 4, 8]) rates[`pg-${n}`]!.push(await concurrentRate(stores[`pg-${n}`]!.target, stores[`pg-${n}`]!.stateDir, csrFile, n, total, inFlight));
    }
    for (const n of [1, 4, 8]) {
      const c = compare({
        subject: `P-256 staff certificates, PostgreSQL, ${n} issuing process${n > 1 ? 'es' : ''} (aggregate)`,
        baseline: 'SQLite, one issuing process, the same group commit',
        unit: 'certificates/s',
        work: `${total} certificates per sample, ${inFlight} in flight per process, each persisted with its own chained audit entry`,
        subjectSamples: rates[`pg-${n}`]!,
        baselineSamples: rates.sqlite!,
      });
      out[`postgresql-${n}`] = summarize(c);
      console.log(report(c, 0));
    }
  } finally {
    await server.close();
  }
  return out;
}
