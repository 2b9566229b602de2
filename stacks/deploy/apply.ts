import { JinbaoError } from '../../lib/errors.js';
import { objectRef } from '../render/index.js';
import type { Cluster } from './cluster.js';
import type { Plan } from './plan.js';

export interface ApplyOptions {
  /** Ask the server to check every change without storing it. @default false */
  readonly dryRun?: boolean;
  /** Delete objects with the site's labels that are no longer desired. @default false */
  readonly prune?: boolean;
  /** Take over fields another field manager owns instead of failing on the conflict. @default false */
  readonly forceConflicts?: boolean;
}

export interface ApplyReport {
  readonly dryRun: boolean;
  readonly applied: readonly string[];
  readonly pruned: readonly string[];
  /** Dry run only: objects in namespaces this plan creates, which the server cannot check before they exist. */
  readonly unchecked: readonly string[];
}

/**
 * Carry out a plan: server-side apply of every create and change in order (namespaces and roles
 * first), then, with `prune`, deletes guarded by the resourceVersion the plan saw. Stops at the first
 * refusal and throws an error listing what was applied, what failed and what was not applied.
 */
export async function applyPlan(cluster: Cluster, plan: Plan, options: ApplyOptions = {}): Promise<ApplyReport> {
  const dryRun = options.dryRun ?? false;
  const applied: string[] = [];
  const pruned: string[] = [];
  const unchecked: string[] = [];
  const steps = plan.changes.filter((c) => c.action === 'create' || c.action === 'update' || (options.prune && c.action === 'prune'));
  const newNamespaces = new Set(plan.changes.filter((c) => c.action === 'create' && c.object.kind === 'Namespace').map((c) => c.object.metadata.name));
  for (const [i, step] of steps.entries()) {
    const ref = objectRef(step.object);
    try {
      if (step.action === 'prune') {
        await cluster.remove(step.object, { dryRun, ...(step.object.metadata.resourceVersion ? { resourceVersion: step.object.metadata.resourceVersion } : {}) });
        pruned.push(ref);
      } else if (dryRun && step.object.metadata.namespace !== undefined && newNamespaces.has(step.object.metadata.namespace)) {
        unchecked.push(ref);
      } else {
        await cluster.apply(step.object, { dryRun, force: options.forceConflicts ?? false });
        applied.push(ref);
      }
    } catch (err) {
      const notApplied = steps.slice(i + 1).map((s) => `${s.action === 'prune' ? 'delete' : 'apply'} ${objectRef(s.object)}`);
      const message = err instanceof Error ? err.message : String(err);
      throw new JinbaoError(
        `${dryRun ? 'dry run' : 'apply'} of site ${plan.site} stopped at ${ref}: ${message}\n` +
          `${applied.length + pruned.length} of ${steps.length} change(s) ${dryRun ? 'passed' : 'were made'}, ${steps.length - i} not made; fix the cause and run apply again (it resumes from the cluster's state)`,
        {
          exitCode: err instanceof JinbaoError ? err.exitCode : 1,
          details: [...applied.map((r) => `applied: ${r}`), ...pruned.map((r) => `deleted: ${r}`), `failed: ${ref}`, ...notApplied.map((r) => `not done: ${r}`)],
          cause: err,
        },
      );
    }
  }
  return { dryRun, applied, pruned, unchecked };
}
