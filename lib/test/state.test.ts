import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { tempDir } from '../../testkit/index.js';
import type { JinbaoError } from '../errors.js';
import { openDatabase } from '../sql/index.js';
import { resolveState, resolveStateDir } from '../state.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

const MIGRATIONS = [
  { description: 'one', up: 'CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT)' },
  { description: 'two', up: 'ALTER TABLE things ADD COLUMN colour TEXT' },
];

describe('the embedded state store', () => {
  it('GIVEN a new directory THEN it creates the store and applies migrations once', async () => {
    const d = dir();
    const store = await openDatabase(d);
    expect(await store.migrate('things', MIGRATIONS)).toEqual([1, 2]);
    expect(await store.migrate('things', MIGRATIONS)).toEqual([]);
    await store.run("INSERT INTO things (name, colour) VALUES ('a', 'red')");
    expect(await store.versions()).toEqual({ things: 2 });
    await store.close();
    const again = await openDatabase(d);
    expect(await again.query('SELECT colour FROM things')).toEqual([{ colour: 'red' }]);
    await again.close();
  });

  it('GIVEN a corrupt store file THEN it says so and how to recover', async () => {
    const d = dir();
    writeFileSync(join(d, 'jinbao.db'), 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    await expect(openDatabase(d)).rejects.toThrow(/is not a usable SQLite database: .*; move it aside or use another state store/);
  });

  it('GIVEN a failing migration THEN nothing of it is applied and the version does not move', async () => {
    const d = dir();
    const store = await openDatabase(d);
    await expect(store.migrate('bad', [{ description: 'broken', up: 'CREATE TABLE x (a INT); CREATE TABLE x (a INT);' }])).rejects.toThrow(/already exists/);
    expect(await store.versions()).toEqual({});
    expect(await store.query("SELECT name FROM sqlite_master WHERE name = 'x'")).toEqual([]);
    await store.close();
  });
});

describe('resolveStateDir', () => {
  it('GIVEN a path THEN it is the state directory, --state before JINBAO_STATE before .jinbao', () => {
    expect(resolveStateDir('/var/lib/jinbao', { JINBAO_STATE: '/x' })).toBe('/var/lib/jinbao');
    expect(resolveStateDir(undefined, { JINBAO_STATE: '/x' })).toBe('/x');
    expect(resolveStateDir(undefined, {})).toBe(join(process.cwd(), '.jinbao'));
  });

  it('GIVEN a PostgreSQL URL THEN it names the shared backend, with local working files in JINBAO_WORK_DIR or .jinbao', () => {
    expect(resolveState('postgresql://jinbao@db.example/jinbao?sslmode=verify-full&sslrootcert=/etc/jinbao/db-ca.pem', { JINBAO_STATE: '/x' })).toEqual({
      kind: 'postgresql',
      url: 'postgresql://jinbao@db.example/jinbao?sslmode=verify-full&sslrootcert=/etc/jinbao/db-ca.pem',
      source: '--state',
      dir: join(process.cwd(), '.jinbao'),
    });
    expect(resolveState(undefined, { JINBAO_STATE: 'postgres://db/jinbao', JINBAO_WORK_DIR: '/w' })).toEqual({ kind: 'postgresql', url: 'postgres://db/jinbao', source: 'JINBAO_STATE', dir: '/w' });
    expect(resolveState('/var/lib/jinbao', {})).toEqual({ kind: 'sqlite', dir: '/var/lib/jinbao' });
    // What only works on a directory says so, without repeating the URL (it may hold a password).
    try {
      resolveStateDir(undefined, { JINBAO_STATE: 'postgres://u@db/jinbao' });
      expect.unreachable();
    } catch (err) {
      expect((err as JinbaoError).exitCode).toBe(2);
      expect((err as Error).message).toBe('JINBAO_STATE is a PostgreSQL URL, but this needs the embedded store\'s directory (e.g. --state /var/lib/jinbao)');
    }
    expect(() => resolveState('postgres://u:s3cret@db/jinbao', {})).toThrow(/^--state carries a password .* PGPASSWORD/);
    expect(() => resolveState('https://example.org/state', {})).toThrow('--state is a https:// URL; it must be a directory for the embedded store (e.g. --state /var/lib/jinbao) or a postgresql:// URL for the shared one');
  });

  it('GIVEN the CLI with --state postgresql://… and a password in it THEN it exits 2 saying what to use instead, and no folder named postgresql: is created', async () => {
    const cwd = dir();
    const before = process.cwd();
    process.chdir(cwd);
    try {
      const r = await runCli(['--state', 'postgresql://jinbao:s3cret@127.0.0.1/jinbao', 'ipam', '--site', '440100']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/PGPASSWORD/);
      expect(r.stderr).not.toContain('s3cret');
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      process.chdir(before);
    }
  });
});
