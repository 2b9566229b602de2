import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { expect } from 'vitest';
import { SqliteDatabase, type Database } from '../../lib/sql/index.js';
import { alive, DrillHistory, labTlsSource, PgLab, type DrillRequest } from '../index.js';

export function request(over: Partial<DrillRequest> = {}): DrillRequest {
  return {
    site: '440000',
    siteName: '广东省',
    drSite: '440200',
    target: 'pg-local',
    scenario: 'switchover',
    replication: 'sync',
    probeRate: 200,
    detectionMs: 1000,
    catchUpTimeoutMs: 15_000,
    warmupMs: 700,
    failback: true,
    objectives: { rtoSeconds: 120, rpoSeconds: 0 },
    ...over,
  };
}

/** A running embedded lab for site 440000 with its state store, in a fresh folder under /tmp. */
export interface TestLab {
  readonly base: string;
  readonly lab: PgLab;
  readonly db: Database;
  readonly history: DrillHistory;
  /** Stop every process by pid, check each is gone, remove the folder. */
  stop(): Promise<void>;
}

export async function startTestLab(prefix: string): Promise<TestLab> {
  const base = mkdtempSync(`/tmp/${prefix}`);
  // The servers run as the postgres user, which must reach the lab folder.
  chmodSync(base, 0o711);
  const lab = await PgLab.create({ dir: `${base}/dr-lab/440000`, site: '440000', replication: 'sync', tls: labTlsSource(), stateDir: base });
  const db = SqliteDatabase.open(base);
  return {
    base,
    lab,
    db,
    history: await DrillHistory.open(db),
    async stop() {
      const pids = [lab.pid('dc'), lab.pid('dr'), lab.proxy.pid()];
      await lab.stop();
      await db.close();
      // Terminated (a zombie not yet reaped by init counts as gone).
      for (const p of pids) if (p !== undefined) expect(alive(p)).toBe(false);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
