/** The private WAN overlay: topology from the fabric, policy, WireGuard/nftables rendering, keys and the namespace lab. */
export { buildPlan, slicePlan, findNode, linksOf, drNodeId, isPairLink, type WanPlan, type WanNode, type WanLink, type NodeRole, type LinkKind } from './topology.js';
export { aclFlows, allowedServices, SERVICES, SERVICE_NAMES, RULES, ALL, type Flow, type Service } from './acl.js';
export { KeyStore, generateKeyPair, parseKey, publicKeyOf, migrateWan, type KeyPair, type NodeKeys } from './keys.js';
export {
  planConfigs,
  renderPlan,
  renderWgQuick,
  renderNftables,
  renderWatches,
  flowsFor,
  indexFlows,
  collapsePrefixes,
  type FlowIndex,
  defaultIfaceName,
  LISTEN_PORTS,
  METRIC,
  SPOKE_TABLE,
  SPOKE_RULE_PRIORITY,
  type SpokePolicy,
  NFT_TABLE,
  type NodeConfig,
  type IfacePlan,
  type PeerPlan,
  type Route,
  type Watch,
  type IfaceNamer,
  type IfaceRole,
  type RenderOptions,
  type RenderedFile,
  type RenderedNode,
  type RenderSummary,
} from './render.js';
export {
  labUp,
  labDown,
  labCheck,
  labCut,
  labRotate,
  labNodes,
  labUnderlay,
  LAB_ROAMING_UNDERLAY,
  timeToReach,
  readJournal,
  requireLab,
  requireRoot,
  requireTools,
  LAB_HARD_LIMIT,
  type LabSize,
  type LabEnv,
  type LabUp,
  type LabJournal,
  type LabDown,
  type StoppedProcess,
  type CheckResult,
  type PairResult,
  type LinkResult,
} from './lab/index.js';
export { saveCheck, lastCheck } from './checks.js';
export { registerWanMetrics } from './metrics.js';
export { systemRunner, type Runner } from './exec.js';
export { labProcesses, systemProcs, isLabIface, isLabNamespace, type ProcTable, type ProcInfo, type LabIdentity, type Found } from './procs.js';
export { writeRendered } from './write.js';
