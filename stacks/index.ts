/**
 * Standardized data-center stacks: the engine-neutral renderer (fabric site → Kubernetes objects),
 * and, loaded on demand because they are heavy, the cdktf engine, the Pulumi engine and the deployer.
 */
export * from './render/index.js';
export { parseBackend, passwordIn, pgSchemaName, type Backend } from './cdktf/backend.js';

/** The cdktf engine (imports cdktf and the Kubernetes provider: load it only when synthesizing). */
export const loadCdktfEngine = () => import('./cdktf/index.js');
/** The Pulumi engine (imports @pulumi/pulumi and @pulumi/kubernetes). */
export const loadPulumiEngine = () => import('./pulumi/index.js');
/** The deployer (imports @kubernetes/client-node). */
export const loadDeployer = () => import('./deploy/index.js');
