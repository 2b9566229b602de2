import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';
import { StateStore, STORE_FORMAT } from '../state.js';

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
  it('GIVEN a new directory THEN it creates the store and applies migrations once', () => {
    const d = dir();
    const store = StateStore.open(d);
    store.migrate('things', MIGRATIONS);
    store.migrate('things', MIGRATIONS);
    store.db.prepare("INSERT INTO things (name, colour) VALUES ('a', 'red')").run();
    expect(store.versions()).toEqual({ things: 2 });
    store.close();
    const again = StateStore.open(d);
    expect(again.db.prepare('SELECT colour FROM things').get()).toEqual({ colour: 'red' });
    again.close();
  });

  it('GIVEN a store whose component schema is newer than the code THEN it refuses clearly', () => {
    const d = dir();
    const store = StateStore.open(d);
    store.migrate('things', MIGRATIONS);
    store.close();
    const older = StateStore.open(d);
    expect(() => older.migrate('things', MIGRATIONS.slice(0, 1))).toThrow(
      'the state store\'s "things" schema is at version 2, newer than this jinbao knows (1); upgrade jinbao or use another --state directory',
    );
    older.close();
  });

  it('GIVEN a store of a newer format THEN opening it fails clearly', () => {
    const d = dir();
    const db = new Database(join(d, 'jinbao.db'));
    db.pragma(`user_version = ${STORE_FORMAT + 1}`);
    db.close();
    expect(() => StateStore.open(d)).toThrow(`has format ${STORE_FORMAT + 1}, newer than this jinbao understands (${STORE_FORMAT}); upgrade jinbao or use another --state directory`);
  });

  it('GIVEN a corrupt store file THEN it says so and how to recover', () => {
    const d = dir();
    writeFileSync(join(d, 'jinbao.db'), 'this is not a database, just some text that is long enough to have a header'.repeat(20));
    expect(() => StateStore.open(d)).toThrow(/is not a usable SQLite database: .*; move it aside or use another --state directory/);
  });

  it('GIVEN a failing migration THEN nothing of it is applied and the version does not move', () => {
    const d = dir();
    const store = StateStore.open(d);
    expect(() => store.migrate('bad', [{ description: 'broken', up: 'CREATE TABLE x (a INT); CREATE TABLE x (a INT);' }])).toThrow(/already exists/);
    expect(store.versions()).toEqual({});
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'x'").get()).toBeUndefined();
    store.close();
  });
});
