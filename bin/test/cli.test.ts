import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';
import { runCli } from '../testkit.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let n = 0;
const freshState = () => join(tmp.dir, `state-${++n}`);

describe('jinbao (foundation commands)', () => {
  const upState = join(tmp.dir, 'up-state');
  const upOut = join(tmp.dir, 'up-out');

  it('GIVEN a fresh machine WHEN `jinbao up` runs on the built-in inventory THEN it validates, allocates and reports the targets', async () => {
    const r = await runCli(['--state', upState, 'up', '--out', upOut]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('inventory: built-in national inventory — valid');
    expect(r.stdout).toContain('SAMPLE DATA');
    expect(r.stdout).toMatch(/1 ministry, 32 provincial sites, 333 prefectures, \d+ county access platforms/);
    expect(r.stdout).toMatch(/targets: \d+ met, \d+ not met, \d+ need live state/);
  });

  it('WHEN `up --json` runs again on the same state THEN it gives the machine form and allocates nothing new', async () => {
    const r = await runCli(['--state', upState, 'up', '--json', '--out', upOut]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.inventory.counts).toMatchObject({ ministry: 1, province: 32, prefecture: 333 });
    expect(out.addressing.newlyAllocated).toBe(0);
    expect(out.kpis.length).toBe(17);
  });

  it('`inventory show --json` lists the ministry, 32 provincial sites and every prefecture with real codes', async () => {
    const r = await runCli(['inventory', 'show', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.sampleData).toBe(true);
    expect(out.counts).toMatchObject({ ministry: 1, province: 32, prefecture: 333 });
    expect(out.sites.find((s: { id: string }) => s.id === '330100')).toMatchObject({ name: '杭州市', tier: 'prefecture', parent: '330000' });
  });

  it('`inventory show` labels sample data for people too', async () => {
    const r = await runCli(['inventory', 'show', '--site', '440100']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SAMPLE DATA/);
    expect(r.stdout).toContain('440100 广州市 (guangzhou) — prefecture, parent 440000');
  });

  it('GIVEN an unknown site THEN `inventory show --site` says how to find one', async () => {
    const r = await runCli(['inventory', 'show', '--site', '999999']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: no site "999999" in built-in national inventory; list the sites with: jinbao inventory show\n');
  });

  it('`inventory export` writes a file that validates as it is', async () => {
    const r = await runCli(['inventory', 'export']);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('# SAMPLE DATA')).toBe(true);
    const file = join(tmp.dir, 'national.yaml');
    writeFileSync(file, r.stdout);
    const v = await runCli(['inventory', 'validate', file]);
    expect(v.stdout).toMatch(/national\.yaml: valid — 366 sites \(32 provincial, 333 prefecture\), \d+ access platforms/);
    expect(v.code).toBe(0);
  });

  it('GIVEN a broken inventory THEN validate lists every problem with its line, exits 2 and shows no stack trace', async () => {
    const file = join(tmp.dir, 'broken.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: jinbao/v1',
        'kind: Inventory',
        'metadata: { name: broken }',
        'sites:',
        '  - { id: "000000", tier: ministry, name: 部, slug: ministry, dataCenter: { class: A, meetsStandard: true }, staff: { total: 5, requiringCertificates: 9 }, backbone: true, serviceAgencies: { total: 1, connected: 1 } }',
        '  - { id: "440000", tier: province, name: 广东, slug: guangdong, parent: "000001", dataCenter: { class: A, meetsStandard: true }, staff: { total: 5, requiringCertificates: 1 }, backbone: true, serviceAgencies: { total: 1, connected: 1 }, dr: { site: "440000" } }',
        '',
      ].join('\n'),
    );
    const r = await runCli(['inventory', 'validate', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        `jinbao: inventory ${file} is invalid: 3 problems`,
        `  - ${file}:5:151: sites[0].staff.requiringCertificates: 9 staff requiring certificates is more than the 5 staff in total; lower it or raise staff.total`,
        `  - ${file}:6:72: sites[1].parent: unknown site "000001", did you mean "000000"?`,
        `  - ${file}:6:249: sites[1].dr.site: got "440000", the site itself, but a site cannot be its own disaster-recovery center; name another site`,
        '',
      ].join('\n'),
    );
    const json = await runCli(['inventory', 'validate', file, '--json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).problems).toHaveLength(3);
  });

  it('GIVEN a broken inventory THEN every command refuses to run', async () => {
    const file = join(tmp.dir, 'broken2.yaml');
    writeFileSync(file, 'apiVersion: jinbao/v1\nkind: Inventory\nmetadata: {name: x}\nsites: []\n');
    for (const args of [['up'], ['ipam'], ['kpi'], ['inventory', 'show'], ['exporter', '--port', '0']]) {
      const state = freshState();
      const r = await runCli(['--inventory', file, '--state', state, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('an inventory has exactly one ministry site (id "000000"), got 0; add it');
    }
  });

  it('GIVEN a missing inventory file THEN it says so without a stack trace; --debug adds it', async () => {
    const r = await runCli(['--inventory', '/nonexistent/inv.yaml', 'kpi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: cannot read inventory /nonexistent/inv.yaml: no such file\n');
    const d = await runCli(['--debug', '--inventory', '/nonexistent/inv.yaml', 'kpi']);
    expect(d.stderr).toContain('at readInventoryFile');
  });

  it('GIVEN an unknown option THEN it is a usage error (exit 2)', async () => {
    const r = await runCli(['kpi', '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--frobnicate'");
  });

  it('`ipam --json` shows the whole nation without overlap, and keeps allocations when a site is added', async () => {
    const state = freshState();
    const r = await runCli(['--state', state, 'ipam', '--json']);
    expect(r.code).toBe(0);
    const first = JSON.parse(r.stdout);
    expect(first.sites).toHaveLength(366);

    // Add a prefecture to an exported inventory: nothing that existed is renumbered.
    const exported = await runCli(['inventory', 'export', '--format', 'json']);
    const inv = JSON.parse(exported.stdout);
    const guangzhou = inv.sites.find((s: { id: string }) => s.id === '440100');
    inv.sites.splice(1, 0, { ...guangzhou, id: '449900', slug: 'newcity', name: '新市', accessPlatforms: [] });
    const file = join(tmp.dir, 'with-new-site.json');
    writeFileSync(file, JSON.stringify(inv));
    const again = JSON.parse((await runCli(['--state', state, '--inventory', file, 'ipam', '--json'])).stdout);
    expect(again.newlyAllocated).toBe(3); // block, dc, underlay of the new prefecture
    const before = new Map(first.sites.map((s: { site: string }) => [s.site, s]));
    for (const s of again.sites) if (s.site !== '449900') expect(s).toEqual(before.get(s.site));
  });

  it('`inventory export --pin` carries the allocations, so a fresh state reproduces them', async () => {
    const state = freshState();
    const pinned = await runCli(['--state', state, 'inventory', 'export', '--pin']);
    const doc = parse(pinned.stdout);
    expect(doc.sites[0].addressing.block).toBe('10.0.0.0/14');
    const file = join(tmp.dir, 'pinned.yaml');
    writeFileSync(file, pinned.stdout);
    const a = JSON.parse((await runCli(['--state', state, 'ipam', '--json'])).stdout);
    const b = JSON.parse((await runCli(['--state', freshState(), '--inventory', file, 'ipam', '--json'])).stdout);
    expect(b.sites).toEqual(a.sites);
    expect(b.newlyAllocated).toBe(0);
  });

  it('`kpi --json` reports target, actual, kind and status', async () => {
    const r = await runCli(['kpi', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const county = out.indicators.find((i: { id: string }) => i.id === 'county-platforms');
    expect(county).toMatchObject({ kind: 'expected', unit: '%', target: { op: '>=', value: 95 } });
    expect(['met', 'not-met']).toContain(county.status);
  });

  it('`--help` teaches: every command group is listed with an example', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['up', 'inventory', 'ipam', 'kpi', 'exporter']) expect(r.stdout).toMatch(new RegExp(`\\n  ${c}\\b`));
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 internal error, 2 invalid input');
  });
});

describe('jinbao as a process', () => {
  it('GIVEN a reader that stops early (`jinbao inventory show | head -1`) THEN it ends quietly with exit 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/jinbao.ts', 'inventory', 'show'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

describe('jinbao exporter (a real process)', () => {
  it('serves the inventory and KPI metrics on loopback until stopped', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/jinbao.ts', '--state', freshState(), 'exporter', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (b: Buffer) => {
          err += b.toString();
          const m = /serving metrics at (\S+)/.exec(err);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`exporter exited ${code}: ${err}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const body = await (await fetch(url)).text();
      expect(body).toContain('jinbao_inventory_sites{tier="prefecture"} 333');
      expect(body).toMatch(/jinbao_kpi_target_percent\{indicator="county-platforms",kind="expected"\} 95/);
      expect(body).toMatch(/jinbao_kpi_met\{indicator="backbone-coverage",kind="binding"\} [01]/);
      expect((await fetch(url.replace('/metrics', '/nope'))).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(child.exitCode).toBe(0);
  });
});
