/**
 * A check that runs and fails exits 3 (docs/cli.md), whichever command ran it; 1 is kept for bugs.
 * `drill run` and `drill pair status` need PostgreSQL servers: their exit 3 is asserted with real
 * servers in dr-runbooks/test/remote-pair.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildReportBody, EventLog, sealReport } from '../../dr-runbooks/index.js';
import { buildDrillRequest } from '../../dr-runbooks/operations/index.js';
import { loadFabric } from '../../fabric/index.js';
import { ExitCode } from '../../lib/errors.js';
import { SqliteDatabase } from '../../lib/sql/index.js';
import Database from 'better-sqlite3';
import { saveCheck, type CheckResult } from '../../network/index.js';
import { tempDir } from '../../testkit/index.js';
import { runCli } from '../testkit.js';

const tmp = tempDir('jinbao-check-exit-');
afterAll(() => tmp.cleanup());

/** A recorded WAN lab check in which one denied pair connected and one link was down. */
function failedWanCheck(): CheckResult {
  return {
    tag: 'jbtest',
    checkedAt: '2026-11-27T00:00:00.000Z',
    pairs: [{ from: '440000', to: '110000', service: 'ssh', expected: 'deny', observed: 'open', ok: false, ms: 3 }],
    links: [{ hub: '000000', spoke: '440000', kind: 'primary', iface: 'x', up: false }],
    summary: { allowed: 1, denied: 1, failures: 1, linksUp: 0, links: 1 },
    routing: [],
  };
}

describe('every command that can fail a check exits 3 when it does', () => {
  it('GIVEN a recorded WAN check that differs from the policy WHEN `wan check --last` runs THEN exit 3, in text and JSON', async () => {
    const state = join(tmp.dir, 'wan');
    const db = SqliteDatabase.open(state);
    await saveCheck(db, failedWanCheck());
    await db.close();
    const text = await runCli(['--state', state, 'wan', 'check', '--last']);
    expect(text.stderr).toBe('');
    expect(text.stdout).toContain('1 differ from the policy');
    expect(text.code).toBe(ExitCode.complianceFailed);
    const json = await runCli(['--state', state, 'wan', 'check', '--last', '--json']);
    expect(JSON.parse(json.stdout).summary.failures).toBe(1);
    expect(json.code).toBe(3);
  });

  it('GIVEN a fresh state WHEN `comply` runs THEN binding controls that could not run fail it: exit 3', async () => {
    const r = await runCli(['--state', join(tmp.dir, 'comply'), 'comply', '--format', 'json']);
    expect(JSON.parse(r.stdout).summary.compliant).toBe(false);
    expect(r.code).toBe(3);
  });

  it('GIVEN an altered audit entry WHEN `audit verify` runs THEN exit 3, in text and JSON', async () => {
    const state = join(tmp.dir, 'audit');
    const env = { JINBAO_PKI_PASSPHRASE: 'correct horse battery staple' };
    expect((await runCli(['--state', state, 'pki', 'init'], env)).code).toBe(0);
    const store = new Database(join(state, 'jinbao.db'));
    // an owner of the database (not jinbao) drops the insert-only triggers first
    store.exec('DROP TRIGGER audit_log_no_update');
    store.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1").run();
    store.close();
    const text = await runCli(['--state', state, 'audit', 'verify']);
    expect(text.stderr).toContain("jinbao: the audit log's hash chain is broken at entry 1");
    expect(text.code).toBe(3);
    const json = await runCli(['--state', state, 'audit', 'verify', '--json']);
    expect(JSON.parse(json.stdout).ok).toBe(false);
    expect(json.code).toBe(3);
  });

  it('GIVEN an unsigned drill report WHEN `drill verify-report` runs THEN exit 3', async () => {
    const request = buildDrillRequest(loadFabric(), 'built-in national inventory', { site: '440000' });
    const log = new EventLog();
    log.mark('fence');
    const report = await sealReport(buildReportBody({ runId: 'dr-exit', request, events: log.events, outcome: { result: 'passed' }, measured: { rtoMs: 900, rpoRows: 0, splitBrainFree: true }, replicationTls: 'lab' }));
    const file = join(tmp.dir, 'dr-exit.json');
    writeFileSync(file, JSON.stringify(report, null, 2));
    const r = await runCli(['--state', join(tmp.dir, 'verify'), 'drill', 'verify-report', file]);
    expect(r.stdout).toContain('NOT VERIFIED; digest matches; unsigned');
    expect(r.code).toBe(3);
  });
});
