/**
 * The staff KPI at a million staff certificates, embedded SQLite, the built-in national inventory
 * with a production hierarchy (its passphrase not in the store, so the certificates count):
 *   - real issuance: REAL staff-auth certificates through the pipeline (CSR proof of possession,
 *     profile checks, sign, insert + audit entry), in group commits of 100, spread over every site
 *     (which creates each province's staff CA); baseline: raw signing with the same CA key, the
 *     same number of signatures;
 *   - the store is then filled to TOTAL certificates through the store's bulk path (`recordIssued`:
 *     the rows and their chained audit entries, 1,000 per transaction), copies of a real
 *     certificate under new serials, staff numbers and validities (a year each, ending evenly over
 *     the coming year, so about 1/12 are due within 30 days; 1% revoked). Site 440100 has a roster
 *     of ROSTER people (imported through importRoster), 90% of them holding a certificate;
 *   - on that store: the staff KPI query (the PKI's per-site holders and the roster join, what
 *     `jinbao kpi` reads for the indicator; target ≤ 2 s), `staff expiring --within 30d` in process,
 *     and through the CLI in fresh processes `jinbao kpi --json`, `jinbao report --out` and
 *     `jinbao staff expiring --within 30d --json`. Baseline of each: the same on the same store
 *     before the fill (REAL certificates and the roster), measured in this run: the ratio says how
 *     it grows with the store.
 *
 *   npx tsx bench/staff-scale.ts [--runs N] [--smoke]
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFabric } from '../fabric/index.js';
import { openDatabase } from '../lib/sql/index.js';
import { initHierarchy, Issuer, openCaSigner, PkiStore, staffCaIdFor, staffCertificateHolders, type IssuedEntry } from '../pki/index.js';
import { expiringStaffCertificates, importRoster, rosterTemplate, staffCsr, staffLiveFacts } from '../staff/index.js';
import { benchArgs, compare, describe, report, sampleMs, stats, summarize, type Comparison } from './lib.js';

const { runs, smoke } = benchArgs({ runs: 3, smokeRuns: 1 });
const TOTAL = smoke ? 2_000 : 1_000_000;
const REAL = smoke ? 20 : 10_000;
const ROSTER = smoke ? 200 : 100_000;
const ROSTER_SITE = '440100';
const KPI_TARGET_MS = 2_000;
const PASS = 'bench passphrase, not secret';
const DAY = 86_400_000;
const cli = fileURLToPath(new URL('../bin/jinbao.ts', import.meta.url));
const repo = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-staff-scale-'));
const stateDir = join(dir, 'state');

/** One CLI run in a fresh process; milliseconds to its exit (stdout discarded). */
function jinbao(argv: readonly string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, '--state', stateDir, ...argv], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LANG: 'C.UTF-8', JINBAO_WORK_DIR: join(dir, '.jinbao') } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`jinbao ${argv.join(' ')} exited ${code}: ${stderr.slice(-2000)}`))));
  });
}

