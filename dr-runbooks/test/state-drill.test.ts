/**
 * jinbao survives its own disaster: its shared state database is a primary/standby pair like any
 * other, drilled with the same `--target pg --pair FILE` adapter while processes issue certificates
 * into it through the pair's endpoint. Afterwards every acknowledged certificate is there exactly
 * once, serials are unique, and the audit chain continues without a gap or a repeat.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../lib/audit.js';
import { openDatabase } from '../../lib/sql/index.js';
import { opensslCsr, opensslKey, testPki, type TestPki } from '../../pki/test/helpers.js';
import { DEFAULT_PG_BIN, executeDrill, RemotePair } from '../index.js';
import { labPairFile, request, startTestLab, type TestLab } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot || !existsSync(`${DEFAULT_PG_BIN}/pg_ctl`) || !existsSync('/usr/sbin/haproxy');
const WORKER = join(import.meta.dirname, '..', '..', 'pki', 'test', 'issue-worker.ts');

interface Worker {
  readonly issued: string[];
  readonly failed: string[];
  readonly exited: Promise<number | null>;
}

function startWorker(url: string, stateDir: string, csr: string, count: number): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, url, stateDir, csr, String(count), '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const issued: string[] = [];
  const failed: string[] = [];
  let buf = '';
  child.stdout.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('issued ')) issued.push(line.slice(7));
      if (line.startsWith('fail ')) failed.push(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  return { issued, failed, exited };
}

describe.skipIf(skip)("jinbao's own state database drilled like any pair (target pg, real PostgreSQL 15)", () => {
  let t: TestLab;
  let pki: TestPki;
  let url: string;

  beforeAll(async () => {
    t = await startTestLab('jinbao-dr-state-test-');
    const ca = t.lab.tlsFiles('dc').caFile;
    const admin = new pg.Client({ host: '127.0.0.1', port: t.lab.state.proxyPort, user: 'postgres', database: 'postgres', ssl: { ca: [readFileSync(ca, 'utf8')], checkServerIdentity: () => undefined } });
    await admin.connect();
    await admin.query('CREATE DATABASE jinbao_state');
    await admin.end();
    // Through the pair's endpoint, as every jinbao of the team would connect.
    url = `postgresql://postgres@127.0.0.1:${t.lab.state.proxyPort}/jinbao_state?sslmode=verify-ca&sslrootcert=${ca}`;
    pki = await testPki('ecdsa-p256', undefined, { target: url });
  }, 240_000);

  afterAll(async () => {
    await pki?.cleanup();
    await t?.stop();
  });

  it('GIVEN four processes issuing into the state database WHEN a failover drill crashes its primary THEN every acknowledged certificate is there once, serials are unique, and the audit chain continues', { timeout: 600_000 }, async () => {
    const csr = join(pki.dir, 'app.csr');
    writeFileSync(csr, opensslCsr(pki.dir, opensslKey(pki.dir, 'app', 'p256'), '/CN=app.s440100.jinbao.internal'));
    const before = (await pki.db.query<{ n: number }>('SELECT count(*) AS n FROM pki_certificates'))[0]!.n;
    const workers = Array.from({ length: 4 }, () => startWorker(url, pki.stateDir, csr, 150));
    // Let the stream run before the disaster.
    for (let i = 0; i < 300 && workers.reduce((n, w) => n + w.issued.length, 0) < 40; i++) await new Promise((r) => setTimeout(r, 100));
    const atStart = workers.reduce((n, w) => n + w.issued.length, 0);
    const pair = await RemotePair.open(labPairFile(t.lab, t.base), { site: '440000' });
    let report;
    try {
      report = await executeDrill({ request: request({ target: 'pg', scenario: 'failover', replication: 'sync' }), pair, history: t.history, lockName: 'pg:440000', replicationTls: 'operator-managed' });
    } finally {
      await pair.close();
    }
    const during = workers.reduce((n, w) => n + w.issued.length, 0);
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(report.result).toBe('passed');
    expect(report.measured.rpoRows).toBe(0);

    // Issuance goes on through the endpoint, now on the promoted standby, whether or not the stream
    // above was still running when the traffic switched (on a busy machine it may finish first).
    const afterDrill = startWorker(url, pki.stateDir, csr, 5);
    expect(await afterDrill.exited).toBe(0);
    expect(afterDrill.issued).toHaveLength(5);
    const acknowledged = [...workers, afterDrill].flatMap((w) => w.issued);
    // The stream ran through the failover (and the failback): issuances were acknowledged during the drill.
    expect(atStart).toBeLessThan(400);
    expect(during).toBeGreaterThan(atStart);
    // Operations in flight at the crash may fail, clearly; none may be lost once acknowledged.
    for (const f of workers.flatMap((w) => w.failed)) expect(f).toMatch(/^fail issue-\d+ \S/);
    const db = await openDatabase(url);
    try {
      const serials = (await db.query<{ serial: string }>('SELECT serial FROM pki_certificates')).map((r) => r.serial);
      expect(new Set(serials).size).toBe(serials.length);
      const stored = new Set(serials);
      expect(acknowledged.filter((s) => !stored.has(s))).toEqual([]);
      expect(serials.length).toBeGreaterThanOrEqual(before + acknowledged.length);
      const audited = (await db.query<{ subject: string }>("SELECT subject FROM audit_log WHERE action = 'pki.issue' AND outcome = 'ok'")).map((r) => r.subject);
      // One issuance entry per certificate, none twice, none without its certificate.
      expect(audited.sort()).toEqual([...serials].sort());
      // Issuance went on on the promoted standby: entries after the endpoint switched to it.
      const switched = report.events.find((e) => e.type === 'mark' && e.name === 'traffic-switched')!.at;
      const afterSwitch = (await db.query<{ n: number }>("SELECT count(*) AS n FROM audit_log WHERE action = 'pki.issue' AND at > $1", [new Date(switched).toISOString()]))[0]!.n;
      expect(afterSwitch).toBeGreaterThan(0);
      expect(await verifyAudit(db)).toMatchObject({ ok: true });
    } finally {
      await db.close();
    }
  });
});
