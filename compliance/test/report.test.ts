import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderPosture } from '../report/index.js';
import { runCatalogue } from '../runner.js';
import { jinbao, tempDir } from './cli.js';
import { compliantInputs, fakeTools } from './fixtures.js';

/** The page's globals as the callbacks given to page.evaluate use them (they run in Chromium, not in Node). */
interface PageCanvas {
  readonly width: number;
  readonly height: number;
  readonly id: string;
}
declare const document: { querySelectorAll(selector: 'canvas'): ArrayLike<PageCanvas> };
declare const window: { Chart: { getChart(canvas: PageCanvas): unknown } };

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const tmp = tempDir('jinbao-report-');
const state = join(tmp.dir, 'state');
let browser: BrowserContext | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  // a fresh profile folder per run (Playwright passes it as --user-data-dir)
  browser = await chromium.launchPersistentContext(join(tmp.dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  tmp.cleanup();
});

describe('posture report data', () => {
  it('GIVEN inputs with drills, certificates and a WAN plan WHEN the page is rendered THEN every section has its data and no raw "<" escapes the data block', async () => {
    const inputs = compliantInputs();
    const report = await runCatalogue(inputs, { tools: fakeTools([]) });
    const { html, data } = await renderPosture(inputs, report, { chartJs: '/* chart stub */' });
    expect(data.certificates.available).toBe(true);
    expect(data.drills.runs.map((r) => r.site)).toEqual(['000000', '110000', '440000']);
    expect(data.drills.runs[1]).toMatchObject({ rtoSeconds: 30, rtoObjective: 120, rpoObjective: 0 });
    expect(data.wan).toMatchObject({ available: true, provincesWithTwoUplinks: 2, provinces: 2 });
    expect(data.byProvince.map((p) => p.province)).toEqual(['000000', '110000', '440000']);
    const block = /<script id="posture-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(block).not.toContain('<');
    expect(JSON.parse(block)).toEqual(JSON.parse(JSON.stringify(data)));
  });

  it('GIVEN staff certificates WHEN the page is rendered THEN it shows the staff indicator per province, adding up to the national one, with the source of the figures, in English and in Chinese', async () => {
    const inputs = compliantInputs();
    const report = await runCatalogue(inputs, { tools: fakeTools([]) });
    const { html, data } = await renderPosture(inputs, report, { chartJs: '' });
    const national = inputs.indicators.find((i) => i.id === 'staff-certificates')!;
    const staff = data.staffByProvince;
    expect(staff.available).toBe(true);
    expect(staff.target).toBe('> 70%');
    expect(staff.provinces.map((p) => p.province)).toEqual(data.byProvince.map((p) => p.province));
    expect(staff.provinces.reduce((n, p) => n + p.staff, 0)).toBe(national.denominator);
    expect(staff.provinces.reduce((n, p) => n + p.holders, 0)).toBe(national.numerator);
    const gd = staff.provinces.find((p) => p.province === '440000')!;
    expect(html).toContain('<h2>Business staff using digital certificates, by province (target &gt; 70%)</h2>');
    expect(html).toMatch(new RegExp(`<tr data-staff-province="440000"><td class="mono">440000</td><td>[^<]+</td><td class="num">${gd.staff.toLocaleString('en')}</td><td class="num">${gd.holders.toLocaleString('en')}</td><td class="num">${gd.actual.toFixed(1)}%</td><td><span class="badge ${gd.status}">[^<]+</span></td><td class="note">inventory ${data.inventory.sampleData ? 'sample ' : ''}figures: ${gd.inventorySites} site\\(s\\)</td></tr>`));
    const zh = await renderPosture(inputs, report, { lang: 'zh-CN', chartJs: '', embedFont: false });
    expect(zh.html).toContain('<h2>业务人员数字证书使用率，按省（目标 &gt; 70%）</h2>');
    expect(zh.html).toContain(`资源清单${data.inventory.sampleData ? '样例' : ''}数字：${gd.inventorySites} 个站点`);

    const needing = { ...inputs, staffByProvince: undefined };
    const without = await renderPosture(needing, await runCatalogue(needing, { tools: fakeTools([]) }), { chartJs: '' });
    expect(without.data.staffByProvince).toMatchObject({ available: false, provinces: [] });
    expect(without.html).toContain('<p class="unavailable">Not available: the staff indicator needs state (see its row in the indicators)</p>');
  });

  it('sections whose state is missing say why instead of drawing empty charts', async () => {
    const inputs = { ...compliantInputs(), pki: undefined, drills: undefined, missing: { pki: 'needs pki: run jinbao pki init', drills: 'needs dr-runbooks' } };
    const { html } = await renderPosture(inputs, await runCatalogue(inputs, { tools: fakeTools([]) }), { chartJs: '' });
    expect(html).toContain('<p class="unavailable">Not available: needs pki: run jinbao pki init</p>');
    expect(html).toContain('<p class="unavailable">Not available: needs dr-runbooks</p>');
    expect(html).not.toContain('id="chart-certificates"');
  });
});