function identityCode(n: number): string {
  const body = `440106${String(19600101 + (n % 28) + 100 * (n % 12)).slice(0, 8)}${String(n % 1000).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((s, w, i) => s + w * Number(body[i]), 0);
  return body + '10X98765432'[sum % 11]!;
}

const rosterNumber = (i: number) => `S${String(i).padStart(7, '0')}`;

try {
  const fabric = loadFabric();
  const db = await openDatabase(stateDir);
  const pki = await PkiStore.open(db, stateDir);
  const state = { stateDir, hasStore: () => true, database: async () => db };
  await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS });
  // The ministry and the provinces first, so that every staff CA exists after the first few issuances.
  const sites = [...fabric.byTier('ministry'), ...fabric.byTier('province'), ...fabric.byTier('prefecture')];
  log(`setup: ${TOTAL.toLocaleString('en')} staff certificates over ${sites.length} sites in ${dir}; load average ${load()}`);

  // ---- real issuance, against raw signing with the same CA key
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const requests = Array.from({ length: REAL }, (_, i) => ({ profile: 'staff-auth', site: sites[i % sites.length]!.id, csr: staffCsr(privateKey, `R${String(i).padStart(7, '0')}`, `员工R${i}`) }));
  const issuer = new Issuer(pki, fabric, PASS);
  // Not timed: one issuance per staff CA creates the ministry's and every province's CA.
  const warm = [...fabric.byTier('ministry'), ...fabric.byTier('province')].map((s, i) => ({ profile: 'staff-auth', site: s.id, csr: staffCsr(privateKey, `W${String(i).padStart(7, '0')}`, `员工W${i}`) }));
  for (const failed of (await issuer.issueMany(warm)).filter((g) => g instanceof Error)) throw failed;
  const signer = await openCaSigner(pki, 'infrastructure', PASS);
  const tbs = new Uint8Array(700).fill(7);
  // Samples of CHUNK certificates each, issuance and raw signing interleaved so load falls on both alike.
  const CHUNK = REAL / 10;
  const issueRate: number[] = [];
  const rawRate: number[] = [];
  for (let at = 0; at < REAL; at += CHUNK) {
    let t0 = performance.now();
    for (let i = at; i < at + CHUNK; i += 100) {
      const failed = (await issuer.issueMany(requests.slice(i, Math.min(i + 100, at + CHUNK)))).find((g) => g instanceof Error);
      if (failed) throw failed;
    }
    issueRate.push(CHUNK / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    for (let i = 0; i < CHUNK; i++) await signer.sign(tbs);
    rawRate.push(CHUNK / ((performance.now() - t0) / 1000));
  }
  const issuance = compare({ subject: 'staff-auth issuance through the pipeline, group commits of 100', baseline: 'raw signing with the same CA key, the same number of signatures', unit: 'certificates/s', work: `${REAL} certificates in samples of ${CHUNK}`, subjectSamples: issueRate, baselineSamples: rawRate });
  log(report(issuance, 0));

  // ---- the roster of ROSTER_SITE (the real import path)
  const lines = [rosterTemplate(false).trim()];
  for (let i = 0; i < ROSTER; i++) lines.push(`${rosterNumber(i)},员工${i},${identityCode(i)},${String(i).padStart(10, '0')},部门${i % 40},s${i}@hrss.gd.gov.cn,active`);
  const rosterFile = join(dir, 'roster.csv');
  writeFileSync(rosterFile, `${lines.join('\n')}\n`);
  await importRoster(state, fabric, { file: rosterFile, site: ROSTER_SITE });

  // ---- measurements, run on the store as it is now (baseline) and after the fill (subject)
  const now = new Date();
  const kpiQuery = async () => {
    await staffCertificateHolders(pki, now);
    await staffLiveFacts(state, now);
  };
  const expiring = () => expiringStaffCertificates(state, { days: 30, now });
  const report1 = join(dir, 'report');
  const measure = async () => ({
    kpiQuery: await sampleMs(runs, kpiQuery),
    expiring: await sampleMs(runs, expiring),
    cliKpi: await sampleMs(runs, () => jinbao(['kpi', '--json'])),
    cliReport: await sampleMs(runs, () => jinbao(['report', '--out', report1])),
    cliExpiring: await sampleMs(runs, () => jinbao(['staff', 'expiring', '--within', '30d', '--json'])),
  });
  const before = await measure();
  log(`baseline measurements done on ${REAL.toLocaleString('en')} certificates; load average ${load()}`);

  // ---- the fill: copies of a real certificate through the store's bulk path
  const template = (await pki.listCertificates({ profile: 'staff-auth' }))[0]!;
  const caOf = new Map(sites.map((s) => [s.id, staffCaIdFor(fabric, s).id]));
  const holders = Math.floor(ROSTER * 0.9);
  const others = sites.filter((s) => s.id !== ROSTER_SITE);
  const fillCount = TOTAL - REAL;
  const fillStart = performance.now();
  const batch: IssuedEntry[] = [];
  for (let i = 0; i < fillCount; i++) {
    // the roster site's people first (90% of them hold one), then every other site in turn
    const onRoster = i < holders;
    const site = onRoster ? ROSTER_SITE : others[i % others.length]!.id;
    const staffNumber = onRoster ? rosterNumber(Math.floor(i / 9) * 10 + (i % 9)) : `X${String(i).padStart(7, '0')}`;
    const notAfter = new Date(now.getTime() + ((i % 365) + 1) * DAY - 3_600_000);
    const serial = `5${i.toString(16).padStart(31, '0')}`;
    batch.push({
      certificate: { ...template, serial, caId: caOf.get(site)!, site, staffNumber, commonName: `员工${staffNumber}`, subject: `CN=员工${staffNumber},serialNumber=${staffNumber}`, notBefore: new Date(notAfter.getTime() - 365 * DAY), notAfter, issuedAt: new Date(notAfter.getTime() - 365 * DAY) },
      audit: { action: 'pki.issue', outcome: 'ok', subject: serial, details: { profile: template.profile, profileVersion: template.profileVersion, site, caId: caOf.get(site)!, notAfter: notAfter.toISOString(), keyType: template.keyType } },
    });
    if (batch.length === 1_000 || i === fillCount - 1) {
      const rejected = await pki.recordIssued(batch.splice(0));
      if (rejected.size) throw new Error(`bulk fill: ${rejected.size} certificates refused (${[...rejected.values()][0]})`);
    }
  }
  // 1% revoked (a fixture: the revocation path is bench/pki-revocation.ts's)
  await db.run("UPDATE pki_certificates SET status = 'revoked', revoked_at = $1, revocation_reason = 'superseded' WHERE serial LIKE '5%' AND substr(staff_number, -2) = '00'", [now.toISOString()]);
  const fillMs = performance.now() - fillStart;
  const [{ n }] = (await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM pki_certificates')) as [{ n: number }];
  log(`filled to ${Number(n).toLocaleString('en')} certificates through recordIssued in ${(fillMs / 1000).toFixed(1)} s (${Math.round(fillCount / (fillMs / 1000)).toLocaleString('en')}/s, not a target); load average ${load()}`);

  const after = await measure();
  const due = (await expiring()).length;
  const facts = (await staffLiveFacts(state, now)).staffRosters!.get(ROSTER_SITE)!;
  log(`roster site ${ROSTER_SITE}: ${facts.people.toLocaleString('en')} people, ${facts.holders.toLocaleString('en')} holding a certificate; ${due.toLocaleString('en')} staff certificates due within 30 days`);
  const work = `${Number(n).toLocaleString('en')} certificates vs ${REAL.toLocaleString('en')}`;
  const vsSmall = (subject: string, a: number[], b: number[]): Comparison => compare({ subject, baseline: `the same on the same store before the fill (${REAL.toLocaleString('en')} certificates, the same roster)`, unit: 'ms', work, subjectSamples: a, baselineSamples: b });
  const results = {
    kpiQuery: vsSmall('staff KPI query (per-site holders + roster join)', after.kpiQuery, before.kpiQuery),
    expiring: vsSmall('staff expiring --within 30d, in process', after.expiring, before.expiring),
    cliKpi: vsSmall('jinbao kpi --json, fresh process', after.cliKpi, before.cliKpi),
    cliReport: vsSmall('jinbao report --out, fresh process', after.cliReport, before.cliReport),
    cliExpiring: vsSmall('jinbao staff expiring --within 30d --json, fresh process', after.cliExpiring, before.cliExpiring),
  };
  for (const c of Object.values(results)) log(report(c, 0));
  const kpi = stats(after.kpiQuery);
  log(`staff KPI query at ${Number(n).toLocaleString('en')} certificates: ${describe(kpi, 'ms', 0)} (target ≤ ${KPI_TARGET_MS} ms: ${kpi.median <= KPI_TARGET_MS ? 'met' : 'NOT met'})`);
  log(`load average at the end: ${load()}`);
  await db.close();
  log(
    JSON.stringify({
      bench: 'staff-scale',
      smoke,
      runs,
      certificates: Number(n),
      dueWithin30Days: due,
      roster: facts,
      fillPerSecond: Math.round(fillCount / (fillMs / 1000)),
      kpiQueryMs: Math.round(kpi.median),
      kpiWithinTarget: kpi.median <= KPI_TARGET_MS,
      loadavg: loadavg(),
      issuance: summarize(issuance),
      ...Object.fromEntries(Object.entries(results).map(([k, c]) => [k, summarize(c)])),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
