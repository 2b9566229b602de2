import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { openDatabase } from '../../lib/sql/index.js';
import { inventoryFile } from '../../pki/test/helpers.js';
import { csvRecords, decodeRoster, importRoster, maskIdentifier, parseRoster, StaffStore } from '../index.js';
import { idOf, rosterCsv, writeRoster, type Person } from './fixtures.js';
import { validateInventory } from '../../fabric/index.js';
import { smallInventory } from '../../testkit/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'jinbao-staff-'));
  dirs.push(dir);
  const g = ['--inventory', inventoryFile(dir), '--state', join(dir, 'state')];
  return { dir, g };
}

const people: Person[] = [
  { no: 'GD-0001', name: '张三' },
  { no: 'GD-0002', name: '李四' },
  { no: 'GD-0003', name: '王五', email: 'wangwu@hrss.gd.gov.cn' },
];

describe('CSV records of a roster', () => {
  it('GIVEN plain lines, quoted fields (commas, doubled quotes, newlines), CRLF, lone CR and blank lines THEN each record has its fields and the line it starts on', () => {
    const text = 'a,b,c\r\n\n"x, y","say ""hi""",z\r"multi\nline",2,\n""x,y\np,"q"\n,\nlast,no newline';
    expect(csvRecords(text)).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 3, fields: ['x, y', 'say "hi"', 'z'] },
      { line: 4, fields: ['multi\nline', '2', ''] },
      { line: 6, fields: ['x', 'y'] },
      { line: 7, fields: ['p', 'q'] },
      { line: 8, fields: ['', ''] },
      { line: 9, fields: ['last', 'no newline'] },
    ]);
    expect(csvRecords('')).toEqual([]);
    expect(csvRecords('\n\n')).toEqual([]);
    expect(csvRecords('one')).toEqual([{ line: 1, fields: ['one'] }]);
  });
});

describe('jinbao staff template', () => {
  it('prints the documented header, with the site column for a whole-nation file', async () => {
    expect((await runCli(['staff', 'template'])).stdout).toBe('staff_number,name,identity_code,insurance_number,department,email,status\n');
    expect((await runCli(['staff', 'template', '--nation'])).stdout).toBe('site,staff_number,name,identity_code,insurance_number,department,email,status\n');
  });
});

