import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { DrillHistory, newRunId, type DrillRequest } from '../../dr-runbooks/index.js';
import { SqliteDatabase } from '../../lib/sql/index.js';
import { jinbao, tempDir } from './cli.js';
import { compliantInventory } from './fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const state = join(tmp.dir, 'state');

describe('jinbao comply', () => {
  it('GIVEN the built-in inventory WHEN comply runs THEN binding controls fail truthfully and the exit code is 3', async () => {
    const r = await jinbao(['--state', state, 'comply']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^PLAN-dc-standard-prefecture +FAIL +yes/m);
    expect(r.stdout).toMatch(/^MLPS-IAM-01 +MANUAL +no/m);
    expect(r.stdout).toContain('not compliant: binding control(s) not passing:');
  });

  it('--format json gives the report with a summary; --json is the same', async () => {
    const a = await jinbao(['--state', state, 'comply', '--format', 'json']);
    const b = await jinbao(['--state', state, 'comply', '--json']);
    const report = JSON.parse(a.stdout) as { summary: { compliant: boolean; controls: number }; results: { control: { id: string } }[] };
    expect(report.summary.compliant).toBe(false);
    expect(report.results.map((r) => r.control.id)).toContain('PLAN-social-security-card');
    expect(JSON.parse(b.stdout).summary).toEqual(report.summary);
  });

  it('--site limits the run to that site\'s site-scoped controls', async () => {
    const r = await jinbao(['--state', state, 'comply', '--site', '610000', '--json']);
    const report = JSON.parse(r.stdout) as { site: string; results: { control: { id: string; scope: string }; findings: { site?: string }[] }[] };
    expect(report.site).toBe('610000');
    expect(report.results.every((x) => x.control.scope === 'site')).toBe(true);
    expect(report.results.map((x) => x.control.id)).toContain('MLPS-NET-01');
    const net = report.results.find((x) => x.control.id === 'MLPS-GRADE-01')!;
    expect(net.findings.map((f) => f.site)).toEqual(['610000']);
  });

  it('an unknown site is refused with exit 2', async () => {
    const r = await jinbao(['--state', state, 'comply', '--site', '999999']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: no site "999999" in built-in national inventory; list the sites with: jinbao inventory show\n');
  });

  it('an unknown format is refused with exit 2', async () => {
    const r = await jinbao(['--state', state, 'comply', '--format', 'html']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: --format: got "html", want one of table, json, junit, sarif\n');
  });

  it('an --out path that cannot be written is refused before running', async () => {
    const r = await jinbao(['--state', state, 'comply', '--format', 'sarif', '--out', join(tmp.dir, 'no', 'such', 'x.sarif')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`jinbao: --out ${join(tmp.dir, 'no', 'such', 'x.sarif')} cannot be written: the folder ${join(tmp.dir, 'no', 'such')} does not exist or is not writable; create it or choose another path\n`);
    const d = await jinbao(['--state', state, 'comply', '--out', tmp.dir]);
    expect(d.stderr).toBe(`jinbao: --out ${tmp.dir} is a directory, want a file path\n`);
  });

  it('--out writes SARIF and JUnit files and says where', async () => {
    const sarif = join(tmp.dir, 'c.sarif');
    const r = await jinbao(['--state', state, 'comply', '--format', 'sarif', '--out', sarif]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^not compliant \(\d+ binding control\(s\) not passing\); sarif written to /);
    expect(JSON.parse(readFileSync(sarif, 'utf8')).version).toBe('2.1.0');
    const xml = join(tmp.dir, 'c.xml');
    await jinbao(['--state', state, 'comply', '--format', 'junit', '--out', xml]);
    expect(readFileSync(xml, 'utf8')).toMatch(/^<\?xml version="1.0"/);
  });

  it('a corrupt state store is refused with exit 2 and a way out', async () => {
    const bad = tempDir();
    writeFileSync(join(bad.dir, 'jinbao.db'), 'this is not sqlite');
    const r = await jinbao(['--state', bad.dir, 'comply']);
    bad.cleanup();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/is not a usable SQLite database: .*; move it aside or use another state store/);
  });

  it('an invalid inventory is refused before anything runs', async () => {
    const inv = compliantInventory();
    inv.sites[1] = { ...inv.sites[1]!, parent: '990000' };
    const file = join(tmp.dir, 'bad.yaml');
    writeFileSync(file, stringify(inv));
    const r = await jinbao(['--inventory', file, '--state', state, 'comply']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('--list prints the catalogue with clauses', async () => {
    const r = await jinbao(['comply', '--list', '--json']);
    const list = JSON.parse(r.stdout) as { id: string; source: { clause?: string } }[];
    expect(list.find((c) => c.id === 'MLPS-AUD-01')?.source.clause).toBe('8.1.4.3 c)');
  });
});

describe('jinbao comply over real feature state', () => {
  it('GIVEN a fresh jinbao up (demo PKI, no drills) WHEN comply runs THEN nothing passes on demo keys or lab drills, each saying what would prove it; drills against real pairs then prove backup and mutual TLS', async () => {
    const dir = tempDir();
    try {
      const file = join(dir.dir, 'small.yaml');
      const st = join(dir.dir, 'state');
      writeFileSync(file, stringify(compliantInventory()));
      const up = await jinbao(['--inventory', file, '--state', st, 'up', '--out', join(dir.dir, 'out')]);
      expect(up.stderr).toBe('');
      expect(up.stdout).toContain(`report: ${join(dir.dir, 'out', 'report', 'index.html')}`);
      type Report = { results: { control: { id: string }; status: string; findings: { site?: string; status: string; message: string; evidence: { provenance: string }[] }[] }[] };
      const comply = async () => JSON.parse((await jinbao(['--inventory', file, '--state', st, 'comply', '--json'])).stdout) as Report;
      const report = await comply();
      const status = Object.fromEntries(report.results.map((x) => [x.control.id, x.status]));
      expect(status).toMatchObject({
        'MLPS-BND-02': 'pass',
        'MLPS-IAM-02': 'pass',
        'MLPS-IAM-03': 'not-run',
        'MLPS-IAM-04': 'not-run',
        'MLPS-AUD-01': 'pass',
        'MLPS-BAK-02': 'fail',
        'MLPS-CRY-01': 'not-run',
        'GM-CRY-01': 'fail',
        'MLPS-MON-01': 'pass',
        'MLPS-NET-02': 'pass',
        'MLPS-BND-01': 'pass',
        'PLAN-dr-centers': 'not-run',
        'PLAN-staff-certificates': 'not-run',
      });
      // no passing finding rests on demo keys or lab drills
      const passing = report.results.flatMap((x) => x.findings.filter((f) => f.status === 'pass'));
      expect(passing.flatMap((f) => f.evidence.map((e) => e.provenance)).filter((p) => p === 'demo' || p === 'lab')).toEqual([]);
      const byId = (r: Report, id: string) => r.results.find((x) => x.control.id === id)!;
      expect(byId(report, 'MLPS-IAM-03').findings[0]!.message).toMatch(/^not proven: all \d+ active certificates are valid and chain to active CAs, but the evidence is from the demo PKI that jinbao up creates .*; prove it with: a production hierarchy: /);
      expect(byId(report, 'MLPS-CRY-01').findings.map((f) => f.message)).toContain(
        'not proven: no drill within 90 days observed the replication connection to 440000 (2 active replica-mtls certificate(s) on file, which alone prove nothing); observe it with: jinbao drill run --site 110000 --target pg --pair FILE',
      );
      expect(byId(report, 'PLAN-dr-centers').findings[0]!.message).toMatch(/^needs DR drills against real pairs: .* lab drills \(pg-local\) do not count/);
      expect(byId(report, 'GM-CRY-01').findings[0]!.message).toBe('no active SM2 root CA; create one with jinbao pki init --algorithm sm2');

      const recordDrill = async (site: string, target: 'pg' | 'pg-local', replicationTls: string) => {
        const db = SqliteDatabase.open(st);
        try {
          const history = await DrillHistory.open(db);
          const id = newRunId(site);
          const request = { site, target, scenario: 'switchover', replication: 'sync', objectives: { rtoSeconds: 120, rpoSeconds: 0 } } as unknown as DrillRequest;
          await history.begin(`test-${site}`, id, request);
          await history.finish(`test-${site}`, id, { result: 'passed', rtoMs: 850, rpoRows: 0, report: { events: [{ type: 'measure', name: 'preflight.replicationTls', value: replicationTls }] } });
        } finally {
          await db.close();
        }
      };
      // lab drills everywhere: still not proven
      for (const site of ['000000', '110000', '440000']) await recordDrill(site, 'pg-local', 'mutual-tls');
      const lab = await comply();
      expect(byId(lab, 'MLPS-BAK-02').status).toBe('not-run');
      expect(byId(lab, 'MLPS-CRY-01').status).toBe('not-run');
      expect(byId(lab, 'MLPS-BAK-02').findings[0]!.message).toMatch(/^not proven: site 000000: drill passed 0 day\(s\) ago, but the evidence is from drills on the embedded lab/);
      expect(byId(lab, 'PLAN-dr-centers').status).toBe('not-run');

      // real pairs: two of three, then all
      await recordDrill('000000', 'pg', 'mutual-tls');
      await recordDrill('110000', 'pg', 'mutual-tls');
      const partial = await comply();
      expect(byId(partial, 'MLPS-BAK-02').findings.map((f) => [f.site, f.status])).toEqual([
        ['000000', 'pass'],
        ['110000', 'pass'],
        ['440000', 'not-run'],
      ]);
      // the ministry and one of two provinces (110000; 440000 is paired but drilled only on the lab)
      const kpi = JSON.parse((await jinbao(['--inventory', file, '--state', st, 'kpi', '--json'])).stdout) as { indicators: { id: string; numerator?: number; denominator?: number; provenance: string }[] };
      expect(kpi.indicators.find((i) => i.id === 'dr-centers')).toMatchObject({ numerator: 2, denominator: 3, provenance: 'observed' });
      await recordDrill('440000', 'pg', 'mutual-tls');
      const full = await comply();
      expect(byId(full, 'MLPS-BAK-02').status).toBe('pass');
      expect(byId(full, 'MLPS-CRY-01').status).toBe('pass');
      expect(byId(full, 'MLPS-CRY-01').findings[0]!.evidence.map((e) => e.provenance)).toEqual(['observed']);
    } finally {
      dir.cleanup();
    }
  }, 120_000);
});

const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasOpenssl)('the SM2 controls over a real SM2 hierarchy (Debian package openssl)', () => {
  it('GIVEN jinbao pki init --algorithm sm2 and an issued server certificate WHEN comply runs THEN the SM2 hierarchy passes and OpenSSL verifies its chain', async () => {
    const dir = tempDir();
    try {
      const env = { JINBAO_PKI_PASSPHRASE: 'correct-horse-battery-staple' };
      const st = join(dir.dir, 'state');
      const init = await jinbao(['--state', st, 'pki', 'init', '--algorithm', 'sm2'], env);
      expect(init.stderr).toBe('');
      const issue = await jinbao(
        ['--state', st, 'pki', 'issue', '--profile', 'server-tls', '--site', '440100', '--generate', '--subject', 'CN=app.440100.jinbao.internal', '--dns', 'app.440100.jinbao.internal', '--application', 'employee-insurance', '--out', join(dir.dir, 'issued')],
        env,
      );
      expect(issue.code).toBe(0);
      const r = await jinbao(['--state', st, 'comply', '--json']);
      const report = JSON.parse(r.stdout) as { results: { control: { id: string }; status: string; findings: { message: string; evidence: { detail: string }[] }[] }[] };
      const byId = (id: string) => report.results.find((x) => x.control.id === id)!;
      expect(byId('GM-CRY-01').status).toBe('pass');
      expect(byId('GM-CRY-02').status).toBe('pass');
      expect(byId('GM-CRY-02').findings[0]!.evidence.map((e) => e.detail)).toEqual([
        'openssl verify -vfyopt distid:1234567812345678 -CAfile root.pem inter.pem → exit 0: inter.pem: OK',
        'openssl verify -vfyopt distid:1234567812345678 -partial_chain -CAfile inter.pem leaf.pem → exit 0: leaf.pem: OK',
      ]);
    } finally {
      dir.cleanup();
    }
  }, 120_000);
});
