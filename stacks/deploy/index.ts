export { connectCluster, ClusterError, FIELD_MANAGER, type Cluster, type LiveObject } from './cluster.js';
export { planSite, formatPlan, diffObject, type Plan, type Change, type FieldChange } from './plan.js';
export { applyPlan, type ApplyOptions, type ApplyReport } from './apply.js';
