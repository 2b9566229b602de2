import type { Registry } from 'prom-client';
import type { Context } from './context.js';
import { registerComplianceMetrics } from '../compliance/index.js';
import { runCompliance } from './commands/comply.js';
import { registerPkiFeatureMetrics } from './commands/pki-up.js';
import { registerDrillMetrics } from './commands/drill.js';
import { registerWanFeatureMetrics } from './commands/wan.js';

/** A feature's metrics, registered on the shared registry that `jinbao exporter` serves. */
export type MetricsRegistration = (registry: Registry, ctx: Context) => void;

/** Every feature with metrics lists its registration here. */
const REGISTRATIONS: readonly MetricsRegistration[] = [
  (registry, ctx) => registerComplianceMetrics(registry, () => runCompliance(ctx)),
  registerPkiFeatureMetrics,
  registerDrillMetrics,
  registerWanFeatureMetrics,
];

export function registerFeatureMetrics(registry: Registry, ctx: Context): void {
  for (const register of REGISTRATIONS) register(registry, ctx);
}
