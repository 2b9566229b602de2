import type { Registry } from 'prom-client';
import type { Context } from './context.js';

/** Each feature registers its own metrics on the shared registry here. */
export function registerFeatureMetrics(_registry: Registry, _ctx: Context): void {}
