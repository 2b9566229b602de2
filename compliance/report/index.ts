import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Lang } from '../../lib/i18n/index.js';
import type { ComplianceInputs } from '../inputs.js';
import type { ComplianceReport } from '../model.js';
import { EMBEDDED_FAMILY, embeddedFont, FONT_STACK } from './font.js';
import { pdfHeaderText, renderPostureHtml, REPORT_MESSAGES } from './html.js';
import { buildPosture, type PostureData } from './posture.js';

/** Chart.js's UMD build from node_modules, inlined into the page so it works offline. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  // the package's exports map hides dist/; its main entry sits next to the UMD build
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

export interface RenderPostureOptions {
  /** Language of the page's words (its data is the same in every language). @default 'en' */
  readonly lang?: Lang;
  /** Chart.js source to inline. @default the installed chart.js */
  readonly chartJs?: string;
  /** Embed the Chinese font subset. @default true */
  readonly embedFont?: boolean;
}

export interface RenderedPosture {
  readonly html: string;
  readonly data: PostureData;
  /** The embedded font: bytes of woff2 data and how many distinct characters it carries. */
  readonly font: { readonly bytes: number; readonly chars: number };
}

/**
 * The posture page (HTML) and its data, from the compliance inputs and a run over them. The page is
 * rendered once to learn which characters it shows, then again with the font subset for exactly those.
 */
export async function renderPosture(inputs: ComplianceInputs, report: ComplianceReport, opts: RenderPostureOptions = {}): Promise<RenderedPosture> {
  const data = buildPosture(inputs, report);
  const chartJs = opts.chartJs ?? chartJsSource();
  const lang = opts.lang ?? 'en';
  if (opts.embedFont === false) return { html: renderPostureHtml(data, chartJs, { lang }), data, font: { bytes: 0, chars: 0 } };
  // the printed page's header and footer reuse the page's faces: their characters are embedded too
  const print = pdfHeaderText(lang, data.inventory.name, data.generatedAt);
  const font = await embeddedFont(renderPostureHtml(data, '', { lang }) + print.header + print.footer);
  return { html: renderPostureHtml(data, chartJs, { lang, fontCss: font.css }), data, font: { bytes: font.bytes, chars: [...font.chars].length } };
}

export { printPosturePdf, DEFAULT_CHROMIUM, type PrintPostureOptions } from './pdf.js';
export { buildPosture, renderPostureHtml, embeddedFont, EMBEDDED_FAMILY, FONT_STACK, REPORT_MESSAGES, type PostureData };
