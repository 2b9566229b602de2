import { json } from '../../lib/output.js';
import type { ComplianceReport } from '../model.js';
import { renderJunit } from './junit.js';
import { renderSarif } from './sarif.js';
import { renderTable } from './table.js';

export const FORMATS = ['table', 'json', 'junit', 'sarif'] as const;
export type Format = (typeof FORMATS)[number];

/** Render a report in one of the output formats. */
export function renderReport(report: ComplianceReport, format: Format, opts: { inventoryUri?: string } = {}): string {
  switch (format) {
    case 'table':
      return renderTable(report);
    case 'json':
      return json(report);
    case 'junit':
      return renderJunit(report);
    case 'sarif':
      return json(renderSarif(report, opts));
  }
}

export { renderJunit, renderSarif, renderTable };
