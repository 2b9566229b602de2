import { Gauge, type Registry } from 'prom-client';
import type { Fabric, LiveFacts } from '../../fabric/index.js';
import type { StateAccess } from '../../lib/context.js';
import { sharedReading } from '../../lib/scrape.js';
import { DrillHistory } from '../history.js';
import { readPairFile, type PairConfig } from '../pg/pair-config.js';
import { sampleReplication, type ReplicationSample } from '../replication-watch.js';
import { inputError } from '../../lib/i18n/index.js';
import { DR_MESSAGES } from '../messages.js';

/** KPI fact: sites with a passed drill against their real pair within 90 days; absent (needs live state) until one such drill finished. */
export async function drillLiveFacts(state: StateAccess): Promise<Partial<LiveFacts>> {
  const history = await recordedHistory(state);
  if (!history) return {};
  const real = await history.realPairDrills();
  return real.finished > 0 ? { recentPassedDrills: real.recentPassed } : {};
}

/** The drill history when one was ever recorded; undefined otherwise (creating neither the store nor its tables). */
async function recordedHistory(state: StateAccess): Promise<DrillHistory | undefined> {
  if (!state.hasStore()) return undefined;
  const db = await state.database();
  return (await db.versions())['dr'] ? DrillHistory.open(db) : undefined;
}

/** Last RTO, RPO, result and age of each site's latest drill, computed at scrape time. */
export function registerDrillMetrics(registry: Registry, state: StateAccess): void {
  const registers = [registry];
  const latest = sharedReading(async () => (await (await recordedHistory(state))?.latestPerSite()) ?? []);
  new Gauge({
    name: 'jinbao_dr_last_rto_seconds',
    help: "Measured RTO of the site's latest drill: failure (or fence) to the first acknowledged write on the new primary.",
    labelNames: ['site', 'scenario'],
    registers,
    async collect() {
      this.reset();
      for (const r of await latest()) if (r.rtoMs !== undefined) this.set({ site: r.site, scenario: r.scenario }, r.rtoMs / 1000);
    },
  });
  new Gauge({
    name: 'jinbao_dr_last_rpo_rows',
    help: "Acknowledged probe rows missing on the new primary in the site's latest drill.",
    labelNames: ['site', 'scenario'],
    registers,
    async collect() {
      this.reset();
      for (const r of await latest()) if (r.rpoRows !== undefined) this.set({ site: r.site, scenario: r.scenario }, r.rpoRows);
    },
  });
  new Gauge({
    name: 'jinbao_dr_last_passed',
    help: "1 when the site's latest drill passed, 0 when it failed or was aborted.",
    labelNames: ['site', 'result'],
    registers,
    async collect() {
      this.reset();
      for (const r of await latest()) this.set({ site: r.site, result: r.result }, r.result === 'passed' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'jinbao_dr_last_drill_age_seconds',
    help: "Seconds since the site's latest drill finished.",
    labelNames: ['site'],
    registers,
    async collect() {
      this.reset();
      const now = Date.now();
      for (const r of await latest()) if (r.finishedAt) this.set({ site: r.site }, Math.max(0, (now - Date.parse(r.finishedAt)) / 1000));
    },
  });
}

/**
 * Replication of the pairs given to the exporter (pair files) and of the running embedded labs,
 * sampled once per scrape: standby streaming (1/0), replay lag in seconds and bytes per site.
 */
export function registerReplicationMetrics(registry: Registry, stateDir: string, pairs: readonly PairConfig[]): void {
  const registers = [registry];
  let cached: { at: number; samples: Promise<ReplicationSample[]> } | undefined;
  // The three gauges are collected one after the other in a scrape: they share one sample.
  const samples = () => {
    const now = performance.now();
    if (!cached || now - cached.at > 2_000) cached = { at: now, samples: sampleReplication({ stateDir, pairs }) };
    return cached.samples;
  };
  new Gauge({
    name: 'jinbao_dr_standby_streaming',
    help: "1 when the site's DR standby streams from its primary on the primary's timeline, 0 when not (or a node does not answer).",
    labelNames: ['site'],
    registers,
    async collect() {
      this.reset();
      for (const s of await samples()) this.set({ site: s.site }, s.streaming ? 1 : 0);
    },
  });
  new Gauge({
    name: 'jinbao_dr_replication_lag_seconds',
    help: "Replay lag of the site's streaming DR standby: age of the newest replayed transaction while WAL waits to be replayed, 0 when caught up.",
    labelNames: ['site'],
    registers,
    async collect() {
      this.reset();
      for (const s of await samples()) if (s.lagSeconds !== undefined) this.set({ site: s.site }, s.lagSeconds);
    },
  });
  new Gauge({
    name: 'jinbao_dr_replication_lag_bytes',
    help: "WAL the site's streaming DR standby has not replayed yet (primary's current position minus the standby's replay position), bytes.",
    labelNames: ['site'],
    registers,
    async collect() {
      this.reset();
      for (const s of await samples()) if (s.lagBytes !== undefined) this.set({ site: s.site }, s.lagBytes);
    },
  });
}

/** Pair files for the exporter: each must name its site. */
export function readExporterPairs(files: readonly string[]): PairConfig[] {
  const configs = files.map((f) => readPairFile(f));
  const problems = configs.filter((c) => c.site === undefined).map((c) => `${c.source}: site: is required for the exporter (it labels the metrics); add site: "ID"`);
  const seen = new Map<string, string>();
  for (const c of configs) {
    if (c.site === undefined) continue;
    const other = seen.get(c.site);
    if (other) problems.push(`${c.source}: site: ${c.site} is also the site of ${other}; give each site one pair file`);
    seen.set(c.site, c.source);
  }
  if (problems.length > 0) throw inputError(DR_MESSAGES, problems.length === 1 ? 'pairFile.metricsOne' : 'pairFile.metricsMany', { n: problems.length }, { details: problems });
  return configs;
}

/** `jinbao up`'s DR part: each pairing and its drill status, from the inventory and the history (starts nothing). */
export async function drillStatus(state: StateAccess, fabric: Fabric) {
  const paired = fabric.sites.filter((s) => s.dr !== undefined);
  const history = await recordedHistory(state);
  const latest = new Map(((await history?.latestPerSite()) ?? []).map((r) => [r.site, r]));
  const recent = (await history?.recentPassed()) ?? new Set<string>();
  const byTier = { ministry: 0, province: 0, prefecture: 0 };
  for (const s of paired) byTier[s.tier] += 1;
  const sites = paired.map((s) => {
    const last = latest.get(s.id);
    const status = last === undefined ? 'never drilled' : recent.has(s.id) ? 'passed within 90 days' : last.result === 'passed' ? 'passed, over 90 days ago' : `last drill ${last.result}`;
    return { site: s.id, name: s.name, tier: s.tier, drSite: s.dr!.site, objectives: fabric.objectives(s), status, ...(last ? { lastRun: last.id, lastResult: last.result, lastRtoMs: last.rtoMs, lastRpoRows: last.rpoRows } : {}) };
  });
  return { pairings: paired.length, byTier, sites };
}
