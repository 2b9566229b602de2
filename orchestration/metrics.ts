import type { Registry } from 'prom-client';
import { registerComplianceMetrics } from '../compliance/index.js';
import { registerDrillMetrics, registerReplicationMetrics } from '../dr-runbooks/operations/index.js';
import type { PairConfig } from '../dr-runbooks/index.js';
import { createRegistry, registerFabricMetrics } from '../monitoring/index.js';
import { registerWanStateMetrics } from '../network/operations.js';
import { registerPkiStateMetrics } from '../pki/operations.js';
import { registerStaffMetrics } from '../staff/index.js';
import { sharedReading } from '../lib/scrape.js';
import { runCompliance } from './compliance.js';
import type { OpsContext } from './context.js';
import { gatherLiveFacts } from './live-facts.js';

/** A feature's metrics, registered on the shared registry that `jinbao exporter` serves. */
export type MetricsRegistration = (registry: Registry, ctx: OpsContext) => void;

/** Every feature with metrics lists its registration here. */
const REGISTRATIONS: readonly MetricsRegistration[] = [
  (registry, ctx) => registerComplianceMetrics(registry, () => runCompliance(ctx)),
  registerPkiStateMetrics,
  registerDrillMetrics,
  registerWanStateMetrics,
  (registry, ctx) => registerStaffMetrics(registry, ctx),
];

export function registerFeatureMetrics(registry: Registry, ctx: OpsContext): void {
  for (const register of REGISTRATIONS) register(registry, ctx);
}

/**
 * The exporter's registry: the inventory and the KPIs, every feature's metrics, and the replication
 * of the given DR pairs (and of running embedded labs), all computed at scrape time.
 */
export function exporterRegistry(ctx: OpsContext, pairs: readonly PairConfig[]): Registry {
  const registry = createRegistry();
  registerFabricMetrics(registry, { fabric: () => ctx.fabric(), live: sharedReading(() => gatherLiveFacts(ctx)) });
  registerFeatureMetrics(registry, ctx);
  registerReplicationMetrics(registry, ctx.stateDir, pairs);
  return registry;
}
