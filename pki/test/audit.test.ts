import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, auditAppendOnly, AUDIT_APPEND_ONLY_TRIGGERS, AUDIT_LOCK, migrateAudit, readAudit, recordAudit, verifyAudit } from '../../lib/audit.js';
import { say } from '../../lib/i18n/index.js';
import { openDatabase, type Database } from '../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';
import { stateBackends } from './helpers.js';

let server: PostgresServer | undefined;
beforeAll(async () => {
  if (postgresMissing() === undefined) server = await startPostgres({ prefix: 'jinbao-audit-pg-' });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

/** What only the table's owner can do (jinbao never does): drop the triggers that keep the log insert-only. */
async function ownerDropsTriggers(db: Database): Promise<void> {
  for (const t of AUDIT_APPEND_ONLY_TRIGGERS) await db.exec(db.dialect === 'sqlite' ? `DROP TRIGGER ${t}` : `DROP TRIGGER ${t} ON audit_log`);
}

describe.each(stateBackends(() => server))('the hash-chained audit log on $name', ({ name, skip, fresh }) => {
  let dir: string;
  let db: Database;
  beforeEach(async () => {
    if (skip) return;
    dir = mkdtempSync(join(tmpdir(), 'jinbao-audit-'));
    db = await openDatabase((await fresh()) ?? dir);
    for (let i = 1; i <= 5; i++) await recordAudit(db, { action: 'pki.issue', outcome: i === 4 ? 'refused' : 'ok', subject: `serial-${i}`, actor: 'officer', details: { n: i, site: '440100' } });
  });
  afterEach(async () => {
    if (skip) return;
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)('GIVEN untouched entries THEN the chain verifies and its head is the last hash', async () => {
    const entries = await readAudit(db);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    expect(await verifyAudit(db)).toEqual({ ok: true, entries: 5, head: entries[4]!.hash });
  });

  it.skipIf(skip)('GIVEN the audit table THEN UPDATE, DELETE (and on PostgreSQL TRUNCATE) are refused by its triggers, nothing changes, and appending still works', async () => {
    expect(await auditAppendOnly(db)).toBe(true);
    await expect(db.run("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")).rejects.toThrow(/audit_log is append-only: UPDATE refused/);
    await expect(db.run('DELETE FROM audit_log WHERE seq = 5')).rejects.toThrow(/audit_log is append-only: DELETE refused/);
    if (db.dialect === 'postgresql') await expect(db.exec('TRUNCATE audit_log')).rejects.toThrow(/audit_log is append-only: TRUNCATE refused/);
    expect((await readAudit(db)).map((e) => [e.seq, e.actor])).toEqual([1, 2, 3, 4, 5].map((n) => [n, 'officer']));
    await recordAudit(db, { action: 'pki.revoke', outcome: 'ok', subject: 'serial-1', actor: 'officer' });
    expect(await verifyAudit(db)).toMatchObject({ ok: true, entries: 6 });
    await ownerDropsTriggers(db);
    expect(await auditAppendOnly(db)).toBe(false);
  });

  // The triggers stop jinbao and anyone without the table's ownership; an owner can drop them, and the chain then shows what was done.
  it.skipIf(skip)('GIVEN an altered entry THEN verification names it as altered', async () => {
    await ownerDropsTriggers(db);
    await db.run(`UPDATE audit_log SET details = '{"n":3,"site":"110000"}' WHERE seq = 3`);
    const r = await verifyAudit(db);
    expect(r.ok).toBe(false);
    expect(r.firstBroken!.seq).toBe(3);
    expect(r.firstBroken!.reason).toMatch(/^its content hashes to [0-9a-f]{12}…, want the recorded [0-9a-f]{12}…: the entry was altered$/);
    expect(say(r.firstBroken!.localized!, 'zh-CN')).toMatch(/^其内容的哈希为 [0-9a-f]{12}…，应为记录的 [0-9a-f]{12}…：该条目已被篡改$/);
  });

  it.skipIf(skip)('GIVEN an altered outcome (a refusal turned into success) THEN verification names it', async () => {
    await ownerDropsTriggers(db);
    await db.run(`UPDATE audit_log SET outcome = 'ok' WHERE seq = 4`);
    expect((await verifyAudit(db)).firstBroken?.seq).toBe(4);
  });

  it.skipIf(skip)('GIVEN a removed entry THEN verification names the entry after the gap', async () => {
    await ownerDropsTriggers(db);
    await db.run('DELETE FROM audit_log WHERE seq = 3');
    const broken = (await verifyAudit(db)).firstBroken!;
    expect(broken).toMatchObject({ seq: 4, reason: 'got sequence number 4, want 3: entry 3 was removed' });
    expect(say(broken.localized!, 'zh-CN')).toBe('序号为 4，应为 3：第 3 条已被删除');
  });

  it.skipIf(skip)('GIVEN a removed entry with the sequence renumbered to hide the gap THEN the previous-hash link breaks', async () => {
    await ownerDropsTriggers(db);
    await db.write(async (tx) => {
      await tx.run('DELETE FROM audit_log WHERE seq = 3');
      for (const seq of [4, 5]) await tx.run('UPDATE audit_log SET seq = seq - 1 WHERE seq = $1', [seq]);
    });
    const r = await verifyAudit(db);
    expect(r.firstBroken!.seq).toBe(3);
    expect(r.firstBroken!.reason).toContain("does not match entry 2's hash");
  });

  it.skipIf(skip)('GIVEN two entries swapped THEN verification names the first swapped position', async () => {
    await ownerDropsTriggers(db);
    const rows = await db.query<Record<string, unknown>>('SELECT * FROM audit_log WHERE seq IN (2, 3) ORDER BY seq');
    await db.write(async (tx) => {
      for (const [to, from] of [
        [2, rows[1]!],
        [3, rows[0]!],
      ] as const) {
        await tx.run('UPDATE audit_log SET at = $1, actor = $2, action = $3, outcome = $4, subject = $5, details = $6, prev_hash = $7, hash = $8 WHERE seq = $9', [from.at, from.actor, from.action, from.outcome, from.subject, from.details, from.prev_hash, from.hash, to]);
      }
    });
    const r = await verifyAudit(db);
    expect(r.firstBroken!.seq).toBe(2);
    expect(r.firstBroken!.reason).toContain('removed, replaced or reordered');
  });

  it.skipIf(skip)('GIVEN an append inside a failed transaction THEN neither the change nor the entry is kept', async () => {
    await db.exec('CREATE TABLE things (x integer)');
    await expect(
      db.write(
        async (tx) => {
          await tx.run('INSERT INTO things VALUES (1)');
          await appendAudit(tx, { action: 'thing.add', outcome: 'ok' });
          throw new Error('crash before commit');
        },
        { locks: [AUDIT_LOCK] },
      ),
    ).rejects.toThrow('crash before commit');
    expect((await verifyAudit(db)).entries).toBe(5);
    expect((await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM things'))[0]!.n).toBe(0);
  });

  it.skipIf(skip)('GIVEN many entries appended in one transaction THEN each is its own link of the chain, in order', async () => {
    const many = Array.from({ length: 450 }, (_, i) => ({ action: 'pki.issue', outcome: 'ok' as const, subject: `bulk-${i}` }));
    const appended = await db.write((tx) => appendAudit(tx, ...many), { locks: [AUDIT_LOCK] });
    expect(appended.map((e) => e.seq)).toEqual(Array.from({ length: 450 }, (_, i) => 6 + i));
    expect(await verifyAudit(db)).toMatchObject({ ok: true, entries: 455, head: appended[449]!.hash });
  });

  // PostgreSQL: a second connection pool; SQLite keeps one connection per process (a second one in
  // the same process would block it on the file's write lock): several processes are in processes.test.ts.
  it.skipIf(skip)('GIVEN concurrent appenders THEN the chain stays linear', async () => {
    const other = name === 'SQLite' ? db : await openDatabase(await sameDatabase(db));
    try {
      await migrateAudit(other);
      await Promise.all(Array.from({ length: 40 }, (_, i) => recordAudit(i % 2 ? db : other, { action: 'race', outcome: 'ok', subject: String(i) })));
      expect(await verifyAudit(db)).toMatchObject({ ok: true, entries: 45 });
    } finally {
      if (other !== db) await other.close();
    }
  });

  it.skipIf(skip)('GIVEN filters THEN readAudit returns matching entries in chain order', async () => {
    await recordAudit(db, { action: 'pki.revoke', outcome: 'ok', subject: 'serial-1' });
    expect((await readAudit(db, { action: 'pki.revoke' })).map((e) => e.subject)).toEqual(['serial-1']);
    expect(await readAudit(db, { since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect((await readAudit(db, { limit: 2 })).map((e) => e.seq)).toEqual([1, 2]);
  });

  /** A second connection string to the database `db` is on (PostgreSQL). */
  async function sameDatabase(d: Database): Promise<string> {
    const [{ current }] = (await d.query<{ current: string }>('SELECT current_database() AS current')) as [{ current: string }];
    return server!.url({ dbname: current, sslmode: 'disable' });
  }
});
