import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JinbaoError } from '../../errors.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../test/postgres-server.js';
import { openDatabase, PostgresDatabase, SqliteDatabase, toSqlite, type Database as StateDb, type SqlMigration } from '../index.js';
import { verifyChain } from './chain.js';

const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));
const missing = postgresMissing();

let server: PostgresServer | undefined;
let databases = 0;
const dirs: string[] = [];

beforeAll(async () => {
  if (missing === undefined) server = await startPostgres({ prefix: 'jinbao-sql-pg-' });
});
afterAll(async () => {
  await server?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh, empty store of each kind: a new SQLite directory, or a new database on the test server. */
const backends: { name: string; skip: boolean; fresh: () => Promise<string> }[] = [
  {
    name: 'SQLite',
    skip: false,
    fresh: async () => {
      const d = mkdtempSync(join(tmpdir(), 'jinbao-sql-'));
      dirs.push(d);
      return d;
    },
  },
  {
    name: 'PostgreSQL',
    skip: missing !== undefined,
    fresh: async () => {
      const name = `state_${++databases}`;
      await server!.sql(`CREATE DATABASE ${name}`);
      return server!.url({ dbname: name, sslmode: 'disable' });
    },
  },
];

const THINGS: SqlMigration[] = [
  { description: 'things', up: 'CREATE TABLE things (id integer PRIMARY KEY, name text NOT NULL)' },
  { description: 'colour', up: { sqlite: 'ALTER TABLE things ADD COLUMN colour TEXT', postgresql: 'ALTER TABLE things ADD COLUMN colour text' } },
];

describe.each(backends)('the state store on $name', ({ name, skip, fresh }) => {
  const open = async (target?: string): Promise<StateDb> => openDatabase(target ?? (await fresh()));

  it.skipIf(skip)('GIVEN component migrations THEN each version is applied once, in order, and recorded', async () => {
    const target = await fresh();
    const db = await open(target);
    try {
      expect(await db.migrate('things', THINGS)).toEqual([1, 2]);
      expect(await db.migrate('things', THINGS)).toEqual([]);
      expect(await db.versions()).toEqual({ things: 2 });
      expect(await db.run('INSERT INTO things (id, name, colour) VALUES ($1, $2, $3)', [1, 'one', 'red'])).toBe(1);
      expect(await db.query('SELECT id, name, colour FROM things')).toEqual([{ id: 1, name: 'one', colour: 'red' }]);
    } finally {
      await db.close();
    }
    // A later build with one migration fewer meets a newer store.
    const older = await open(target);
    try {
      await expect(older.migrate('things', THINGS.slice(0, 1))).rejects.toThrow(
        new RegExp(`^the state store ${name === 'SQLite' ? 'SQLite' : 'PostgreSQL'} .* has the "things" schema at version 2, newer than this jinbao knows \\(1\\); upgrade jinbao or use another state store$`),
      );
    } finally {
      await older.close();
    }
  });

  it.skipIf(skip)('GIVEN a migration that fails half-way THEN none of it stays and the version is unchanged (DDL is transactional on both)', async () => {
    const db = await open();
    try {
      await db.migrate('things', THINGS.slice(0, 1));
      const broken: SqlMigration[] = [...THINGS.slice(0, 1), { description: 'broken', up: 'CREATE TABLE extra (x integer); ALTER TABLE nowhere ADD COLUMN y integer' }];
      await expect(db.migrate('things', broken)).rejects.toThrow(/nowhere/);
      expect(await db.versions()).toEqual({ things: 1 });
      await expect(db.query('SELECT * FROM extra')).rejects.toThrow(/extra/);
    } finally {
      await db.close();
    }
  });

  it.skipIf(skip)('GIVEN a write that throws THEN nothing of it is committed and it is not retried', async () => {
    const db = await open();
    try {
      await db.migrate('things', THINGS);
      let calls = 0;
      await expect(
        db.write(async (tx) => {
          calls++;
          await tx.run('INSERT INTO things (id, name) VALUES ($1, $2)', [7, 'seven']);
          throw new Error('refused by the caller');
        }),
      ).rejects.toThrow('refused by the caller');
      expect(calls).toBe(1);
      expect(await db.query('SELECT * FROM things')).toEqual([]);
      // $n placeholders may repeat and come in any order, on SQLite too.
      await db.write((tx) => tx.run('INSERT INTO things (id, name, colour) VALUES ($2, $1, $1)', ['x', 3]));
      expect(await db.query('SELECT id, name, colour FROM things WHERE name = $1 AND colour = $1', ['x'])).toEqual([{ id: 3, name: 'x', colour: 'x' }]);
    } finally {
      await db.close();
    }
  });

  it.skipIf(skip)('GIVEN 20 writes at once of which one throws THEN the other 19 commit, each seeing the ones before, and the thrower leaves nothing', async () => {
    const db = await open();
    try {
      await db.migrate('things', THINGS);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          db.write(async (tx) => {
            const n = (await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM things'))[0]!.n;
            await tx.run('INSERT INTO things (id, name) VALUES ($1, $2)', [100 + i, `after ${Number(n)}`]);
            if (i === 7) throw new Error('write 7 refused');
            return Number(n);
          }, { locks: ['things'] }),
        ),
      );
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason.message))).toEqual(['write 7 refused']);
      // Each write saw every committed one before it: 0, 1, ... 18 without a gap or a repeat, 7's
      // row gone. SQLite runs them in the order asked; PostgreSQL in the order its lock grants.
      const seen = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 19 }, (_, i) => i));
      if (db instanceof SqliteDatabase) expect(seen).toEqual(Array.from({ length: 19 }, (_, i) => i));
      const rows = await db.query<{ id: number }>('SELECT id FROM things ORDER BY id');
      expect(rows.map((r) => Number(r.id))).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i).filter((id) => id !== 107));
      if (db instanceof SqliteDatabase) {
        // One event-loop turn's writes shared a commit (group commit): far fewer commits than writes.
        expect(db.stats.writes).toBeGreaterThanOrEqual(19);
        expect(db.stats.commits).toBeLessThan(db.stats.writes / 4);
      }
    } finally {
      await db.close();
    }
  });

  it.skipIf(skip)('GIVEN writes that need not be durable (durable: false) THEN they commit like the others and another connection reads them', async () => {
    const target = await fresh();
    const db = await open(target);
    const other = await open(target);
    try {
      await db.migrate('things', THINGS);
      await Promise.all([
        db.write((tx) => tx.run('INSERT INTO things (id, name) VALUES (1, $1)', ['relaxed']), { durable: false, locks: [] }),
        db.write((tx) => tx.run('INSERT INTO things (id, name) VALUES (2, $1)', ['durable'])),
      ]);
      await db.write((tx) => tx.run('INSERT INTO things (id, name) VALUES (3, $1)', ['relaxed alone']), { durable: false });
      expect(await other.query('SELECT id, name FROM things ORDER BY id')).toEqual([
        { id: 1, name: 'relaxed' },
        { id: 2, name: 'durable' },
        { id: 3, name: 'relaxed alone' },
      ]);
      if (db instanceof SqliteDatabase) expect((await db.query<{ synchronous: number }>('PRAGMA synchronous'))[0]!.synchronous).toBe(2); // FULL again after a relaxed commit
    } finally {
      await db.close();
      await other.close();
    }
  });

  it.skipIf(skip)('GIVEN 4 processes started together THEN the migrations are applied once and 4 × 40 appends get unique, gap-free numbers in one verified chain', async () => {
    const target = await fresh();
    const runs = await runWorkers(target, 4, 40);
    expect(runs.flatMap((r) => r.fails)).toEqual([]);
    // Each version was applied by exactly one process; the others found it applied.
    expect(runs.flatMap((r) => (r.migrated === '-' ? [] : r.migrated.split(',').map(Number))).sort()).toEqual([1, 2]);
    const db = await open(target);
    try {
      expect(await db.query('SELECT version FROM migration_log')).toEqual([{ version: 2 }]);
      expect(await verifyChain(db)).toEqual({ entries: 160 });
      const acked = runs.flatMap((r) => r.acks);
      expect(new Set(acked.map((a) => a.seq)).size).toBe(160);
    } finally {
      await db.close();
    }
  }, 240_000);
});

