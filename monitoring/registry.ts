import { Gauge, Registry } from 'prom-client';
import { computeKpis, OUTLET_KINDS, type Fabric, type LiveFacts } from '../fabric/index.js';
import { METRICS } from './metric-names.js';

/**
 * The one metrics registry jinbao serves. Features register their metrics on it (never on
 * prom-client's global registry); values are computed at scrape time from the current state.
 */
export function createRegistry(): Registry {
  return new Registry();
}

export interface FabricMetricsSource {
  readonly fabric: () => Fabric;
  /** Live facts for the KPIs; called on each scrape. */
  readonly live?: () => LiveFacts | Promise<LiveFacts>;
}

/** Inventory and KPI gauges. */
export function registerFabricMetrics(registry: Registry, source: FabricMetricsSource): void {
  const registers = [registry];
  new Gauge({
    name: 'jinbao_inventory_sites',
    help: 'Sites in the inventory, by tier.',
    labelNames: ['tier'],
    registers,
    collect() {
      this.reset();
      for (const s of source.fabric().sites) this.inc({ tier: s.tier });
    },
  });
  new Gauge({
    name: 'jinbao_inventory_sample_data',
    help: '1 when the inventory holds generated sample figures rather than reported ones.',
    registers,
    collect() {
      this.set(source.fabric().sampleData ? 1 : 0);
    },
  });
  new Gauge({
    name: 'jinbao_access_platforms',
    help: 'County access platforms, by connection state.',
    labelNames: ['state'],
    registers,
    collect() {
      let connected = 0;
      let total = 0;
      for (const s of source.fabric().sites)
        for (const a of s.accessPlatforms) {
          total += 1;
          if (a.connected) connected += 1;
        }
      this.set({ state: 'connected' }, connected);
      this.set({ state: 'disconnected' }, total - connected);
    },
  });
  new Gauge({
    name: 'jinbao_grassroots_outlets',
    help: 'Grassroots outlets, by kind and connection state.',
    labelNames: ['kind', 'state'],
    registers,
    collect() {
      this.reset();
      for (const s of source.fabric().sites)
        for (const a of s.accessPlatforms)
          for (const kind of OUTLET_KINDS) {
            const c = a.outlets[kind];
            this.inc({ kind, state: 'connected' }, c.connected);
            this.inc({ kind, state: 'disconnected' }, c.total - c.connected);
          }
    },
  });

  const kpis = async () => computeKpis(source.fabric(), (await source.live?.()) ?? {});
  new Gauge({
    name: METRICS.kpiActual,
    help: "The plan's indicator as measured, percent (absent while it needs live state).",
    labelNames: ['indicator', 'kind'],
    registers,
    async collect() {
      this.reset();
      for (const k of await kpis()) if (k.unit === '%' && k.actual !== undefined) this.set({ indicator: k.id, kind: k.kind }, k.actual);
    },
  });
  new Gauge({
    name: METRICS.kpiTarget,
    help: "The plan's target for the indicator, percent.",
    labelNames: ['indicator', 'kind'],
    registers,
    async collect() {
      this.reset();
      for (const k of await kpis()) if (k.unit === '%') this.set({ indicator: k.id, kind: k.kind }, k.target.value);
    },
  });
  // Indicators counted in people (the plan's card holders, in 亿人) are exported in people.
  const PEOPLE_PER_UNIT = { 亿人: 1e8 } as const;
  new Gauge({
    name: METRICS.kpiActualPeople,
    help: "The plan's indicator counted in people, as measured (absent while it needs live state).",
    labelNames: ['indicator', 'kind'],
    registers,
    async collect() {
      this.reset();
      for (const k of await kpis()) if (k.unit !== '%' && k.numerator !== undefined) this.set({ indicator: k.id, kind: k.kind }, k.numerator);
    },
  });
  new Gauge({
    name: METRICS.kpiTargetPeople,
    help: "The plan's target for an indicator counted in people.",
    labelNames: ['indicator', 'kind'],
    registers,
    async collect() {
      this.reset();
      for (const k of await kpis()) if (k.unit !== '%') this.set({ indicator: k.id, kind: k.kind }, k.target.value * PEOPLE_PER_UNIT[k.unit]);
    },
  });
  new Gauge({
    name: 'jinbao_kpi_met',
    help: '1 when the indicator meets its target, 0 when not; absent while it needs live state.',
    labelNames: ['indicator', 'kind'],
    registers,
    async collect() {
      this.reset();
      for (const k of await kpis()) if (k.status !== 'needs') this.set({ indicator: k.id, kind: k.kind }, k.status === 'met' ? 1 : 0);
    },
  });

  new Gauge({
    name: METRICS.rpoObjective,
    help: 'Recovery-point objective of the site\'s DR pairing, seconds (from the inventory).',
    labelNames: ['site', 'tier'],
    registers,
    collect() {
      this.reset();
      const f = source.fabric();
      for (const s of f.sites) if (s.dr) this.set({ site: s.id, tier: s.tier }, f.objectives(s).rpoSeconds);
    },
  });
  new Gauge({
    name: METRICS.rtoObjective,
    help: 'Recovery-time objective of the site\'s DR pairing, seconds (from the inventory).',
    labelNames: ['site', 'tier'],
    registers,
    collect() {
      this.reset();
      const f = source.fabric();
      for (const s of f.sites) if (s.dr) this.set({ site: s.id, tier: s.tier }, f.objectives(s).rtoSeconds);
    },
  });
}