describe.skipIf(!hasChromium)('posture report in headless Chromium (Debian package chromium)', () => {
  it('GIVEN jinbao report on the built-in inventory WHEN Chromium opens it offline THEN it renders its charts, logs no error, and its indicator numbers equal jinbao kpi --json', async () => {
    const out = join(tmp.dir, 'report');
    const r = await jinbao(['--state', state, 'report', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(out, 'index.html')}`);
    const kpi = JSON.parse((await jinbao(['--state', state, 'kpi', '--json'])).stdout) as { indicators: { id: string; unit: string; actual?: number; status: string }[] };

    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    const requests: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith('file://')) requests.push(req.url());
    });
    await page.goto(`file://${join(out, 'index.html')}`);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 15_000 });

    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    const charts = await page.evaluate(() => Array.from(document.querySelectorAll('canvas')).filter((c) => c.width > 0 && c.height > 0).length);
    expect(charts).toBeGreaterThanOrEqual(3);
    const shown = await page.$$eval('tr[data-indicator]', (rows) => rows.map((row) => ({ id: row.getAttribute('data-indicator')!, actual: row.querySelector('.actual')!.textContent!.trim() })));
    // percent with one decimal; the card holders in 亿人 with two
    expect(shown).toEqual(kpi.indicators.map((i) => ({ id: i.id, actual: i.actual === undefined ? '—' : i.unit === '%' ? `${i.actual.toFixed(1)}%` : `${i.actual.toFixed(2)} ${i.unit}` })));
    expect(await page.textContent('#verdict')).toBe('Not compliant: at least one binding control fails or could not run.');
    await page.screenshot({ path: join(tmp.dir, 'posture.png'), fullPage: true });
    expect(readFileSync(join(tmp.dir, 'posture.png')).length).toBeGreaterThan(10_000);
    if (process.env.JINBAO_KEEP_SCREENSHOT) spawnSync('cp', [join(tmp.dir, 'posture.png'), process.env.JINBAO_KEEP_SCREENSHOT]);
    await page.close();
  }, 90_000);

  it('GIVEN a fabric with certificates, drills and a WAN plan WHEN the page opens THEN all five charts draw without errors', async () => {
    const inputs = compliantInputs();
    const { html } = await renderPosture(inputs, await runCatalogue(inputs, { tools: fakeTools([]) }));
    const file = join(tmp.dir, 'full.html');
    writeFileSync(file, html);
    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 15_000 });
    expect(problems).toEqual([]);
    const drawn = await page.evaluate(() => Array.from(document.querySelectorAll('canvas')).filter((c) => window.Chart.getChart(c) !== undefined).map((c) => c.id));
    expect(drawn.sort()).toEqual(['chart-certificates', 'chart-drills', 'chart-indicators', 'chart-provinces', 'chart-wan']);
    await page.close();
  }, 60_000);
});

describe('jinbao report', () => {
  it('says which folder could not be written and how to fix it', async () => {
    const blocker = join(tmp.dir, 'b-file');
    writeFileSync(blocker, '');
    const r = await jinbao(['--state', state, 'report', '--out', join(blocker, 'posture')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^jinbao: cannot write the report into ${blocker}/posture: .*; choose another --out folder\\n$`));
  });
});
