/** The private WAN overlay: topology from the fabric, policy, WireGuard/nftables rendering, keys and the namespace lab. */
export { buildPlan, slicePlan, findNode, linksOf, drNodeId, isPairLink, type WanPlan, type WanNode, type WanLink, type NodeRole, type LinkKind } from './topology.js';
export { aclFlows, allowedServices, SERVICES, SERVICE_NAMES, RULES, ALL, type Flow, type Service } from './acl.js';
export { KeyStore, generateKeyPair, parseKey, publicKeyOf, migrateWan, type KeyPair, type NodeKeys } from './keys.js';
export {
  planConfigs,
  renderPlan,
  renderWgQuick,
  renderNftables,
  flowsFor,
  indexFlows,
  collapsePrefixes,
  type FlowIndex,
  defaultIfaceName,
  LISTEN_PORTS,
  METRIC,
  LINK_PORT_BASE,
  OSPF_GROUPS,
  isRouter,
  type RouterLink,
  type LineKind,
  NFT_TABLE,
  type NodeConfig,
  type IfacePlan,
  type PeerPlan,
  type Route,
  type IfaceNamer,
  type IfaceRole,
  type RenderOptions,
  type RenderedFile,
  type RenderedNode,
  type RenderSummary,
} from './render.js';
export { renderBird, renderOriginFilter, originPrefixes, OSPF_COST, BFD, OSPF_HELLO, LINK_SPACE, type BirdOptions } from './routing.js';
export {
  labUp,
  labDown,
  labCheck,
  routingTable,
  labCut,
  labKill,
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
  routingState,
  parseNeighbours,
  parseBfd,
  parseRouteCounts,
  countFailovers,
  type RouterState,
  type Neighbour,
  type BfdSession,
} from './lab/index.js';
export { saveCheck, lastCheck } from './checks.js';
export { registerWanMetrics } from './metrics.js';
export { systemRunner, type Runner } from './exec.js';
export { labProcesses, systemProcs, isLabIface, isLabNamespace, type ProcTable, type ProcInfo, type LabIdentity, type Found } from './procs.js';
export { writeRendered } from './write.js';
