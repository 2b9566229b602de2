import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditVerification } from '../../lib/audit.js';
import { JinbaoError } from '../../lib/errors.js';
import { errorText } from '../../lib/i18n/index.js';
import { openDatabase, type Database, type Queryable, type SqlMigration } from '../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';
import { tempDir } from '../../testkit/index.js';
import { migrateState, stateStatus, type StateComponent } from '../state.js';

const missing = postgresMissing();
let server: PostgresServer | undefined;
let databases = 0;
beforeAll(async () => {
  if (missing === undefined) server = await startPostgres({ prefix: 'jinbao-migrate-pg-' });
}, 120_000);
const cleanups: (() => void)[] = [];
afterAll(async () => {
  await server?.close();
  for (const c of cleanups) c();
});
function tmp(prefix: string): string {
  const t = tempDir(prefix);
  cleanups.push(t.cleanup);
  return t.dir;
}

async function freshPg(): Promise<string> {
  const name = `m_${++databases}`;
  await server!.sql(`CREATE DATABASE ${name}`);
  return server!.url({ dbname: name, sslmode: 'disable' });
}

/** Two components with what a real store has: a foreign key, a self reference, identity keys, bytes, nulls. */
const COMPONENTS: StateComponent[] = [
  {
    name: 'cas',
    migrations: [
      {
        description: 'cas',
        up: {
          sqlite: 'CREATE TABLE cas (id text PRIMARY KEY, replaces text REFERENCES cas(id), der BLOB)',
          postgresql: 'CREATE TABLE cas (id text PRIMARY KEY, replaces text REFERENCES cas(id), der bytea)',
        },
      } satisfies SqlMigration,
      {
        description: 'certs',
        up: {
          sqlite: 'CREATE TABLE certs (seq INTEGER PRIMARY KEY AUTOINCREMENT, ca text NOT NULL REFERENCES cas(id), serial text NOT NULL UNIQUE, revoked integer NOT NULL DEFAULT 0)',
          postgresql: 'CREATE TABLE certs (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, ca text NOT NULL REFERENCES cas(id), serial text NOT NULL UNIQUE, revoked integer NOT NULL DEFAULT 0)',
        },
      },
    ],
  },
  {
    name: 'log',
    migrations: [{ description: 'log', up: 'CREATE TABLE log (seq integer PRIMARY KEY, body text NOT NULL, hash text NOT NULL)' }],
  },
];

/** A stand-in for the audit chain: each entry hashes the one before. */
async function verifyLog(q: Queryable): Promise<AuditVerification> {
  let prev = '0';
  let n = 0;
  for (const r of await q.query<{ seq: number; body: string; hash: string }>('SELECT seq, body, hash FROM log ORDER BY seq')) {
    n += 1;
    const want = createHash('sha256').update(prev + r.body).digest('hex');
    if (want !== r.hash) return { ok: false, entries: n, head: prev, firstBroken: { seq: r.seq, reason: 'altered' } };
    prev = r.hash;
  }
  return { ok: true, entries: n, head: prev };
}

async function fill(db: Database, certs: number): Promise<void> {
  for (const c of COMPONENTS) await db.migrate(c.name, c.migrations);
  await db.write(async (tx) => {
    await tx.run('INSERT INTO cas (id, replaces, der) VALUES ($1, NULL, $2)', ['root-2', Buffer.from([0, 1, 2, 255])]);
    // Written later, sorted earlier: the copy must keep the order rows were written in.
    await tx.run('INSERT INTO cas (id, replaces, der) VALUES ($1, $2, NULL)', ['root-1', 'root-2']);
    for (let i = 0; i < certs; i++) await tx.run('INSERT INTO certs (ca, serial, revoked) VALUES ($1, $2, $3)', [i % 2 ? 'root-1' : 'root-2', `s${i}`, i % 3 === 0 ? 1 : 0]);
    let prev = '0';
    for (let i = 1; i <= 5; i++) {
      const hash = createHash('sha256').update(prev + `entry ${i}`).digest('hex');
      await tx.run('INSERT INTO log (seq, body, hash) VALUES ($1, $2, $3)', [i, `entry ${i}`, hash]);
      prev = hash;
    }
  });
}

const env = {};
const quiet = () => undefined;

