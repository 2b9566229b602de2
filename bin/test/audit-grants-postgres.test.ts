/**
 * The grants docs/operators.md prescribes, on a real PostgreSQL 15: the schema belongs to an owner
 * role nobody runs jinbao as day to day; the service's role reads and writes every table but may only
 * insert into the audit log; the triggers refuse UPDATE and DELETE even to the owner. The service's
 * normal work (init, issue, verify the chain) runs as the service role.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';
import { tempDir } from '../../testkit/index.js';
import { runCli } from '../testkit.js';

const missing = postgresMissing();
const tmp = tempDir('jinbao-audit-grants-');
let server: PostgresServer | undefined;

/** The statements of an SQL block of docs/operators.md's grants section, as an operator would paste them into psql. */
function docSql(marker: string): string[] {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/operators.md'), 'utf8');
  const block = new RegExp(`<!-- ${marker} -->\\n\`\`\`sql\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!block) throw new Error(`docs/operators.md has no sql block after <!-- ${marker} -->`);
  return block[1]!.split('\n').map((l) => l.replace(/--.*$/, '').trim()).filter(Boolean);
}

beforeAll(async () => {
  if (missing === undefined) server = await startPostgres({ prefix: 'jinbao-audit-grants-pg-' });
}, 120_000);
afterAll(async () => {
  await server?.close();
  tmp.cleanup();
});

describe.skipIf(missing !== undefined)('the audit table is insert-only for the service on PostgreSQL', () => {
  it('GIVEN the documented roles and grants WHEN the service role works THEN issuing and verifying succeed while UPDATE, DELETE, TRUNCATE and dropping the triggers are refused', { timeout: 300_000 }, async () => {
    for (const statement of docSql('grants-roles')) await server!.sql(statement);
    const owner = server!.url({ user: 'jinbao_state', dbname: 'jinbao', sslmode: 'disable' });
    const service = server!.url({ user: 'jinbao_service', dbname: 'jinbao', sslmode: 'disable' });
    const env = { JINBAO_PKI_PASSPHRASE: 'correct horse battery staple', JINBAO_WORK_DIR: join(tmp.dir, 'work') };
    // the owner creates every component's tables (an empty embedded store copied in)
    const schema = await runCli(['--state', join(tmp.dir, 'empty'), 'state', 'migrate', '--to', owner], env);
    expect(schema.stderr).not.toContain('jinbao:');
    expect(schema.code).toBe(0);
    for (const statement of docSql('grants-service')) await server!.sql(statement, 'jinbao');

    const asService = (args: string[]) => runCli(['--state', service, ...args], env);
    const init = await asService(['pki', 'init']);
    expect(init.stderr).not.toContain('jinbao:');
    expect(init.code).toBe(0);
    const issued = await asService(['pki', 'issue', '--profile', 'server-tls', '--site', '440100', '--generate', '--subject', 'CN=app.440100.jinbao.internal', '--dns', 'app.440100.jinbao.internal', '--out', join(tmp.dir, 'issued'), '--json']);
    expect(issued.code).toBe(0);
    const serial = (JSON.parse(issued.stdout) as { certificate: { serial: string } }).certificate.serial;
    expect((await asService(['pki', 'revoke', '--serial', serial, '--reason', 'keyCompromise'])).code).toBe(0);
    const verify = await asService(['audit', 'verify', '--json']);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
    const entries = (JSON.parse(verify.stdout) as { entries: number }).entries;
    expect(entries).toBeGreaterThan(3);

    const db: Database = await openDatabase(service);
    try {
      await expect(db.run("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")).rejects.toThrow(/permission denied for table audit_log/);
      await expect(db.run('DELETE FROM audit_log WHERE seq = 1')).rejects.toThrow(/permission denied for table audit_log/);
      await expect(db.exec('TRUNCATE audit_log')).rejects.toThrow(/permission denied for table audit_log/);
      await expect(db.exec('DROP TRIGGER audit_log_no_update ON audit_log')).rejects.toThrow(/must be owner of (table|relation) audit_log/);
      await expect(db.exec('ALTER TABLE audit_log DISABLE TRIGGER ALL')).rejects.toThrow(/must be owner of (table|relation) audit_log/);
    } finally {
      await db.close();
    }
    // even the owner's UPDATE and DELETE meet the triggers
    const ownerDb = await openDatabase(owner);
    try {
      await expect(ownerDb.run("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")).rejects.toThrow(/audit_log is append-only: UPDATE refused/);
      await expect(ownerDb.run('DELETE FROM audit_log WHERE seq = 1')).rejects.toThrow(/audit_log is append-only: DELETE refused/);
    } finally {
      await ownerDb.close();
    }
    const after = JSON.parse((await asService(['audit', 'verify', '--json'])).stdout) as { ok: boolean; entries: number };
    expect(after).toMatchObject({ ok: true, entries });
    const comply = JSON.parse((await asService(['comply', '--format', 'json'])).stdout) as { results: { control: { id: string }; status: string }[] };
    expect(comply.results.find((r) => r.control.id === 'MLPS-AUD-03')!.status).toBe('pass');
  });
});