describe.skipIf(missing !== undefined)('PostgreSQL faults', () => {
  it('GIVEN the server is killed and restarted while 4 processes append THEN every acknowledged append is there exactly once and the chain verifies', async () => {
    const name = `state_${++databases}`;
    await server!.sql(`CREATE DATABASE ${name}`);
    const target = server!.url({ dbname: name, sslmode: 'disable' });
    let acks = 0;
    let restarted = false;
    const runs = await runWorkers(target, 4, 120, async (line) => {
      if (!line.startsWith('ack ') || restarted) return;
      if (++acks === 80) {
        restarted = true;
        await server!.kill();
        await server!.start();
      }
    });
    expect(restarted).toBe(true);
    expect(runs.flatMap((r) => r.fails)).toEqual([]);
    const db = await openDatabase(target);
    try {
      const rows = await db.query<{ op: string; seq: number }>('SELECT op, seq FROM chain ORDER BY seq');
      expect(await verifyChain(db)).toEqual({ entries: 480 });
      const bySeq = new Map(rows.map((r) => [r.op, Number(r.seq)]));
      for (const a of runs.flatMap((r) => r.acks)) expect(bySeq.get(a.op)).toBe(a.seq);
      expect(new Set(rows.map((r) => r.op)).size).toBe(480);
    } finally {
      await db.close();
    }
  }, 300_000);

  it('GIVEN a database that is not jinbao\'s, a password in the URL, or no server THEN each is refused in one line with the fix', async () => {
    await server!.sql('CREATE DATABASE someone_else');
    await server!.sql('CREATE TABLE payroll (id integer)', 'someone_else');
    await expect(PostgresDatabase.open(server!.url({ dbname: 'someone_else', sslmode: 'disable' }))).rejects.toThrow(
      /^PostgreSQL 127\.0\.0\.1:\d+\/someone_else \(no TLS \(sslmode=disable\)\) holds 1 tables but is not a jinbao state store \(it has no jinbao_store table\); give jinbao an empty database of its own \(CREATE DATABASE jinbao OWNER jinbao_state\)$/,
    );
    await expect(PostgresDatabase.open(`postgresql://postgres:pw@127.0.0.1:${server!.port}/x`)).rejects.toThrow(/^--state carries a password \(the user:password@ part of the URI\); .*PGPASSWORD/);
    const gone = PostgresDatabase.open('postgresql://postgres@127.0.0.1:1/jinbao?sslmode=disable');
    await expect(gone).rejects.toThrow(/^cannot reach the state database: --state: connect ECONNREFUSED 127\.0\.0\.1:1$/);
    await expect(gone).rejects.toBeInstanceOf(JinbaoError);
    await expect(PostgresDatabase.open(server!.url({ dbname: 'no_such_db', sslmode: 'disable' }))).rejects.toThrow(
      /^--state: database "no_such_db" does not exist on 127\.0\.0\.1:\d+; create it \(CREATE DATABASE jinbao OWNER jinbao_state\) or fix dbname$/,
    );
  });
});

