/**
 * Issuance throughput of the PKI core, measured in one run with its baselines:
 *   - issuance through the whole pipeline (CSR proof of possession, profile checks, sign, SQLite
 *     insert + audit entry in one durable transaction) per CA algorithm;
 *   - raw signing with the same CA key (the ceiling: what the pipeline adds is the rest);
 *   - issuing with node-forge alone (RSA only: node-forge has no EC or SM2), unpersisted.
 * Run: npx tsx bench/pki.ts  (prints human lines, then one JSON summary)
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

/** Run `fn` (which does `per` operations) until `n` operations or `maxMs` have passed; returns operations per second. */
async function rate(n: number, maxMs: number, fn: () => Promise<unknown> | unknown, per = 1): Promise<{ ops: number; perSecond: number }> {
  const start = performance.now();
  let ops = 0;
  while (ops < n && performance.now() - start < maxMs) {
    await fn();
    ops += per;
  }
  const s = (performance.now() - start) / 1000;
  return { ops, perSecond: Math.round(ops / s) };
}

const results: Record<string, unknown> = {};
try {
  for (const [algorithm, n] of [
    ['ecdsa-p256', 2000],
    ['rsa-3072', 400],
    ['sm2', 1000],
  ] as const) {
    const state = StateStore.open(join(dir, algorithm));
    const pki = PkiStore.open(state);
    await initHierarchy(pki, { algorithm, passphrase: PASS });
    const issuer = new Issuer(pki, fabric, PASS);
    const csr = csrFor(algorithm);
    await issuer.issue({ profile: 'server-tls', site: '440100', csr });
    const issuance = await rate(n, 15_000, () => issuer.issue({ profile: 'server-tls', site: '440100', csr }));
    const batch = Array.from({ length: 100 }, () => ({ profile: 'server-tls', site: '440100', csr }));
    const batched = await rate(n, 15_000, () => issuer.issueMany(batch), 100);
    const signer = await openCaSigner(pki, 'infrastructure', PASS);
    const tbs = new Uint8Array(700).fill(7);
    const raw = await rate(n, 10_000, () => signer.sign(tbs));
    const batchedPerSecond = batched.perSecond;
    const entry = {
      issuancePerSecond: issuance.perSecond,
      issued: issuance.ops,
      groupCommitPerSecond: batchedPerSecond,
      rawSignPerSecond: raw.perSecond,
      issuanceToRawSign: +(issuance.perSecond / raw.perSecond).toFixed(3),
      groupCommitToRawSign: +(batchedPerSecond / raw.perSecond).toFixed(3),
    };
    results[algorithm] = entry;
    console.log(
      `${algorithm.padEnd(10)} issuance ${String(issuance.perSecond).padStart(5)}/s one commit each (${issuance.ops} persisted + audited), ${String(batchedPerSecond).padStart(5)}/s in commits of 100;` +
        `  raw sign ${String(raw.perSecond).padStart(5)}/s;  ratios ${entry.issuanceToRawSign} / ${entry.groupCommitToRawSign}`,
    );
    state.close();
  }

  // node-forge alone: RSA-3072 CA key signing an RSA-2048 subscriber certificate, in memory only.
  const toForge = (bits: number) => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    return { privateKey: forge.pki.privateKeyFromPem(privateKey), publicKey: forge.pki.publicKeyFromPem(publicKey) };
  };
  const caKeys = toForge(3072);
  const subject = toForge(2048);
  const forgeRate = await rate(200, 20_000, () => {
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
  });
  const rsa = results['rsa-3072'] as { issuancePerSecond: number };
  results.nodeForgeRsa3072 = { issuancePerSecond: forgeRate.perSecond, issued: forgeRate.ops, jinbaoToForge: +(rsa.issuancePerSecond / forgeRate.perSecond).toFixed(2) };
  console.log(`node-forge alone (RSA-3072 CA, unpersisted) ${forgeRate.perSecond}/s; jinbao rsa-3072 issuance is ${(rsa.issuancePerSecond / forgeRate.perSecond).toFixed(2)}x that`);
  const targets = { p256AtLeast1000: (results['ecdsa-p256'] as { issuancePerSecond: number }).issuancePerSecond >= 1000, sm2AtLeast300: (results.sm2 as { issuancePerSecond: number }).issuancePerSecond >= 300 };
  const os = await import('node:os');
  console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  console.log(JSON.stringify({ bench: 'pki', cpus: os.cpus().length, loadavg: os.loadavg(), results, targets: { ...targets, groupCommitP256AtLeast1000: (results['ecdsa-p256'] as { groupCommitPerSecond: number }).groupCommitPerSecond >= 1000, groupCommitSm2AtLeast300: (results.sm2 as { groupCommitPerSecond: number }).groupCommitPerSecond >= 300 } }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
