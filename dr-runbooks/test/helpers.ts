import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { SqliteDatabase, type Database } from '../../lib/sql/index.js';
import { alive, DrillHistory, labTlsSource, parsePairText, PgLab, type DrillRequest, type PairConfig } from '../index.js';

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

const operator = fileURLToPath(new URL('./fixtures/lab-operator.ts', import.meta.url));

/**
 * A pair file for a running lab posing as an existing pair (target `pg`): TCP connection strings,
 * the HAProxy endpoint, and operator commands run as separate processes (fixtures/lab-operator.ts),
 * written to `${base}/pair.json`.
 */
export function labPairFile(lab: PgLab, base: string, over: { commands?: Record<string, unknown>; manage?: boolean; query?: string } = {}): PairConfig {
  const cmd = (action: string, ...rest: string[]) => [process.execPath, '--import', 'tsx', operator, lab.dir, action, '{node}', ...rest];
  const commands = {
    crash: cmd('crash'),
    stop: cmd('stop'),
    start: cmd('start'),
    fence: cmd('fence'),
    unfence: cmd('unfence'),
    route: cmd('route'),
    drain: cmd('drain'),
    rejoin: { run: cmd('rejoin', '{peer}'), timeoutSeconds: 120 },
    endOfWal: cmd('end-of-wal', '{from}'),
    ...over.commands,
  };
  const url = (port: number) => `postgresql://postgres@127.0.0.1:${port}/postgres${over.query ?? ''}`;
  const text = JSON.stringify({
    site: '440000',
    endpoint: url(lab.state.proxyPort),
    nodes: {
      dc: { connection: url(lab.state.ports.dc), applicationName: lab.node('dc').applicationName },
      dr: { connection: url(lab.state.ports.dr), applicationName: lab.node('dr').applicationName },
    },
    replication: { manage: over.manage ?? true },
    tls: { ca: lab.tlsFiles('dc').caFile },
    commands,
  });
  const file = `${base}/pair.json`;
  writeFileSync(file, text);
  return parsePairText(text, file);
}