describe('SQLite specifics', () => {
  it('GIVEN two connections to one store THEN the change mark moves at once for this connection\'s commits and by the next event-loop turn for the other\'s', async () => {
    const d = mkdtempSync(join(tmpdir(), 'jinbao-sql-'));
    dirs.push(d);
    const a = await openDatabase(d);
    const b = await openDatabase(d);
    const turn = () => new Promise((r) => setImmediate(r));
    try {
      await a.migrate('things', THINGS);
      await turn();
      const m0 = a.changeMark!();
      await a.run('INSERT INTO things (id, name) VALUES (1, $1)', ['own']);
      const m1 = a.changeMark!();
      expect(m1).not.toBe(m0);
      await turn();
      expect(a.changeMark!()).toBe(m1);
      await b.run('INSERT INTO things (id, name) VALUES (2, $1)', ['other']);
      await turn();
      const m2 = a.changeMark!();
      expect(m2).not.toBe(m1);
      await turn();
      expect(a.changeMark!()).toBe(m2);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('GIVEN $n placeholders THEN SQLite gets ? in the order they appear, and quoted text is left alone', () => {
    expect(toSqlite("SELECT $2, '$1', \"$3\", $1, $2", ['a', 'b'])).toEqual({ sql: "SELECT ?, '$1', \"$3\", ?, ?", params: ['b', 'a', 'b'] });
    expect(() => toSqlite('SELECT $3', ['a'])).toThrow('placeholder $3 has no parameter (1 given)');
  });

  it('GIVEN a store an earlier jinbao wrote (synchronous store, same file layout) THEN it opens here with its component versions and continues', async () => {
    const d = mkdtempSync(join(tmpdir(), 'jinbao-sql-'));
    dirs.push(d);
    // What the earlier synchronous store left: format 1, schema_versions, a component's table.
    const old = new Database(join(d, 'jinbao.db'));
    old.pragma('journal_mode = WAL');
    old.pragma('user_version = 1');
    old.exec('CREATE TABLE schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at TEXT NOT NULL)');
    old.exec('CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
    old.prepare("INSERT INTO schema_versions VALUES ('things', 1, '2026-01-01T00:00:00.000Z')").run();
    old.prepare('INSERT INTO things (id, name) VALUES (1, ?)').run('from the old API');
    old.close();
    const db = await openDatabase(d);
    try {
      expect(await db.versions()).toEqual({ things: 1 });
      expect(await db.migrate('things', THINGS)).toEqual([2]);
      expect(await db.query('SELECT name, colour FROM things')).toEqual([{ name: 'from the old API', colour: null }]);
    } finally {
      await db.close();
    }
  });

  it('GIVEN a store a newer jinbao wrote, or a URL that is not PostgreSQL THEN it is refused', async () => {
    const d = mkdtempSync(join(tmpdir(), 'jinbao-sql-'));
    dirs.push(d);
    const raw = new Database(join(d, 'jinbao.db'));
    raw.pragma('user_version = 9');
    raw.close();
    await expect(openDatabase(d)).rejects.toThrow(`the state store ${join(d, 'jinbao.db')} has format 9, newer than this jinbao understands (1); upgrade jinbao or use another state store`);
    await expect(openDatabase('mysql://db/x')).rejects.toThrow('--state must be a directory or a postgresql:// URL, got a mysql:// URL');
  });
});

interface WorkerRun {
  readonly migrated: string;
  readonly acks: { op: string; seq: number }[];
  readonly fails: string[];
}

/** Start `n` worker processes, open the barrier once all are ready, and collect what each acknowledged. */
async function runWorkers(target: string, n: number, count: number, onLine?: (line: string) => Promise<void>): Promise<WorkerRun[]> {
  const dir = mkdtempSync(join(tmpdir(), 'jinbao-sql-barrier-'));
  dirs.push(dir);
  const barrier = join(dir, 'go');
  let ready = 0;
  let openBarrier!: () => void;
  const allReady = new Promise<void>((r) => (openBarrier = r));
  const pending: Promise<unknown>[] = [];
  const runs = Array.from({ length: n }, (_, i) => {
    const child = spawn(process.execPath, ['--import', 'tsx', worker, target, barrier, `w${i}`, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const run = { migrated: '', acks: [] as { op: string; seq: number }[], fails: [] as string[] };
    let buffer = '';
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => {
      buffer += b.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready' && ++ready === n) openBarrier();
        else if (line.startsWith('migrated ')) run.migrated = line.slice('migrated '.length);
        else if (line.startsWith('ack ')) {
          const [, op, seq] = line.split(' ');
          run.acks.push({ op: op!, seq: Number(seq) });
        } else if (line.startsWith('fail ')) run.fails.push(line);
        if (onLine) pending.push(onLine(line));
      }
    });
    const done = new Promise<WorkerRun>((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(run);
        else reject(new Error(`worker w${i} exited ${code}: ${stderr.slice(-2000)}`));
      });
    });
    return done;
  });
  await Promise.race([allReady, Promise.all(runs)]);
  writeFileSync(barrier, '');
  const results = await Promise.all(runs);
  await Promise.all(pending);
  return results;
}
