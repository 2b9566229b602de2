import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ComplianceInputs } from '../inputs.js';
import type { ComplianceReport } from '../model.js';
import { renderPostureHtml } from './html.js';
import { buildPosture, type PostureData } from './posture.js';

/** Chart.js's UMD build from node_modules, inlined into the page so it works offline. */
export function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  // the package's exports map hides dist/; its main entry sits next to the UMD build
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

/** The posture page (HTML) and its data, from the compliance inputs and a run over them. */
export function renderPosture(inputs: ComplianceInputs, report: ComplianceReport, chartJs = chartJsSource()): { html: string; data: PostureData } {
  const data = buildPosture(inputs, report);
  return { html: renderPostureHtml(data, chartJs), data };
}

export { buildPosture, renderPostureHtml, type PostureData };
