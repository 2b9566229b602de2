/** Monitoring: the shared prom-client registry, the exporter, Prometheus rules and the Grafana dashboard. */
export { createRegistry, registerFabricMetrics, type FabricMetricsSource } from './registry.js';
export { startExporter, type Exporter } from './exporter.js';
export { METRICS } from './metric-names.js';
export { buildRules, renderRuleFiles, BURN_RATE_WINDOWS, type BurnRateWindow, type RulesOptions, type RenderedRules } from './rules.js';
export { buildDashboard } from './dashboard.js';
export { renderMonitoring } from './render.js';
