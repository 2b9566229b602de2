/** Monitoring: the shared prom-client registry, the exporter, and (later) rules and dashboards. */
export { createRegistry, registerFabricMetrics, type FabricMetricsSource } from './registry.js';
export { startExporter, type Exporter } from './exporter.js';
