/**
 * Disaster-recovery drills on real PostgreSQL replication: the drill engine (steps as data with
 * rollbacks, timestamped events), the embedded lab (`pg-local`), the write probe, the HAProxy
 * endpoint, measured RTO/RPO, sealed reports and drill history.
 */
export type { Scenario, ReplicationMode, TargetKind, NodeName, DrillRequest, DrillEvent, DrillResult, Measurements, ProbeCounts, MarkName } from './model.js';
export { SCENARIOS, REPLICATION_MODES, TARGETS } from './model.js';
export { EventLog, runSteps, parseFailedDetail, DrillAbortedError, StepFailure, reasonMessageOf, pause, waitFor, type Step, type StepsOutcome, type EventSaying, type EventListener } from './engine.js';
export { drillSteps, failback, FAILBACK_STREAM_TIMEOUT_MS, newDrillState, DrillRefusedError, type DrillContext, type DrillState } from './runbook.js';
export { executeDrill, type ExecuteDrillOptions } from './drill.js';
export { DrillHistory, DR_LOCK, DR_MIGRATIONS, newRunId, type DrillRun, type RunStatus } from './history.js';
export { buildReportBody, sealReport, verifyReport, verifyProblemTexts, failedDetailText, rollbackDetailText, renderMarkdown, reasonTexts, evaluate, REPORT_FORMAT, UNSIGNED_NOTE, DRILL_NOTES, isReportNote, type DrillNote, type DrillReport, type DrillReportBody, type ReportVerification, type Verdict } from './report.js';
export { canonicalJson, sha256Hex, type EvidenceSigner, type EvidenceSignature, type EvidenceVerifier } from './evidence.js';
export { labTlsSource, checkCertificate, LAB_TLS_LABEL, type ReplicaTlsSource, type ReplicaTlsMaterial, type ReplicaTlsRequest, type KeyPairPem, type CertificateCheck } from './tls.js';
export { WriteProbe, PROBE_TABLE, type ProbeAck, type ProbeOptions } from './probe.js';
export { HaproxyEndpoint, renderHaproxyConfig, runtimeApi, type TrafficSwitch } from './proxy.js';
export { lsnToBigInt, lsnDiff, type DrPair, type ReplicationStatus, type WalPositions } from './pair.js';
export { PgLab, labDir, lastFatal, NODES, type LabState } from './pg/lab.js';
export { LabPair, parseEndOfWal } from './pg/lab-pair.js';
export { PgTools, DEFAULT_PG_BIN, alive, stopPid, type PgToolsOptions } from './pg/tools.js';
export { renderPostgresConf, renderHba, REPLICATION_USER } from './pg/config.js';
export { readPairFile, parsePairText, pairProblemsFor, fillPlaceholders, COMMANDS, PLACEHOLDERS, type PairConfig, type PairNodeConfig, type OperatorCommand, type CommandName } from './pg/pair-config.js';
export { OperatorCommands, OperatorCommandError, type CommandRecord } from './pg/operator.js';
export { RemotePair, SERVER_KEY_SQL, type RemotePairOptions } from './pg/remote-pair.js';
export { fetchServerCertificate, type PresentedCertificate } from './pg/server-cert.js';
export { sampleReplication, type ReplicationSample } from './replication-watch.js';
