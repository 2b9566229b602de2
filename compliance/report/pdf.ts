import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { inputError, unavailableError, type Lang } from '../../lib/i18n/index.js';
import { FONT_STACK } from './font.js';
import { pdfHeaderText, REPORT_MESSAGES } from './html.js';

/** Debian's chromium; `JINBAO_CHROMIUM` names another. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Flags for a headless Chromium run as root, offline, with a fresh profile and nothing phoning home. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface PrintPostureOptions {
  readonly lang: Lang;
  /** The inventory's name, in every page header. */
  readonly inventory: string;
  /** When the report was generated, in every page header. */
  readonly generatedAt: string;
  /** @default DEFAULT_CHROMIUM */
  readonly chromium?: string;
}

/**
 * The header and footer templates. Chromium renders them apart from the page and prints them at once:
 * they reuse the page's own font faces (renderPosture embeds the header's characters too), with
 * font-display swap, since a face still in its block period prints blank (measured: blank with
 * block, or with faces that the page itself did not load; real glyphs this way).
 */
function headerAndFooter(html: string, opts: PrintPostureOptions): { header: string; footer: string } {
  const text = pdfHeaderText(opts.lang, opts.inventory, opts.generatedAt);
  const faces = (html.match(/@font-face \{[^}]*\}/g) ?? []).map((f) => f.replace('font-display: block', 'font-display: swap'));
  const style = `<style>${faces.join('\n')} .jb { font-size: 8.5px; font-family: ${FONT_STACK}; color: #59636e; width: 100%; padding: 0 10mm; }</style>`;
  return {
    header: `${style}<div class="jb">${text.header}</div>`,
    footer: `${style}<div class="jb" style="text-align: right">${text.footer}</div>`,
  };
}

/**
 * Print the posture page to an A4 PDF with headless Chromium: page headers with the inventory's name
 * and the date, page numbers in the footer, backgrounds kept. The file is written whole or not at all.
 * Returns the number of pages.
 */
export async function printPosturePdf(html: string, file: string, opts: PrintPostureOptions): Promise<{ pages: number; bytes: number }> {
  const executablePath = opts.chromium ?? DEFAULT_CHROMIUM;
  if (!existsSync(executablePath)) {
    throw unavailableError(REPORT_MESSAGES, 'pdfError.noChromium', { path: executablePath });
  }
  if (!existsSync(dirname(file))) throw inputError(REPORT_MESSAGES, 'pdfError.noFolder', { file, dir: dirname(file) });
  const { header, footer } = headerAndFooter(html, opts);
  // loaded here, not on import: every jinbao command imports compliance/, few print
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
  let pdf: Buffer;
  try {
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: 'load' });
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 30_000 });
    await page.emulateMedia({ media: 'print' });
    pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      displayHeaderFooter: true,
      headerTemplate: header,
      footerTemplate: footer,
      margin: { top: '16mm', bottom: '14mm', left: '10mm', right: '10mm' },
    });
  } finally {
    await browser.close();
  }
  const partial = `${file}.partial`;
  try {
    writeFileSync(partial, pdf);
    renameSync(partial, file);
  } catch (err) {
    rmSync(partial, { force: true });
    throw inputError(REPORT_MESSAGES, 'pdfError.cannotWrite', { file, reason: (err as Error).message }, { cause: err });
  }
  return { pages: (pdf.toString('latin1').match(/\/Type\s*\/Page\b/g) ?? []).length, bytes: pdf.length };
}
