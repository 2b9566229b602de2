/**
 * CMP enrollment throughput of `jinbao serve`, in one run with its baseline, `runs` samples each
 * (interleaved, so load on the machine falls on subject and baseline alike):
 *   - ir round trips per second: ir with a one-time secret (PBM, 500 iterations, as openssl cmp
 *     sends) → ip, then certConf → pkiConf, over HTTPS with keep-alive, one client; for P-256 and
 *     for SM2 requests (a staff-auth certificate each, signed by the site's staff CA);
 *   - baseline: `pki issue`'s in-process rate: the same pipeline (staff-auth, the same kind of key,
 *     one durable commit each) called directly with the same CRMF request, no protocol.
 * Keys are generated before timing; secrets are created before timing (one transaction).
 * Client and service share this process and the machine's two cores.
 * Run: npx tsx bench/cmp.ts [--runs N] [--smoke]  (prints human lines, then one JSON summary)
 */
import { Agent } from 'node:https';
import os from 'node:os';
import { CmpClient } from '../pki/cmp/client.js';
import { createCmpSecrets } from '../pki/cmp/index.js';
import { generateSoftwareKey, Issuer, type CaAlgorithm, type SoftwareKey } from '../pki/index.js';
import { PASS, startFixture } from '../service/test/fixture.js';
import { benchArgs, compare, report, summarize } from './lib.js';

const { runs, smoke } = benchArgs({ runs: 3 });
const perSample = smoke ? 2 : 24;
const SUBJECT = [{ type: 'CN', value: '张三' }, { type: 'serialNumber', value: 'S0001' }] as const;

const f = await startFixture();
try {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const client = new CmpClient({ url: `${f.running.publicUrl}/cmp/440100`, caPem: f.rootPem, agent });
  const issuer = new Issuer(f.pki, f.ctx.fabric(), PASS);

  async function keys(algorithm: CaAlgorithm, n: number): Promise<SoftwareKey[]> {
    const out: SoftwareKey[] = [];
    for (let i = 0; i < n; i++) out.push(await generateSoftwareKey(algorithm));
    return out;
  }

  async function irPerSecond(algorithm: CaAlgorithm, total: number): Promise<number> {
    const ks = await keys(algorithm, total);
    const secrets = await createCmpSecrets(f.ctx, f.ctx.fabric(), PASS, ks.map(() => ({ site: '440100', profile: 'staff-auth', subject: 'CN=张三, serialNumber=S0001' })));
    const t0 = performance.now();
    for (let i = 0; i < total; i++) await client.enroll({ reference: secrets[i]!.reference, secret: secrets[i]!.secret, key: ks[i]!.signer, subject: SUBJECT });
    return total / ((performance.now() - t0) / 1000);
  }

  async function pipelinePerSecond(algorithm: CaAlgorithm, total: number): Promise<number> {
    const ks = await keys(algorithm, total);
    // The same CRMF proof of possession the pipeline checks for an ir: a signature over a CertRequest-like blob.
    const reqs = await Promise.all(ks.map(async (k) => {
      const signed = Buffer.concat([Buffer.from('bench'), k.signer.spkiDer]);
      return { spkiDer: k.signer.spkiDer, subject: [...SUBJECT], possession: { signatureAlgorithmOid: k.signer.signatureAlgorithmOid, signed, signature: await k.signer.sign(signed) } };
    }));
    const t0 = performance.now();
    for (let i = 0; i < total; i++) await issuer.issue({ profile: 'staff-auth', site: '440100', certRequest: reqs[i]! });
    return total / ((performance.now() - t0) / 1000);
  }

  await irPerSecond('ecdsa-p256', 2);
  await pipelinePerSecond('ecdsa-p256', 2);
  const results: Record<string, unknown> = {};
  for (const [label, algorithm] of [['P-256', 'ecdsa-p256'], ['SM2', 'sm2']] as const) {
    const subject: number[] = [];
    const direct: number[] = [];
    for (let r = 0; r < runs; r++) {
      subject.push(await irPerSecond(algorithm, perSample));
      direct.push(await pipelinePerSecond(algorithm, perSample));
    }
    const c = compare({
      subject: `CMP ir round trips (ir → ip, certConf → pkiConf), ${label} requests, 1 client`,
      baseline: `pki issue in-process: the same pipeline (staff-auth, ${label} key, one durable commit each), no protocol`,
      unit: 'certificates/s',
      work: `${perSample} certificates per sample`,
      subjectSamples: subject,
      baselineSamples: direct,
    });
    console.log(report(c, 1));
    results[label] = summarize(c);
  }
  console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  agent.destroy();
  console.log(JSON.stringify({ bench: 'cmp', runs, smoke, cpus: os.cpus().length, loadavg: os.loadavg(), results }));
} finally {
  await f.close();
}
