import type { Lang } from '../../lib/i18n/index.js';
import { json } from '../../lib/output.js';
import type { ComplianceReport } from '../model.js';
import { renderJunit } from './junit.js';
import { renderSarif } from './sarif.js';
import { renderCatalogueList, renderTable } from './table.js';

export const FORMATS = ['table', 'json', 'junit', 'sarif'] as const;
export type Format = (typeof FORMATS)[number];

/**
 * Render a report in one of the output formats. Only the human table follows `lang`; JSON, JUnit
 * and SARIF are the same bytes in every language (the findings' catalogue entries are left out).
 */
export function renderReport(report: ComplianceReport, format: Format, opts: { inventoryUri?: string; lang?: Lang } = {}): string {
  switch (format) {
    case 'table':
      return renderTable(report, opts.lang);
    case 'json':
      return json(report, ['said']);
    case 'junit':
      return renderJunit(report);
    case 'sarif':
      return json(renderSarif(report, opts));
  }
}

export { renderCatalogueList, renderJunit, renderSarif, renderTable };