describe.skipIf(missing !== undefined)('jinbao state migrate', () => {
  it('GIVEN a SQLite store WHEN migrated to an empty PostgreSQL database THEN every row, byte and the chain head arrive, and new rows continue after the copied keys', async () => {
    const dir = tmp('jinbao-migrate-src-');
    const src = await openDatabase(dir);
    const url = await freshPg();
    try {
      await fill(src, 1203);
      const before = await stateStatus(src, COMPONENTS, verifyLog);
      const saidEn: string[] = [];
      const r = await migrateState(src, url, { components: COMPONENTS, verifyAudit: verifyLog, env, progress: (l) => saidEn.push(l), batchRows: 100 });
      expect(saidEn[0]).toMatch(/^migrating 3 tables, 1210 rows, from SQLite .* to PostgreSQL /);
      expect(saidEn.slice(1)).toEqual(['  cas: 2/2 rows', '  certs: 1203/1203 rows', '  log: 5/5 rows']);
      expect(r.tables).toEqual([
        { name: 'cas', rows: 2 },
        { name: 'certs', rows: 1203 },
        { name: 'log', rows: 5 },
      ]);
      expect(r.auditHead).toBe(before.audit.head);
      const dst = await openDatabase(url);
      try {
        const after = await stateStatus(dst, COMPONENTS, verifyLog);
        expect(after.tables).toEqual(before.tables);
        expect(after.audit).toEqual(before.audit);
        expect(after.components).toEqual([
          { name: 'cas', version: 2, known: 2 },
          { name: 'log', version: 1, known: 1 },
        ]);
        const [ca] = await dst.query<{ der: Buffer }>("SELECT der FROM cas WHERE id = 'root-2'");
        expect([...ca!.der]).toEqual([0, 1, 2, 255]);
        await dst.run('INSERT INTO certs (ca, serial) VALUES ($1, $2)', ['root-1', 'new']);
        const [last] = await dst.query<{ seq: number }>("SELECT seq FROM certs WHERE serial = 'new'");
        expect(last!.seq).toBe(1204);
      } finally {
        await dst.close();
      }
      // And back: PostgreSQL to a new SQLite directory.
      const back = join(tmp('jinbao-migrate-back-'), 'store');
      const pgSrc = await openDatabase(url);
      try {
        // and back, its progress said in Chinese
        const said: string[] = [];
        const r2 = await migrateState(pgSrc, back, { components: COMPONENTS, verifyAudit: verifyLog, env, progress: (l) => said.push(l), lang: 'zh-CN' });
        expect(said[0]).toMatch(/^正在迁移 \d+ 张表、\d+ 行，从 PostgreSQL .* 到 SQLite /);
        expect(said.slice(1)).toEqual(['  cas：已复制 2/2 行', '  certs：已复制 1204/1204 行', '  log：已复制 5/5 行']);
        expect(r2.tables.find((t) => t.name === 'certs')!.rows).toBe(1204);
        expect(r2.auditHead).toBe(before.audit.head);
      } finally {
        await pgSrc.close();
      }
    } finally {
      await src.close();
    }
  }, 120_000);

  it('GIVEN a target that is not empty, or a source whose chain is broken THEN nothing is copied and the message says why', async () => {
    const src = await openDatabase(tmp('jinbao-migrate-src-'));
    try {
      await fill(src, 3);
      const used = await freshPg();
      const other = await openDatabase(used);
      await fill(other, 1);
      await other.close();
      await expect(migrateState(src, used, { components: COMPONENTS, verifyAudit: verifyLog, env, progress: quiet })).rejects.toThrow(/^the target PostgreSQL .* is not empty \(cas \(2 rows\), certs \(1 rows\), log \(5 rows\)\); state migrate copies only into an empty database/);
      const dir = tmp('jinbao-migrate-full-');
      writeFileSync(join(dir, 'notes.txt'), 'x');
      const refusal = await migrateState(src, dir, { components: COMPONENTS, verifyAudit: verifyLog, env, progress: quiet }).catch((e: unknown) => e as JinbaoError);
      expect(refusal).toBeInstanceOf(JinbaoError);
      expect((refusal as JinbaoError).message).toBe(`--to ${dir} is not empty (notes.txt); give an empty or new directory`);
      expect(errorText(refusal as JinbaoError, 'zh-CN')).toBe(`--to ${dir} 不是空目录（notes.txt）；请给出空目录或新目录`);
      await src.run("UPDATE log SET body = 'forged' WHERE seq = 3");
      const target = await freshPg();
      await expect(migrateState(src, target, { components: COMPONENTS, verifyAudit: verifyLog, env, progress: quiet })).rejects.toThrow(/^the source's audit log is broken at entry 3 \(altered\)/);
      const t = await openDatabase(target);
      expect(await t.versions()).toEqual({});
      await t.close();
    } finally {
      await src.close();
    }
  }, 120_000);

  it('GIVEN a migration that fails in the middle THEN the target is refused as an unfinished migration until a re-run completes', async () => {
    const src = await openDatabase(tmp('jinbao-migrate-src-'));
    const url = await freshPg();
    try {
      await fill(src, 50);
      // The target's migrations lack the log table's column "hash": the copy fails after the mark.
      const broken = COMPONENTS.map((c) => (c.name === 'log' ? { ...c, migrations: [{ description: 'log', up: 'CREATE TABLE log (seq integer PRIMARY KEY, body text NOT NULL)' }] } : c));
      await expect(migrateState(src, url, { components: broken, verifyAudit: verifyLog, env, progress: quiet })).rejects.toThrow(/hash/);
      await expect(openDatabase(url)).rejects.toThrow(/is the target of a jinbao state migrate from SQLite .* that did not finish; it holds no usable state: run the migration again/);
      const r = await migrateState(src, url, { components: COMPONENTS, verifyAudit: verifyLog, env, progress: quiet });
      expect(r.tables.map((t) => t.rows)).toEqual([2, 50, 5]);
      const ok = await openDatabase(url);
      await ok.close();
      // The same on a SQLite target.
      const dir = join(tmp('jinbao-migrate-dir-'), 'store');
      mkdirSync(dir);
      const pgSrc = await openDatabase(url);
      await expect(migrateState(pgSrc, dir, { components: broken, verifyAudit: verifyLog, env, progress: quiet })).rejects.toThrow(/hash/);
      await pgSrc.close();
      expect(existsSync(join(dir, 'jinbao.db'))).toBe(true);
      await expect(openDatabase(dir)).rejects.toThrow(/that did not finish/);
    } finally {
      await src.close();
    }
  }, 120_000);
});
