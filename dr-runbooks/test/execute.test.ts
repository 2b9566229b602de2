import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteDatabase } from '../../lib/sql/index.js';
import { errorText } from '../../lib/i18n/index.js';
import { checkCertificate, DrillHistory, DrillRefusedError, drillSteps, executeDrill, pause, type DrillContext, type DrPair, type Step } from '../index.js';
import { request } from './helpers.js';

/** Only what executeDrill itself touches; the steps below never call the pair. */
const pair = { primary: 'dc', standby: 'dr' } as unknown as DrPair;

describe('executeDrill around the steps', () => {
  let dir: string;
  let db: SqliteDatabase;
  let history: DrillHistory;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jinbao-dr-exec-'));
    db = SqliteDatabase.open(dir);
    history = await DrillHistory.open(db);
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN `drill abort` from another process WHEN a step is waiting THEN the drill stops, rolls back and records aborted', async () => {
    const rolled: string[] = [];
    const steps: Step<DrillContext>[] = [
      { name: 'start-probe', description: '', action: async () => undefined, rollback: async () => void rolled.push('start-probe') },
      { name: 'catch-up', description: '', action: async ({ signal }) => pause(30_000, signal) },
    ];
    const report = await executeDrill({
      request: request(),
      pair,
      history,
      lockName: 'l',
      replicationTls: 'lab',
      steps,
      abortPollMs: 20,
      // Another connection to the store, as `jinbao drill abort` in another process has.
      onStart: (id) =>
        setTimeout(async () => {
          const other = SqliteDatabase.open(dir);
          await (await DrillHistory.open(other)).requestAbort(id);
          await other.close();
        }, 50),
    });
    expect(report.result).toBe('aborted');
    expect(report.reasons).toEqual([`step catch-up: aborted with: jinbao drill abort ${report.runId}`]);
    expect(rolled).toEqual(['start-probe']);
    expect(await history.get(report.runId)).toMatchObject({ result: 'aborted' });
    expect(await history.begin('l', 'dr-next', request())).toEqual({});
  });

  it('GIVEN a refusal in preflight THEN nothing is recorded and the lock is free', async () => {
    const steps: Step<DrillContext>[] = [{ name: 'preflight', description: '', action: async () => Promise.reject(new DrillRefusedError('refusing to start the drill: test')) }];
    await expect(executeDrill({ request: request(), pair, history, lockName: 'l', replicationTls: 'lab', steps })).rejects.toThrow('refusing to start the drill: test');
    expect(await history.list()).toEqual([]);
    expect(await history.begin('l', 'dr-next', request())).toEqual({});
  });

  it('GIVEN a step failing after the preflight THEN the run is recorded as failed with the reason', async () => {
    const steps: Step<DrillContext>[] = [
      { name: 'preflight', description: '', action: async () => undefined },
      { name: 'promote', description: '', action: async () => Promise.reject(new Error('pg_promote() timed out')) },
    ];
    const report = await executeDrill({ request: request(), pair, history, lockName: 'l', replicationTls: 'lab', steps });
    expect(report.result).toBe('failed');
    expect(await history.get(report.runId)).toMatchObject({ result: 'failed', reason: 'step promote: pg_promote() timed out' });
  });

  /** A pair that passes every preflight check unless told otherwise. */
  const healthy = (over: Record<string, unknown> = {}) =>
    ({
      primary: 'dc',
      standby: 'dr',
      managesReplicationMode: true,
      replication: async () => ({ streaming: true, syncState: 'sync', replayDelaySeconds: 0, replayLagBytes: 0, detail: 'standby dr streaming (sync)' }),
      serverKey: async (node: string) => `key-${node}`,
      replicationMode: async () => 'sync',
      certificates: async () => [],
      ...over,
    }) as unknown as DrPair;

  it('GIVEN both connections reaching one server THEN preflight refuses, since acknowledgements could not be told apart', async () => {
    const fake = healthy({ serverKey: async () => '1732670000.123456' });
    await expect(executeDrill({ request: request(), pair: fake, history, lockName: 'l', replicationTls: 'lab', steps: drillSteps(request()).slice(0, 1) })).rejects.toThrow(
      'refusing to start the drill: dc and dr are the same server (both report "1732670000.123456"); the two connections must reach the primary and the standby',
    );
    expect(await history.list()).toEqual([]);
  });

  it('GIVEN no replication certificate to check THEN preflight says so instead of a date', async () => {
    const fake = healthy();
    const report = await executeDrill({ request: request(), pair: fake, history, lockName: 'l', replicationTls: 'lab', steps: drillSteps(request()).slice(0, 1) });
    expect(report.steps[0]!.phases[0]!.detail).toBe('standby dr streaming (sync); replay lag 0.000 s (budget 0 s); no replication certificates to check; replication connection: not observable (pair.query is not a function)');
  });

  it('GIVEN an expiring replication certificate THEN preflight refuses and says how to renew it', async () => {
    const fake = healthy({
      certificates: async () => [{ file: '/lab/tls/dr.crt', subject: 'CN=dr', notAfter: '2026-11-27T10:00:00.000Z', problem: 'expired or expiring: valid until 2026-11-27T10:00:00.000Z' }],
    });
    await expect(executeDrill({ request: request(), pair: fake, history, lockName: 'l', replicationTls: 'lab', steps: drillSteps(request()).slice(0, 1) })).rejects.toThrow(
      'refusing to start the drill: replication certificates are not valid: /lab/tls/dr.crt: expired or expiring: valid until 2026-11-27T10:00:00.000Z; renew them and retry (the embedded lab\'s: jinbao drill lab down --site 440000 --destroy, then run the drill again)',
    );
    expect(await history.list()).toEqual([]);
    const remote = request({ target: 'pg' });
    await expect(executeDrill({ request: remote, pair: fake, history, lockName: 'l', replicationTls: 'pg', steps: drillSteps(remote).slice(0, 1) })).rejects.toThrow(
      /; renew them and retry$/,
    );
  });

  it('GIVEN two bad replication certificates THEN the refusal names both, in English and in Chinese', async () => {
    const fake = healthy({
      certificates: async () => [checkCertificate('/lab/tls/dc.crt', 'garbage', undefined, Date.now()), { file: '/lab/tls/dr.crt', subject: 'CN=dr', notAfter: '2026-11-27T10:00:00.000Z', problem: 'expired or expiring: valid until 2026-11-27T10:00:00.000Z' }],
    });
    const refused = await executeDrill({ request: request(), pair: fake, history, lockName: 'l', replicationTls: 'lab', steps: drillSteps(request()).slice(0, 1) }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(DrillRefusedError);
    expect((refused as DrillRefusedError).message).toMatch(/^refusing to start the drill: replication certificates are not valid: \/lab\/tls\/dc\.crt: not a PEM certificate: .+; \/lab\/tls\/dr\.crt: expired or expiring: valid until 2026-11-27T10:00:00\.000Z; renew them and retry/);
    // the problem found by the check is said in Chinese; one given only in English stays English
    expect(errorText(refused as DrillRefusedError, 'zh-CN')).toMatch(/^拒绝开始演练：复制证书无效：\/lab\/tls\/dc\.crt：不是 PEM 格式的证书：.+；\/lab\/tls\/dr\.crt：expired or expiring: valid until 2026-11-27T10:00:00\.000Z；请更新证书后重试/);
  });
});
