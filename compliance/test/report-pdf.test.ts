import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jinbao, tempDir } from './cli.js';

const hasChromium = existsSync('/usr/bin/chromium');
const tmp = tempDir('jinbao-report-pdf-');
const state = join(tmp.dir, 'state');
afterAll(() => tmp.cleanup());

const pdftotext = (file: string, page: number) => spawnSync('pdftotext', ['-f', String(page), '-l', String(page), file, '-'], { encoding: 'utf8' }).stdout;
const pdfinfo = (file: string) => spawnSync('pdfinfo', [file], { encoding: 'utf8' }).stdout;

describe.skipIf(!hasChromium)('jinbao report --pdf (headless Chromium)', () => {
  it('GIVEN a Chinese locale WHEN jinbao report --pdf runs THEN an A4 PDF has on every page a header with the inventory and the 年月日 date and a footer 第 N 页，共 M 页, drawn in the embedded font', async () => {
    const file = join(tmp.dir, 'posture.pdf');
    const r = await jinbao(['--state', state, 'report', '--pdf', file], { LANG: 'zh_CN.UTF-8' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Under a Chinese locale the command's own lines are Chinese too.
    expect(r.stdout).toMatch(new RegExp(`^已写出 ${file}\\n不合规：\\d+ 个约束性.+未通过\\n$`));
    const info = pdfinfo(file);
    expect(info).toMatch(/Page size:\s+[\d.]+ x [\d.]+ pts \(A4\)/);
    const pages = Number(/Pages:\s+(\d+)/.exec(info)![1]);
    expect(pages).toBeGreaterThanOrEqual(3);
    for (let p = 1; p <= pages; p++) {
      const text = pdftotext(file, p);
      expect(text).toMatch(/national · 安全态势报告 · \d{4}年\d{1,2}月\d{1,2}日/);
      expect(text).toContain(`第 ${p} 页，共 ${pages} 页`);
    }
    expect(pdftotext(file, 1)).toContain('金保工程 安全态势报告');
    const fonts = spawnSync('pdffonts', [file], { encoding: 'utf8' }).stdout;
    expect(fonts).toMatch(/NotoSansSC\S*\s+CID TrueType\s+Identity-H\s+yes\s+yes\s+yes/);
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  }, 120_000);

  it('GIVEN --lang en with --out and --pdf and --json THEN both are written, the PDF speaks English, and the JSON names both files', async () => {
    const file = join(tmp.dir, 'posture-en.pdf');
    const out = join(tmp.dir, 'page');
    const r = await jinbao(['--state', state, '--lang', 'en', 'report', '--out', out, '--pdf', file, '--json'], { LANG: 'zh_CN.UTF-8' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ file: join(out, 'index.html'), pdf: file, compliant: false });
    expect(existsSync(join(out, 'index.html'))).toBe(true);
    const pages = Number(/Pages:\s+(\d+)/.exec(pdfinfo(file))![1]);
    const first = pdftotext(file, 1);
    expect(first).toMatch(/national · posture report · \d{4}-\d\d-\d\d/);
    expect(first).toContain(`page 1 of ${pages}`);
    expect(first.replace(/\n+/g, '')).toContain('Golden Security (金保) fabric — posture report');
  }, 120_000);
});

describe('jinbao report: bad input and missing tools', () => {
  it('needs --out or --pdf', async () => {
    const r = await jinbao(['--state', state, 'report']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: jinbao report needs --out DIR (the HTML page), --pdf FILE (the printable report) or both; e.g. jinbao report --pdf posture.pdf\n');
  });

  it('says which Chromium is missing and how to get one (exit 4), writing nothing', async () => {
    const file = join(tmp.dir, 'none.pdf');
    const r = await jinbao(['--state', state, 'report', '--pdf', file], { JINBAO_CHROMIUM: '/nonexistent/chromium' });
    expect(r.code).toBe(4);
    expect(r.stderr).toBe('jinbao: cannot print the PDF: no Chromium at /nonexistent/chromium; install it (apt-get install --no-install-recommends chromium) or set JINBAO_CHROMIUM to its path\n');
    expect(existsSync(file)).toBe(false);
  });

  it('says which folder is missing for the PDF (exit 2)', async () => {
    const file = join(tmp.dir, 'no-such-dir', 'p.pdf');
    const r = await jinbao(['--state', state, 'report', '--pdf', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`jinbao: cannot write the PDF to ${file}: its folder ${join(tmp.dir, 'no-such-dir')} does not exist; create it or choose another --pdf file\n`);
  });
});
