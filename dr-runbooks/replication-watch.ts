import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ReplicationStatus } from './pair.js';
import { LabPair } from './pg/lab-pair.js';
import { PgLab } from './pg/lab.js';
import type { PairConfig } from './pg/pair-config.js';
import { RemotePair } from './pg/remote-pair.js';

/** One look at a site's replication, as a scrape reports it. */
export interface ReplicationSample {
  readonly site: string;
  /** "pair file F" or "embedded lab D". */
  readonly source: string;
  readonly streaming: boolean;
  readonly lagSeconds?: number;
  readonly lagBytes?: number;
  readonly detail: string;
}

/**
 * Sample the replication of every pair jinbao is told about (pair files, which need a `site`) and
 * of every embedded lab in the state directory whose servers run (labs are never started here;
 * a pair file wins over a lab of the same site). Each sample is bounded by the connection
 * timeouts; samples run concurrently.
 */
export async function sampleReplication(opts: { stateDir: string; pairs: readonly PairConfig[] }): Promise<ReplicationSample[]> {
  const jobs: Promise<ReplicationSample>[] = [];
  const covered = new Set<string>();
  for (const config of opts.pairs) {
    const site = config.site!;
    covered.add(site);
    jobs.push(samplePair(site, config));
  }
  const labsRoot = join(opts.stateDir, 'dr-lab');
  if (existsSync(labsRoot)) {
    for (const site of readdirSync(labsRoot).sort()) {
      if (covered.has(site) || !PgLab.exists(join(labsRoot, site))) continue;
      const lab = PgLab.open(join(labsRoot, site));
      if (lab.pid(lab.primary) === undefined) continue;
      jobs.push(sampleStatus(site, `embedded lab ${lab.dir}`, () => new LabPair(lab).replication()));
    }
  }
  return Promise.all(jobs);
}

async function samplePair(site: string, config: PairConfig): Promise<ReplicationSample> {
  let pair: RemotePair | undefined;
  try {
    pair = await RemotePair.open(config, { site });
    const p = pair;
    return await sampleStatus(site, `pair file ${config.source}`, () => p.replication());
  } catch (err) {
    return { site, source: `pair file ${config.source}`, streaming: false, detail: (err as Error).message.replace(/^refusing to start the drill: /, '') };
  } finally {
    await pair?.close();
  }
}

async function sampleStatus(site: string, source: string, read: () => Promise<ReplicationStatus>): Promise<ReplicationSample> {
  const s = await read().catch((err: Error): ReplicationStatus => ({ streaming: false, detail: err.message }));
  return {
    site,
    source,
    streaming: s.streaming,
    ...(s.streaming && s.replayDelaySeconds !== undefined ? { lagSeconds: s.replayDelaySeconds } : {}),
    ...(s.streaming && s.replayLagBytes !== undefined ? { lagBytes: s.replayLagBytes } : {}),
    detail: s.detail,
  };
}
