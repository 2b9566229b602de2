/** Operations that span features; see README.md. */
export { LocalOpsContext, type OpsContext } from './context.js';
export { gatherLiveFacts, computeLiveKpis, computeLiveKpiReport, type LiveFactsProvider } from './live-facts.js';
export { gatherCompliance } from './compliance-inputs.js';
export { renderPostureReport, runCompliance, writePosturePage, writePostureReport } from './compliance.js';
export { registerFeatureMetrics, exporterRegistry, type MetricsRegistration } from './metrics.js';
export { drillEvidence, reportVerifier } from './drill-evidence.js';
export { runUp, UP_STAGES, pkiUpStage, stacksUpStage, wanUpStage, drillUpStage, postureUpStage, type UpStage, type UpEnv, type UpStageResult, type UpResult } from './up.js';
export { migrateStore, storeStatus, STATE_COMPONENTS, type StateStatus, type MigrateResult } from './state.js';
