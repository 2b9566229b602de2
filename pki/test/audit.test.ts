import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit, readAudit, verifyAudit } from '../../lib/audit.js';
import { StateStore } from '../../lib/state.js';

describe('the hash-chained audit log', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jinbao-audit-'));
    store = StateStore.open(dir);
    for (let i = 1; i <= 5; i++) appendAudit(store, { action: 'pki.issue', outcome: i === 4 ? 'refused' : 'ok', subject: `serial-${i}`, actor: 'officer', details: { n: i, site: '440100' } });
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GIVEN untouched entries THEN the chain verifies and its head is the last hash', () => {
    const entries = [...readAudit(store)];
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    expect(verifyAudit(store)).toEqual({ ok: true, entries: 5, head: entries[4]!.hash });
  });

  it('GIVEN an altered entry THEN verification names it as altered', () => {
    store.db.prepare(`UPDATE audit_log SET details = '{"n":3,"site":"110000"}' WHERE seq = 3`).run();
    const r = verifyAudit(store);
    expect(r.ok).toBe(false);
    expect(r.firstBroken!.seq).toBe(3);
    expect(r.firstBroken!.reason).toMatch(/^its content hashes to [0-9a-f]{12}…, want the recorded [0-9a-f]{12}…: the entry was altered$/);
  });

  it('GIVEN an altered outcome (a refusal turned into success) THEN verification names it', () => {
    store.db.prepare(`UPDATE audit_log SET outcome = 'ok' WHERE seq = 4`).run();
    expect(verifyAudit(store).firstBroken?.seq).toBe(4);
  });

  it('GIVEN a removed entry THEN verification names the entry after the gap', () => {
    store.db.prepare('DELETE FROM audit_log WHERE seq = 3').run();
    expect(verifyAudit(store).firstBroken).toEqual({ seq: 4, reason: 'got sequence number 4, want 3: entry 3 was removed' });
  });

  it('GIVEN a removed entry with the sequence renumbered to hide the gap THEN the previous-hash link breaks', () => {
    store.write(() => {
      store.db.prepare('DELETE FROM audit_log WHERE seq = 3').run();
      store.db.prepare('UPDATE audit_log SET seq = seq - 1 WHERE seq > 3').run();
    });
    const r = verifyAudit(store);
    expect(r.firstBroken!.seq).toBe(3);
    expect(r.firstBroken!.reason).toContain("does not match entry 2's hash");
  });

  it('GIVEN two entries swapped THEN verification names the first swapped position', () => {
    const rows = store.db.prepare('SELECT * FROM audit_log WHERE seq IN (2, 3) ORDER BY seq').all() as Record<string, unknown>[];
    store.write(() => {
      const set = store.db.prepare('UPDATE audit_log SET at = ?, actor = ?, action = ?, outcome = ?, subject = ?, details = ?, prev_hash = ?, hash = ? WHERE seq = ?');
      for (const [to, from] of [
        [2, rows[1]!],
        [3, rows[0]!],
      ] as const) set.run(from.at, from.actor, from.action, from.outcome, from.subject, from.details, from.prev_hash, from.hash, to);
    });
    const r = verifyAudit(store);
    expect(r.firstBroken!.seq).toBe(2);
    expect(r.firstBroken!.reason).toContain('removed, replaced or reordered');
  });

  it('GIVEN an append inside a failed transaction THEN neither the change nor the entry is kept', () => {
    store.db.exec('CREATE TABLE things (x INTEGER)');
    expect(() =>
      store.write(() => {
        store.db.prepare('INSERT INTO things VALUES (1)').run();
        appendAudit(store, { action: 'thing.add', outcome: 'ok' });
        throw new Error('crash before commit');
      }),
    ).toThrow('crash before commit');
    expect(verifyAudit(store).entries).toBe(5);
    expect((store.db.prepare('SELECT COUNT(*) AS n FROM things').get() as { n: number }).n).toBe(0);
  });

  it('GIVEN filters THEN readAudit returns matching entries in chain order', () => {
    appendAudit(store, { action: 'pki.revoke', outcome: 'ok', subject: 'serial-1' });
    expect([...readAudit(store, { action: 'pki.revoke' })].map((e) => e.subject)).toEqual(['serial-1']);
    expect([...readAudit(store, { since: new Date(Date.now() + 60_000) })]).toEqual([]);
  });
});
