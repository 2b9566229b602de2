import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { validateInventory } from '../../fabric/index.js';
import { openDatabase } from '../../lib/sql/index.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';
import { inventoryFile } from '../../pki/test/helpers.js';
import { smallInventory } from '../../testkit/index.js';
import { importRoster, StaffStore } from '../index.js';
import { idOf, rosterCsv, writeRoster } from './fixtures.js';

const missing = postgresMissing();
let server: PostgresServer | undefined;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jinbao-staff-pg-'));
  if (missing === undefined) {
    server = await startPostgres({ prefix: 'jinbao-staff-pg-' });
    await server.sql('CREATE DATABASE staff');
  }
}, 120_000);
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(missing !== undefined)(`rosters on PostgreSQL${missing ? ` (${missing})` : ''}`, () => {
  it('GIVEN two monthly imports THEN the second prints the difference; an interrupted third leaves the second intact', async () => {
    const url = server!.url({ dbname: 'staff', sslmode: 'disable' });
    const g = ['--inventory', inventoryFile(dir), '--state', url];
    const month = (n: number, from: number) => Array.from({ length: n }, (_, i) => ({ no: `GD-${String(from + i).padStart(5, '0')}`, name: `员工${from + i}`, id: idOf(((from + i) % 999) + 1) }));
    expect((await runCli([...g, 'staff', 'import', '--site', '440100', writeRoster(dir, 'a.csv', rosterCsv(month(100, 1)))])).code).toBe(0);
    const second = await runCli([...g, 'staff', 'import', '--site', '440100', writeRoster(dir, 'b.csv', rosterCsv(month(100, 11))), '--json']);
    expect(second.stderr).toBe('');
    const d = (JSON.parse(second.stdout) as { sites: { joiners: unknown[]; leavers: unknown[] }[] }).sites[0]!;
    expect([d.joiners.length, d.leavers.length]).toEqual([10, 10]);
    const fabric = validateInventory(smallInventory(), 'small').fabric!;
    const db = await openDatabase(url);
    try {
      const state = { stateDir: dir, hasStore: () => true, database: async () => db };
      await expect(
        importRoster(state, fabric, {
          file: writeRoster(dir, 'c.csv', rosterCsv(month(3000, 500))),
          site: '440100',
          written: (n) => {
            if (n >= 2000) throw new Error('connection lost');
          },
        }),
      ).rejects.toThrow('connection lost');
      const roster = await (await StaffStore.open(db)).roster('440100');
      expect(roster.size).toBe(100);
      expect(roster.has('GD-00011') && roster.has('GD-00110') && !roster.has('GD-00001')).toBe(true);
    } finally {
      await db.close();
    }
  }, 120_000);
});