describe('jinbao staff import', () => {
  it('GIVEN a first roster THEN everyone is a joiner; GIVEN the next month THEN joiners, leavers and changes are printed', async () => {
    const { dir, g } = setup();
    const first = await runCli([...g, 'staff', 'import', '--site', '440100', writeRoster(dir, 'm1.csv', rosterCsv(people))]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('site 440100: 3 on the roster (first import); 3 joiner(s), 0 leaver(s), 0 changed, 0 unchanged');
    const next: Person[] = [
      { no: 'GD-0001', name: '张三' },
      { no: 'GD-0003', name: '王五', dept: '信息中心', email: 'wangwu@hrss.gd.gov.cn', id: idOf(3) },
      { no: 'GD-0004', name: '赵六', id: idOf(4) },
    ];
    // idOf(i+1) keeps person 1's code; person 3 is third in both files.
    const m2 = writeRoster(dir, 'm2.csv', rosterCsv([next[0]!, { ...next[1]! }, next[2]!].map((p, i) => ({ ...p, id: p.id ?? idOf(i + 1) }))));
    const dry = await runCli([...g, 'staff', 'import', '--site', '440100', m2, '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const d = JSON.parse(dry.stdout) as { applied: boolean; sites: { joiners: { staffNumber: string }[]; leavers: { staffNumber: string }[]; changed: { staffNumber: string; fields: string[] }[] }[] };
    expect(d.applied).toBe(false);
    expect(d.sites[0]!.joiners.map((p) => p.staffNumber)).toEqual(['GD-0004']);
    expect(d.sites[0]!.leavers.map((p) => p.staffNumber)).toEqual(['GD-0002']);
    expect(d.sites[0]!.changed).toEqual([{ staffNumber: 'GD-0003', name: '王五', fields: ['department'] }]);
    // The dry run recorded nothing: the real import shows the same difference.
    const real = await runCli([...g, 'staff', 'import', '--site', '440100', m2]);
    expect(real.stdout).toContain('site 440100: 3 on the roster; 1 joiner(s), 1 leaver(s), 1 changed, 1 unchanged');
    expect(real.stdout).toContain('+ GD-0004 赵六');
    expect(real.stdout).toContain('- GD-0002 李四');
    expect(real.stdout).toContain('~ GD-0003 王五: department');
    const again = await runCli([...g, 'staff', 'import', '--site', '440100', m2]);
    expect(again.stdout).toContain('0 joiner(s), 0 leaver(s), 0 changed, 3 unchanged');
  });

  it('recognises a renumbered person by the identity code: a change, not a leaver and a joiner', async () => {
    const { dir, g } = setup();
    await runCli([...g, 'staff', 'import', '--site', '440100', writeRoster(dir, 'a.csv', rosterCsv([{ no: 'OLD-0001', name: '张三', id: idOf(7) }]))]);
    const r = await runCli([...g, 'staff', 'import', '--site', '440100', writeRoster(dir, 'b.csv', rosterCsv([{ no: 'NEW-0001', name: '张三', id: idOf(7) }])), '--json']);
    const d = JSON.parse(r.stdout) as { sites: { joiners: unknown[]; leavers: unknown[]; changed: unknown[] }[] };
    expect(d.sites[0]).toMatchObject({ joiners: [], leavers: [], changed: [{ staffNumber: 'NEW-0001', fields: ['staff_number'], previousNumber: 'OLD-0001' }] });
  });

  it('GIVEN a roster with a duplicate, a bad check character, a bad status and a row of another site THEN each is named with its line, exit 2, nothing recorded', async () => {
    const { dir, g } = setup();
    const bad = idOf(2).slice(0, 17) + (idOf(2).endsWith('0') ? '1' : '0');
    const file = writeRoster(
      dir,
      'bad.csv',
      rosterCsv([
        { no: 'GD-0001', name: '张三' },
        { no: 'GD-0001', name: '李四' },
        { no: 'GD-0003', name: '王五', id: bad },
        { no: 'GD-0004', name: '赵六', status: 'retired' },
      ]) + `GD-0005,钱七,${idOf(9)},,办公室,,active,extra\n`,
    );
    const r = await runCli([...g, 'staff', 'import', '--site', '440100', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`roster ${file} refused: 4 problems; nothing was imported`);
    expect(r.stderr).toContain(`${file}:3: staff_number: got "GD-0001" again (first on line 2), want each staff number once per site`);
    expect(r.stderr).toContain(`${file}:4: identity_code: got "${maskIdentifier(bad)}" (masked), want 18 characters: 17 digits and the GB 11643 check character`);
    expect(r.stderr).not.toContain(bad);
    expect(r.stderr).toContain(`${file}:5: status: got "retired", want active or left`);
    expect(r.stderr).toContain(`${file}:6: row: got 8 fields, want 7 (as many as the header)`);
    const nation = writeRoster(dir, 'n.csv', rosterCsv([{ no: 'GD-0001', name: '张三', site: '440300' }], true));
    const other = await runCli([...g, 'staff', 'import', '--site', '440100', nation]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`${nation}:2: site: got "440300", want "440100" (the file is the roster of --site 440100`);
    const db = await openDatabase(join(dir, 'state'));
    try {
      const staff = await StaffStore.open(db);
      expect((await staff.roster('440100')).size).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('GIVEN a roster without the email column THEN the header problem names it', async () => {
    const { dir, g } = setup();
    const file = writeRoster(dir, 'h.csv', 'staff_number,name,identity_code,insurance_number,department,status\n');
    const r = await runCli([...g, 'staff', 'import', '--site', '440100', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:1: header: missing column "email"`);
  });

  it('GIVEN a GB 18030 file THEN it is refused as GB 18030 with the conversion command and the line of the first such byte', () => {
    const text = rosterCsv([{ no: 'GD-0001', name: '张三' }]);
    const gb = Buffer.concat([Buffer.from(text.split('\n')[0]! + '\nGD-0001,'), Buffer.from([0xd5, 0xc5, 0xc8, 0xfd]), Buffer.from(`,${idOf(1)},,x,,active\n`)]);
    const r = decodeRoster(gb, 'hr.csv');
    expect(r).toEqual({ problem: { line: 2, message: 'encoding: got GB 18030 (bytes d5 c5), want UTF-8; convert it with: iconv -f GB18030 -t UTF-8 hr.csv > roster.utf8.csv' } });
    expect(decodeRoster(Buffer.from(`\ufeff${text}`), 'x.csv')).toEqual({ text });
  });

  it('GIVEN a whole-nation roster THEN each site gets its roster and its own difference; an unknown site is named', async () => {
    const { dir, g } = setup();
    const file = writeRoster(dir, 'nation.csv', rosterCsv([{ no: 'GD-0001', name: '张三', site: '440100' }, { no: 'SZ-0001', name: '李四', site: '440300' }, { no: 'GD-0002', name: '王五', site: '440100' }], true));
    const r = await runCli([...g, 'staff', 'import', file, '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as { scope: string; sites: { site: string; total: number }[] };
    expect(d.scope).toBe('nation');
    expect(d.sites.map((s) => [s.site, s.total])).toEqual([['440100', 2], ['440300', 1]]);
    const unknown = writeRoster(dir, 'u.csv', rosterCsv([{ no: 'GD-0001', name: '张三', site: '999999' }], true));
    const u = await runCli([...g, 'staff', 'import', unknown]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain(`${unknown}:2: site: got "999999", want a site of the inventory`);
    const noSite = await runCli([...g, 'staff', 'import', writeRoster(dir, 's.csv', rosterCsv([{ no: 'GD-0001', name: '张三' }]))]);
    expect(noSite.stderr).toContain('header: got no "site" column, want one in a whole-nation roster');
  });

  it('GIVEN an import interrupted half-way through writing THEN the previous roster is intact', async () => {
    const { dir } = setup();
    const fabric = validateInventory(smallInventory(), 'small').fabric!;
    const db = await openDatabase(join(dir, 'state'));
    try {
      const state = { stateDir: join(dir, 'state'), hasStore: () => true, database: async () => db };
      await importRoster(state, fabric, { file: writeRoster(dir, 'a.csv', rosterCsv(people)), site: '440100' });
      const many = Array.from({ length: 2500 }, (_, i) => ({ no: `GD-${String(i + 10).padStart(5, '0')}`, name: `员工${i}`, id: idOf(i % 999) }));
      const file = writeRoster(dir, 'big.csv', rosterCsv(many));
      await expect(
        importRoster(state, fabric, {
          file,
          site: '440100',
          written: (n) => {
            if (n >= 2000) throw new Error('power cut');
          },
        }),
      ).rejects.toThrow('power cut');
      const staff = await StaffStore.open(db);
      expect([...(await staff.roster('440100')).keys()].sort()).toEqual(['GD-0001', 'GD-0002', 'GD-0003']);
    } finally {
      await db.close();
    }
  });

  it('keeps identity codes only hashed and masked', () => {
    const r = parseRoster(rosterCsv([{ no: 'GD-0001', name: '张三', id: idOf(5) }]), { site: '440100', siteExists: () => true, hashKey: Buffer.alloc(32, 1) });
    expect(r.entries[0]!.identityMasked).toBe(maskIdentifier(idOf(5)));
    expect(r.entries[0]!.identityMasked).toMatch(/^440\*{11}\d{3}[\dX]$/);
    expect(JSON.stringify(r.entries)).not.toContain(idOf(5));
  });
});

describe('staff refusals under --lang zh-CN', () => {
  it('GIVEN a roster file that cannot be read, an unknown site and a site without a roster THEN each refusal is Chinese under zh-CN, English otherwise, exit 2', async () => {
    const { dir, g } = setup();
    const missing = join(dir, 'nope.csv');
    const zh = await runCli([...g, '--lang', 'zh-CN', 'staff', 'import', '--site', '440100', missing]);
    expect(zh.code).toBe(2);
    expect(zh.stderr).toBe(`jinbao: 花名册 ${missing}：无法读取（ENOENT）；应为可读的 CSV 文件\n`);
    const en = await runCli([...g, 'staff', 'import', '--site', '440100', missing]);
    expect(en.code).toBe(2);
    expect(en.stderr).toBe(`jinbao: roster ${missing}: cannot read it (ENOENT); want a readable CSV file\n`);
    const noRoster = await runCli([...g, '--lang', 'zh-CN', 'staff', 'sync', '--site', '440100']);
    expect(noRoster.code).toBe(2);
    expect(noRoster.stderr).toBe('jinbao: 站点 440100 还没有花名册：请先导入（jinbao staff import --site 440100 文件.csv）\n');
  });
});
