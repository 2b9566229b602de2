/** Compliance: the MLPS 2.0 level-3 and plan-target control catalogue, its runner and its outputs. */
export * from './model.js';
export { COMPLIANCE_MESSAGES, needsIn, noPki, noStateStore, said, sayIn, sayWith, type Said, type SaidParam } from './message.js';
export type * from './inputs.js';
export { CATALOGUE, describeCatalogue, type Control } from './catalogue.js';
export { runCatalogue, aggregate, systemTools, type RunOptions } from './runner.js';
export { gatherInputs, type GatherSources } from './gather.js';
export { renderReport, renderCatalogueList, renderJunit, renderSarif, renderTable, FORMATS, type Format } from './formats/index.js';
export { ADMIN_ROLES, adminRoleOf, defaultDenies } from './checks/stacks.js';
export { REQUIRED_ALERTS } from './checks/monitoring.js';
export { AUDIT_RETENTION_DAYS } from './checks/audit.js';
export { DRILL_MAX_AGE_DAYS } from './checks/drills.js';
export { SM2_DISTID } from './checks/pki.js';
export { registerComplianceMetrics } from './metrics.js';
export { printPosturePdf, DEFAULT_CHROMIUM, type PrintPostureOptions } from './report/index.js';
export { renderPosture, buildPosture, renderPostureHtml, chartJsSource, embeddedFont, EMBEDDED_FAMILY, FONT_STACK, REPORT_MESSAGES, type PostureData, type RenderPostureOptions, type RenderedPosture } from './report/index.js';
