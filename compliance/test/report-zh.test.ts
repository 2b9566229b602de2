import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/package-info.js';
import { CATALOGUE } from '../catalogue.js';
import { EMBEDDED_FAMILY, renderPosture } from '../report/index.js';
import { runCatalogue } from '../runner.js';
import { jinbao, tempDir } from './cli.js';
import { compliantInputs, fakeTools } from './fixtures.js';

/** The page's globals as the callbacks given to page.evaluate use them (they run in Chromium, not in Node). */
interface Ctx2d {
  font: string;
  clearRect(x: number, y: number, w: number, h: number): void;
  fillText(s: string, x: number, y: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
}
declare const document: { createElement(tag: 'canvas'): { width: number; height: number; getContext(kind: '2d'): Ctx2d } };

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
/** Whether this machine has a CJK font of its own (then boxes cannot be produced on purpose). */
const systemCjk = spawnSync('fc-list', [':lang=zh'], { encoding: 'utf8' }).stdout?.trim() !== '';
const tmp = tempDir('jinbao-report-zh-');
const state = join(tmp.dir, 'state');
let browser: BrowserContext | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
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

async function open(file: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser!.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('request', (req) => {
    if (!/^(file|data):/.test(req.url())) problems.push(`request: ${req.url()}`);
  });
  await page.goto(`file://${file}`);
  await page.waitForSelector('body[data-rendered="true"]', { timeout: 15_000 });
  return { page, problems };
}

/** Which fonts Chromium drew an element's text with (DevTools protocol: CSS.getPlatformFontsForNode). */
async function fontsOf(page: Page, selector: string): Promise<{ familyName: string; isCustomFont: boolean; glyphCount: number }[]> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
  const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
  await cdp.detach();
  return fonts;
}

/**
 * Draw each character on a canvas in `font` and compare its pixels with a character no font has
 * (U+E000, private use): a missing glyph is drawn as that same box (tofu); a real glyph differs from
 * it, and two different real glyphs differ from each other.
 */
async function glyphsDiffer(page: Page, font: string, chars: string): Promise<{ tofu: string[]; distinct: number }> {
  return page.evaluate(
    ([f, cs]) => {
      const c = document.createElement('canvas');
      c.width = 48;
      c.height = 48;
      const g = c.getContext('2d');
      const draw = (ch: string) => {
        g.clearRect(0, 0, 48, 48);
        g.font = f;
        g.fillText(ch, 4, 36);
        return Array.from(g.getImageData(0, 0, 48, 48).data).join(',');
      };
      const box = draw('\uE000');
      const drawn = [...cs].map((ch) => ({ ch, px: draw(ch) }));
      return { tofu: drawn.filter((x) => x.px === box).map((x) => x.ch), distinct: new Set(drawn.map((x) => x.px)).size };
    },
    [font, chars] as const,
  );
}

const SAMPLE = '金保工程安全态势报告结论灾备中心数字证书';

describe('the posture report in Chinese (data and words)', () => {
  it('GIVEN --lang zh-CN WHEN the page is rendered THEN its words are Chinese, dates are 年月日, its data block is the same as in English, and the font subset is small', async () => {
    const inputs = compliantInputs();
    const report = await runCatalogue(inputs, { tools: fakeTools([]) });
    const zh = await renderPosture(inputs, report, { lang: 'zh-CN', chartJs: '' });
    const en = await renderPosture(inputs, report, { lang: 'en', chartJs: '' });
    expect(zh.html).toContain('<html lang="zh-CN">');
    expect(zh.html).toContain('<h1 id="title">金保工程 安全态势报告</h1>');
    expect(zh.html).toContain('<h2>结论</h2>');
    expect(zh.html).toContain('<h2>灾备演练：实测 RTO 与目标，数据丢失（RPO）</h2>');
    expect(zh.html).toMatch(/生成于 \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d（北京时间）/);
    expect(zh.html).toContain('所有站点定级为等级保护三级及以上');
    expect(zh.html).toContain('"actual":"实际 %"');
    expect(zh.html).not.toContain('>Verdict<');
    const block = (html: string) => /<script id="posture-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1];
    expect(block(zh.html)).toBe(block(en.html));
    expect(zh.html).toContain(`font-family: "${EMBEDDED_FAMILY}"`);
    expect(zh.font.chars).toBeGreaterThan(300);
    expect(zh.font.bytes).toBeLessThan(400_000);
    expect(zh.html.length).toBeLessThan(800_000);
  });

  it('names every control in Chinese, and the English names are the catalogue\'s own', () => {
    const root = projectRoot();
    const messages = (lang: string) => (JSON.parse(readFileSync(join(root, 'compliance/report/locales', `${lang}.json`), 'utf8')) as { control: Record<string, string> }).control;
    const security = CATALOGUE.filter((c) => !c.id.startsWith('PLAN-'));
    expect(Object.fromEntries(security.map((c) => [c.id, messages('en')[c.id]]))).toEqual(Object.fromEntries(security.map((c) => [c.id, c.title])));
    expect(security.filter((c) => !messages('zh-CN')[c.id])).toEqual([]);
  });
});

