/**
 * Issuance throughput of the PKI core, measured in one run with its baselines, `runs` samples each
 * (interleaved, so load on the machine falls on subject and baseline alike):
 *   - issuance through the whole pipeline (CSR proof of possession, profile checks, sign, SQLite
 *     insert + audit entry in one durable transaction) per CA algorithm, one commit each and in
 *     group commits of 100;
 *   - baseline: raw signing with the same CA key, the same number of signatures per sample (the
 *     ceiling: what the pipeline adds is the rest);
 *   - baseline: node-forge issuing the same number of RSA certificates per sample (node-forge has
 *     no EC or SM2), unpersisted.
 * Run: npx tsx bench/pki.ts [--runs N] [--smoke]  (prints human lines, then one JSON summary)
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { validateInventory } from '../fabric/index.js';
import { smallInventory } from '../fabric/test/builders.js';
import { StateStore } from '../lib/state.js';
import { initHierarchy, Issuer, openCaSigner, PkiStore, type CaAlgorithm } from '../pki/index.js';
import { benchArgs, compare, report, summarize } from './lib.js';

const { runs, smoke } = benchArgs({ runs: 5 });
const PASS = 'bench passphrase, not secret';
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
  const sizes: readonly (readonly [CaAlgorithm, number])[] = smoke
    ? [['ecdsa-p256', 4], ['rsa-3072', 4], ['sm2', 4]]
    : [['ecdsa-p256', 400], ['rsa-3072', 100], ['sm2', 200]];
  for (const [algorithm, n] of sizes) {
    const state = StateStore.open(join(dir, algorithm));
    const pki = PkiStore.open(state);
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
    state.close();
  }

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
  const state = StateStore.open(join(dir, 'rsa-3072'));
  const pki = PkiStore.open(state);
  const issuer = new Issuer(pki, fabric, PASS);
  const csr = csrFor('rsa-3072');
  const jinbaoRsa: number[] = [];
  const forgeRsa: number[] = [];
  for (let i = 0; i < runs; i++) {
    jinbaoRsa.push(await rate(nForge, () => issuer.issue({ profile: 'server-tls', site: '440100', csr })));
    forgeRsa.push(await rate(nForge, forgeOne));
  }
  state.close();
  const vsForge = compare({ subject: 'jinbao rsa-3072 issuance (persisted, audited)', baseline: 'node-forge alone, RSA-3072 CA, unpersisted', unit: 'certificates/s', work: `${nForge} certificates per sample`, subjectSamples: jinbaoRsa, baselineSamples: forgeRsa });
  results.vsNodeForge = summarize(vsForge);
  console.log(report(vsForge, 0));
  const os = await import('node:os');
  console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  const median = (alg: string, kind: 'oneCommitEach' | 'groupCommit') => ((results[alg] as Record<string, { subjectStats: { median: number } }>)[kind]!).subjectStats.median;
  const targets = smoke
    ? {}
    : { p256AtLeast1000: median('ecdsa-p256', 'oneCommitEach') >= 1000, sm2AtLeast300: median('sm2', 'oneCommitEach') >= 300, groupCommitP256AtLeast1000: median('ecdsa-p256', 'groupCommit') >= 1000, groupCommitSm2AtLeast300: median('sm2', 'groupCommit') >= 300 };
  console.log(JSON.stringify({ bench: 'pki', runs, smoke, cpus: os.cpus().length, loadavg: os.loadavg(), results, targets }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
