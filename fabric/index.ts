/** The fabric: the typed national inventory, its policy (placement, objectives), addressing and targets. */
export * from './model.js';
export { Fabric } from './fabric.js';
export { loadFabric, readInventoryFile, parseInventoryText, validateInventory, inventoryError, builtInInventory, BUILT_IN_INVENTORY, sourceParam, type LoadResult } from './load.js';
export { formatProblem, formatPath, type Problem } from './problems.js';
export { allocate, type IpamResult, type Ledger, type SiteAllocation } from './ipam.js';
export { IPAM_LOCK, IPAM_MIGRATIONS, loadLedger } from './ipam-ledger.js';
export { computeKpis, staffByProvince, needsCode, NEEDS, PLAN_INDICATORS, formatActual, formatTarget, type StaffBreakdown, type StaffProvinceShare, type StaffSiteShare, type StaffSource, type Indicator, type IndicatorUnit, type LiveFacts, type IndicatorStatus, type PlanRow } from './kpi.js';
export { objectivesFor, DEFAULT_OBJECTIVES, type RecoveryObjectives } from './objectives.js';
export { domainsFor, isCentralized, MUNICIPALITIES } from './placement.js';
export { SAMPLE_DATA_NOTE, XPCC_ID } from './national.js';
