/**
 * The whole CLI on the shared backend: with `--state postgresql://…` (a real PostgreSQL 15 started
 * here) the machine-readable outputs of a fresh `up`, `kpi`, `comply` and `inventory show` are the
 * committed golden files of the embedded store, byte for byte after the same normalisation; and
 * `state migrate` moves an embedded store into PostgreSQL, after which the commands read the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';
import { tempDir } from '../../testkit/index.js';
import { runCli } from '../testkit.js';
import { goldenCases, normalise } from './golden-normalise.js';

const GOLDEN_DIR = join(import.meta.dirname, 'golden');
const missing = postgresMissing();
const tmp = tempDir('jinbao-state-pg-');
let server: PostgresServer | undefined;
let databases = 0;

beforeAll(async () => {
  if (missing === undefined) server = await startPostgres({ prefix: 'jinbao-state-cli-pg-' });
}, 120_000);
afterAll(async () => {
  await server?.close();
  tmp.cleanup();
});

async function freshDatabase(): Promise<string> {
  const name = `cli_${++databases}`;
  await server!.sql(`CREATE DATABASE ${name}`);
  return server!.url({ dbname: name, sslmode: 'disable' });
}

describe.skipIf(missing !== undefined)('the CLI with its state in PostgreSQL', () => {
  it('GIVEN a fresh database WHEN up, kpi, comply and inventory show run on it THEN their JSON is the embedded store\'s golden output', { timeout: 600_000 }, async () => {
    const url = await freshDatabase();
    // Local working files (labs, reports) go to JINBAO_WORK_DIR: the same place the golden run's state had.
    const env = { JINBAO_WORK_DIR: join(tmp.dir, 'state') };
    const codes = JSON.parse(readFileSync(join(GOLDEN_DIR, 'exit-codes.json'), 'utf8')) as Record<string, { code: number }>;
    let where = '';
    for (const c of goldenCases(url, join(tmp.dir, 'out'))) {
      const r = await runCli(c.args, env);
      if (c.name === 'up') where = (JSON.parse(r.stdout) as { state: string }).state;
      expect(where).toMatch(/^PostgreSQL 127\.0\.0\.1:\d+\/cli_\d+ \(/);
      const actual = normalise(r.stdout.split(where).join(join(tmp.dir, 'state')), tmp.dir, Date.now());
      expect(actual, `jinbao ${c.title} on PostgreSQL differs from golden/${c.name}.json`).toBe(readFileSync(join(GOLDEN_DIR, `${c.name}.json`), 'utf8'));
      expect(r.code, `${c.title}: ${r.stderr}`).toBe(codes[c.name]!.code);
    }
  });

  it('GIVEN an embedded store WHEN state migrate copies it into an empty database THEN status, the audit chain and issuance continue there, and a second copy into it is refused', { timeout: 600_000 }, async () => {
    const dir = join(tmp.dir, 'embedded');
    const env = { JINBAO_PKI_PASSPHRASE: 'correct horse battery staple', JINBAO_WORK_DIR: join(tmp.dir, 'work') };
    expect((await runCli(['--state', dir, 'pki', 'init'], env)).code).toBe(0);
    const issue = (state: string, n: number) => runCli(['--state', state, 'pki', 'issue', '--profile', 'server-tls', '--site', '440100', '--generate', '--subject', `CN=app${n}.440100.jinbao.internal`, '--dns', `app${n}.440100.jinbao.internal`, '--out', join(tmp.dir, `issued-${n}`), '--json'], env);
    for (const n of [1, 2]) expect((await issue(dir, n)).code).toBe(0);
    expect((await runCli(['--state', dir, 'ipam', '--site', '440100', '--json'], env)).code).toBe(0);
    const before = JSON.parse((await runCli(['--state', dir, 'state', 'status', '--json'], env)).stdout) as { backend: string; tables: unknown; audit: { head: string; entries: number } };
    expect(before.backend).toBe('sqlite');

    const url = await freshDatabase();
    const m = await runCli(['--state', dir, 'state', 'migrate', '--to', url, '--json'], env);
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(m.stdout)).toMatchObject({ auditHead: before.audit.head, auditEntries: before.audit.entries });

    // The source's schemas were brought to this jinbao's versions before the copy: compare with that.
    const source = JSON.parse((await runCli(['--state', dir, 'state', 'status', '--json'], env)).stdout) as typeof before;
    const after = JSON.parse((await runCli(['--state', url, 'state', 'status', '--json'], env)).stdout) as typeof before;
    expect(after.backend).toBe('postgresql');
    expect(after.tables).toEqual(source.tables);
    expect(after.audit).toEqual(before.audit);

    // The CA keys came along encrypted: issuing on PostgreSQL works with the same passphrase, and the chain continues.
    const third = await issue(url, 3);
    expect(third.code, third.stderr).toBe(0);
    const verify = await runCli(['--state', url, 'audit', 'verify', '--json'], env);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, entries: before.audit.entries + 1 });
    const listed = JSON.parse((await runCli(['--state', url, 'pki', 'list', '--json'], env)).stdout) as { certificates: unknown[] };
    expect(listed.certificates).toHaveLength(3);

    const again = await runCli(['--state', dir, 'state', 'migrate', '--to', url], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is not empty .* state migrate copies only into an empty database/);
  });

  it('GIVEN a database jinbao cannot use THEN one line says what and how to fix it, exit 2', { timeout: 120_000 }, async () => {
    const noDb = server!.url({ dbname: 'no_such_db', sslmode: 'disable' });
    const r1 = await runCli(['--state', noDb, 'state', 'status']);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/no_such_db.*create it \(CREATE DATABASE jinbao OWNER jinbao_state\) or fix dbname/);
    await server!.sql('CREATE DATABASE not_ours');
    await server!.sql('CREATE TABLE payroll (id int)', 'not_ours');
    const r2 = await runCli(['--state', server!.url({ dbname: 'not_ours', sslmode: 'disable' }), 'ipam', '--site', '440100']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/holds 1 tables but is not a jinbao state store/);
    const r3 = await runCli(['--state', `postgresql://127.0.0.1:1/jinbao?sslmode=disable`, 'kpi']);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/^jinbao: cannot reach the state database/);
    expect(r3.stderr.trim().split('\n')).toHaveLength(1);
  });
});
