/**
 * Time to unseal `jinbao serve --sealed`, from the moment the last share rebuilds the passphrase
 * to the full service listening, in one run with its baseline, `runs` samples each (interleaved):
 *   - subject: the CA keys opened once — the check of the rebuilt passphrase opens every active
 *     CA key and hands the signers to the service (what serve does now);
 *   - baseline: the same check, then the service opening every key again at start (what serve did
 *     before the signers were handed on).
 * The state: a P-256 hierarchy with the staff CAs of every province of the small inventory. Each
 * sample runs in a fresh process: a process keeps the software keys it unlocked (pki/keys.ts), and
 * a service unsealing has unlocked none yet.
 * Run: npx tsx bench/unseal.ts [--runs N] [--smoke]  (prints human lines, then one JSON summary)
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { passphraseOpensCaKeys } from '../operators/index.js';
import { LocalOpsContext } from '../orchestration/index.js';
import { ensureProvinceStaffCa, initHierarchy, PkiStore } from '../pki/index.js';
import { startServe } from '../service/index.js';
import { smallInventory, tempDir } from '../testkit/index.js';
import { benchArgs, compare, report, summarize } from './lib.js';

const PASS = 'correct horse battery staple';
const SAMPLE = process.env.JINBAO_BENCH_UNSEAL_SAMPLE;

/** Rebuilt passphrase → service listening → closed; ms to listening. */
async function unsealOnce(ctx: LocalOpsContext, handOn: boolean): Promise<number> {
  const t0 = performance.now();
  const signers = await passphraseOpensCaKeys(ctx, PASS);
  if (!signers) throw new Error('the passphrase does not open the CA keys');
  const running = await startServe(ctx, { host: '127.0.0.1', port: 0, publicUrl: 'https://127.0.0.1:1', passphrase: PASS, ...(handOn ? { signers } : {}), log: () => undefined, quiet: true });
  const ms = performance.now() - t0;
  await running.close(100);
  return ms;
}

if (SAMPLE !== undefined) {
  // one sample, in this fresh process: "once" or "twice" on the state prepared by the parent
  const [mode, stateDir, inventory] = SAMPLE.split('\n') as [string, string, string];
  const ctx = new LocalOpsContext({ stateDir, inventory });
  process.stdout.write(`${await unsealOnce(ctx, mode === 'once')}\n`);
  await ctx.close();
  process.exit(0);
}

const { runs, smoke } = benchArgs({ runs: 3, smokeRuns: 1 });
const { dir, cleanup } = tempDir('jinbao-bench-unseal-');
try {
  const inventory = join(dir, 'inventory.json');
  writeFileSync(inventory, JSON.stringify(smallInventory()));
  const stateDir = join(dir, 'state');
  const ctx = new LocalOpsContext({ stateDir, inventory });
  const pki = await PkiStore.open(await ctx.database(), ctx.stateDir);
  await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS });
  for (const p of ctx.fabric().sites.filter((s) => s.tier === 'province')) await ensureProvinceStaffCa(pki, p, PASS, { actor: 'bench' });
  const keys = (await pki.listCas()).filter((c) => c.status === 'active').length;
  await ctx.close();
  const sample = (mode: 'once' | 'twice') =>
    Number(execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename], { env: { ...process.env, JINBAO_BENCH_UNSEAL_SAMPLE: `${mode}\n${stateDir}\n${inventory}` }, encoding: 'utf8' }).trim());

  const once: number[] = [];
  const twice: number[] = [];
  for (let r = 0; r < runs; r++) {
    once.push(sample('once'));
    twice.push(sample('twice'));
  }
  const c = compare({
    subject: 'unseal to listening, CA keys opened once (signers handed on)',
    baseline: 'unseal to listening, CA keys opened at the check and again at start',
    unit: 'ms',
    work: `${keys} active CA keys (software, P-256, PBKDF2 600,000 iterations), a fresh process per sample${smoke ? ', smoke' : ''}`,
    subjectSamples: once,
    baselineSamples: twice,
  });
  console.log(report(c, 1));
  console.log(`load average during the run: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  console.log(JSON.stringify({ bench: 'unseal', runs, smoke, cpus: os.cpus().length, loadavg: os.loadavg(), keys, results: { unseal: summarize(c) } }));
} finally {
  cleanup();
}