describe.skipIf(!hasChromium)('the Chinese posture report in headless Chromium, which has no CJK font here', () => {
  let page: Page;
  let file: string;

  it('GIVEN LANG=zh_CN.UTF-8 WHEN jinbao report writes the page and Chromium opens it offline THEN it renders in Chinese without errors or requests', async () => {
    const out = join(tmp.dir, 'zh');
    const r = await jinbao(['--state', state, 'report', '--out', out], { LANG: 'zh_CN.UTF-8' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    file = join(out, 'index.html');
    const opened = await open(file);
    page = opened.page;
    expect(opened.problems).toEqual([]);
    expect(await page.textContent('h1')).toBe('金保工程 安全态势报告');
    expect(await page.textContent('#verdict')).toBe('不合规：至少一项约束性控制项未通过或未能检查。');
  }, 90_000);

  it('draws the headings, the verdict, table heads and badges with the embedded font, not boxes', async () => {
    for (const selector of ['h1', '#summary h2', '#verdict', '#indicators th', 'tr[data-indicator] .badge', 'tr[data-province] td:nth-child(2)']) {
      const fonts = await fontsOf(page, selector);
      const cjk = fonts.filter((f) => f.isCustomFont);
      expect({ selector, embedded: cjk.length > 0 }).toEqual({ selector, embedded: true });
      expect(cjk.every((f) => /Noto Sans SC/.test(f.familyName))).toBe(true);
    }
    const drawn = await glyphsDiffer(page, `24px "${EMBEDDED_FAMILY}"`, SAMPLE);
    expect(drawn.tofu).toEqual([]);
    expect(drawn.distinct).toBe(new Set(SAMPLE).size);
  });

  it('draws Chinese on the charts (canvas text) with real glyphs too', async () => {
    const fontStack = await page.evaluate(() => (globalThis as unknown as { Chart: { defaults: { font: { family: string } } } }).Chart.defaults.font.family);
    expect(fontStack).toContain(EMBEDDED_FAMILY);
    const drawn = await glyphsDiffer(page, `12px ${fontStack}`, '实际目标百分比省级统一数据中心建成率');
    expect(drawn.tofu).toEqual([]);
  });

  it('prints to a PDF whose text is Chinese and whose font is the embedded Noto Sans SC (pdffonts, pdftotext)', async () => {
    const pdf = join(tmp.dir, 'zh.pdf');
    await page.emulateMedia({ media: 'print' });
    await page.pdf({ path: pdf, format: 'A4', printBackground: true });
    const fonts = spawnSync('pdffonts', [pdf], { encoding: 'utf8' });
    expect(fonts.status).toBe(0);
    const noto = fonts.stdout.split('\n').filter((l) => /NotoSansSC/.test(l));
    expect(noto.length).toBeGreaterThan(0);
    expect(noto.every((l) => /\byes\s+yes\s+yes\b/.test(l))).toBe(true); // embedded, subset, ToUnicode
    const text = spawnSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' });
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('金保工程 安全态势报告');
    expect(text.stdout).toContain('规划主要指标（专栏2）：目标与实际');
    await page.close();
  }, 60_000);

  it('without the embedded font the same page draws boxes on this machine (the checks above can fail)', async () => {
    const inputs = compliantInputs();
    const { html } = await renderPosture(inputs, await runCatalogue(inputs, { tools: fakeTools([]) }), { lang: 'zh-CN', embedFont: false });
    const bare = join(tmp.dir, 'bare.html');
    writeFileSync(bare, html);
    const { page: p } = await open(bare);
    const drawn = await glyphsDiffer(p, '24px sans-serif', SAMPLE);
    expect(drawn.tofu.length === 0).toBe(systemCjk);
    expect((await fontsOf(p, 'h1')).some((f) => f.isCustomFont)).toBe(false);
    await p.close();
  }, 60_000);
});
