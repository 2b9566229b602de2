/**
 * The DR feature's operations: plan and run a drill, the lab and pair status, the history, and the
 * facts and metrics others read. Each takes its inputs and the state it needs and returns data.
 */
export { drSite, buildDrillRequest, pairConfigFor, commandsInPlan, planDrill, type DrillChoices, type DrillPlan, type PlannedCommand } from './request.js';
export { prepareLab, runDrill, checkRunChoices, type DrillEvidence, type DrillObserver, type RunDrillOptions, type DrillRunResult } from './run.js';
export { pairStatus, labStatus, stopLab, drillHistory, abortDrill, listDrills, drillReport, verifyReportFile } from './status.js';
export { drillLiveFacts, registerDrillMetrics, registerReplicationMetrics, readExporterPairs, drillStatus } from './metrics.js';
