import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { readAudit } from '../../lib/audit.js';
import { openDatabase } from '../../lib/sql/index.js';
import { inventoryFile, mustOpenssl, openssl, PASS } from '../../pki/test/helpers.js';
import { PkiStore } from '../../pki/index.js';
import { Registry } from 'prom-client';
import { registerStaffMetrics } from '../index.js';
import { idOf, rosterCsv, writeRoster, type Person } from './fixtures.js';

const env = { JINBAO_PKI_PASSPHRASE: PASS };
let dir: string;
let g: string[];
const cli = (args: string[]) => runCli([...g, ...args], env);
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jinbao-staff-sync-'));
  g = ['--inventory', inventoryFile(dir), '--state', join(dir, 'state')];
  expect((await cli(['pki', 'init'])).code).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const people = (n: number, from = 1): Person[] => Array.from({ length: n }, (_, i) => ({ no: `GD-${String(i + from).padStart(4, '0')}`, name: `员工${i + from}`, id: idOf(i + from) }));
const handoutPassword = (file: string) => /password \/ 口令: (\S+)/.exec(readFileSync(file, 'utf8'))![1]!;

async function staffCerts(site: string) {
  const db = await openDatabase(join(dir, 'state'));
  try {
    const pki = await PkiStore.open(db, join(dir, 'state'));
    return (await pki.listCertificates({ site })).filter((c) => c.profile === 'staff-auth');
  } finally {
    await db.close();
  }
}

describe('jinbao staff enroll, then sync, on site 440300', () => {
  const out = () => join(dir, 'handout');

  it('refuses --method cmp without the service\'s URL (no --service-url, no jinbao serve --public-url recorded), and a site without a roster', async () => {
    const cmp = await cli(['staff', 'enroll', '--site', '440300', '--method', 'cmp', '--out', out()]);
    expect(cmp.code).toBe(2);
    expect(cmp.stderr).toContain('--service-url: got none, and no jinbao serve was started with --public-url on this state; want the https:// URL the enrollment stations reach the certificate service at');
    const cmpNoRoster = await cli(['staff', 'enroll', '--site', '440300', '--method', 'cmp', '--out', out(), '--service-url', 'https://pki.jinbao.internal:8443']);
    expect(cmpNoRoster.stderr).toContain('site 440300 has no roster: import one first');
    const none = await cli(['staff', 'enroll', '--site', '440300', '--method', 'p12', '--out', out()]);
    expect(none.stderr).toContain('site 440300 has no roster: import one first (jinbao staff import --site 440300 FILE.csv)');
  });

  it('GIVEN a roster of 10 THEN each gets a bundle that OpenSSL opens with the password of a separate handout, and the chain verifies', async () => {
    const list = people(10);
    expect((await cli(['staff', 'import', '--site', '440300', writeRoster(dir, 'r1.csv', rosterCsv(list.map((p, i) => ({ ...p, site: '440300', email: i === 0 ? 'gd1@hrss.gd.gov.cn' : '' }))))])).code).toBe(0);
    const r = await cli(['staff', 'enroll', '--site', '440300', '--method', 'p12', '--out', out(), '--json']);
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout) as { enrolled: { staffNumber: string; bundle: string; handout: string }[]; alreadyHolding: number };
    expect(res.enrolled).toHaveLength(10);
    const first = res.enrolled[0]!;
    expect(first.bundle).toBe(join(out(), 'bundles', 'GD-0001.p12'));
    const pem = join(dir, 'gd1.pem');
    mustOpenssl(['pkcs12', '-in', first.bundle, '-passin', `pass:${handoutPassword(first.handout)}`, '-nodes', '-out', pem]);
    const text = mustOpenssl(['x509', '-in', pem, '-noout', '-subject', '-ext', 'subjectAltName,extendedKeyUsage']);
    expect(text).toContain('serialNumber = GD-0001');
    const pass = `pass:${handoutPassword(first.handout)}`;
    mustOpenssl(['pkcs12', '-in', first.bundle, '-passin', pass, '-clcerts', '-nokeys', '-out', join(dir, 'leaf.pem')]);
    mustOpenssl(['pkcs12', '-in', first.bundle, '-passin', pass, '-cacerts', '-nokeys', '-out', join(dir, 'cas.pem')]);
    expect(mustOpenssl(['verify', '-CAfile', join(dir, 'cas.pem'), '-purpose', 'sslclient', join(dir, 'leaf.pem')])).toContain(': OK');
    expect(text).toContain('email:gd1@hrss.gd.gov.cn');
    expect(text).toContain('TLS Web Client Authentication');
    expect(openssl(['pkcs12', '-in', first.bundle, '-passin', 'pass:wrong-password-123', '-nokeys']).code).not.toBe(0);
    expect(readFileSync(first.handout, 'utf8')).not.toContain(idOf(1));
    const again = JSON.parse((await cli(['staff', 'enroll', '--site', '440300', '--method', 'p12', '--out', out(), '--json'])).stdout) as { enrolled: unknown[]; alreadyHolding: number };
    expect(again).toMatchObject({ enrolled: [], alreadyHolding: 10 });
  });

  it('GIVEN a crash after a certificate was recorded but before its files were renamed, and one before the commit THEN the first is finished without a second certificate and the second enrolled anew', async () => {
    expect((await cli(['staff', 'import', '--site', '440300', writeRoster(dir, 'r2.csv', rosterCsv(people(12)))])).code).toBe(0);
    const r = JSON.parse((await cli(['staff', 'enroll', '--site', '440300', '--method', 'p12', '--out', out(), '--json'])).stdout) as { enrolled: { staffNumber: string; serial: string; bundle: string; handout: string }[] };
    expect(r.enrolled.map((e) => e.staffNumber)).toEqual(['GD-0011', 'GD-0012']);
    // GD-0011: recorded, files still under their staging names (the crash came after the commit).
    const e11 = r.enrolled[0]!;
    renameSync(e11.bundle, `${e11.bundle}.partial-${e11.serial}`);
    renameSync(e11.handout, `${e11.handout}.partial-${e11.serial}`);
    // GD-0013: staged, never recorded (the crash came before the commit).
    expect((await cli(['staff', 'import', '--site', '440300', writeRoster(dir, 'r3.csv', rosterCsv(people(13)))])).code).toBe(0);
    writeFileSync(join(out(), 'bundles', 'GD-0013.p12.partial-0abc'), 'half');
    writeFileSync(join(out(), 'handouts', 'GD-0013.txt.partial-0abc'), 'half');
    const resumed = JSON.parse((await cli(['staff', 'enroll', '--site', '440300', '--method', 'p12', '--out', out(), '--json'])).stdout) as { enrolled: { staffNumber: string }[]; recovered: string[] };
    expect(resumed.recovered).toEqual(['GD-0011']);
    expect(resumed.enrolled.map((e) => e.staffNumber)).toEqual(['GD-0013']);
    expect(existsSync(e11.bundle) && existsSync(e11.handout)).toBe(true);
    expect(readdirSync(join(out(), 'bundles')).filter((f) => f.includes('partial'))).toEqual([]);
    expect((await staffCerts('440300')).filter((c) => c.staffNumber === 'GD-0011')).toHaveLength(1);
  });

  it('GIVEN a leaver, a renamed person and a renumbered one THEN sync without --yes and no terminal refuses; with --yes it revokes, re-issues and audits each person', async () => {
    const list = people(13);
    list.splice(1, 1); // GD-0002 leaves
    list[1] = { ...list[1]!, name: '新名字' }; // GD-0003 renamed
    list[2] = { ...list[2]!, no: 'SZ-0004' }; // GD-0004 renumbered (same identity code)
    expect((await cli(['staff', 'import', '--site', '440300', writeRoster(dir, 'r4.csv', rosterCsv(list.map((p, i) => ({ ...p, id: p.id ?? idOf(i + 1) }))))])).code).toBe(0);
    const noYes = await cli(['staff', 'sync', '--site', '440300']);
    expect(noYes.code).toBe(2);
    expect(noYes.stdout).toContain('site 440300: 13 staff certificate(s); 1 to revoke (leavers), 2 to re-issue (changed), 0 superseded already; 23.1% revoked');
    expect(noYes.stderr).toContain('sync of site 440300 refused: it would revoke 3 of 13 staff certificates (23.1%), more than 20%');
    const noTty = await cli(['staff', 'sync', '--site', '440300', '--max-revocation-share', '30']);
    expect(noTty.stderr).toContain('got no terminal to ask on and no --yes, want --yes');
    const noOut = await cli(['staff', 'sync', '--site', '440300', '--yes', '--confirm-mass-revocation']);
    expect(noOut.stderr).toContain('2 certificate(s) need re-issuing (changed name or number), want --out DIR');
    const r = await cli(['staff', 'sync', '--site', '440300', '--yes', '--confirm-mass-revocation', '--out', join(dir, 'reissue'), '--json']);
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout) as { revoked: { staffNumber: string; reason: string }[]; issued: { staffNumber: string; bundle: string }[] };
    expect(res.revoked.map((x) => [x.staffNumber, x.reason]).sort()).toEqual([['GD-0002', 'affiliationChanged'], ['GD-0003', 'superseded'], ['GD-0004', 'superseded']]);
    expect(res.issued.map((x) => x.staffNumber).sort()).toEqual(['GD-0003', 'SZ-0004']);
    const certs = await staffCerts('440300');
    expect(certs.filter((c) => c.status === 'active' && c.staffNumber === 'GD-0003').map((c) => c.commonName)).toEqual(['新名字']);
    expect(certs.filter((c) => c.status === 'active' && c.staffNumber === 'GD-0002')).toEqual([]);
    const db = await openDatabase(join(dir, 'state'));
    try {
      const audit = await readAudit(db, {});
      expect(audit.filter((e) => e.action === 'staff.leaver').map((e) => e.subject)).toEqual(['440300/GD-0002']);
      expect(audit.filter((e) => e.action === 'staff.reissue').map((e) => e.subject).sort()).toEqual(['440300/GD-0003', '440300/SZ-0004']);
    } finally {
      await db.close();
    }
    const second = await cli(['staff', 'sync', '--site', '440300']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 to revoke (leavers), 0 to re-issue (changed), 0 superseded already');
  });

  it('lists staff certificates expiring within a window, soonest first, with whether the holder is still on the roster', async () => {
    const none = JSON.parse((await cli(['staff', 'expiring', '--within', '30d', '--json'])).stdout) as { certificates: unknown[] };
    expect(none.certificates).toEqual([]);
    const r = await cli(['staff', 'expiring', '--within', '400d', '--site', '440300', '--json']);
    const list = (JSON.parse(r.stdout) as { withinDays: number; certificates: { staffNumber: string; daysLeft: number; onRoster: boolean }[] }).certificates;
    expect(list.length).toBe(12);
    expect(list.every((c) => c.onRoster && c.daysLeft >= 364 && c.daysLeft <= 365)).toBe(true);
    expect(list.map((c) => c.staffNumber)).not.toContain('GD-0002');
    const human = await cli(['staff', 'expiring', '--within', '400d']);
    expect(human.stdout).toContain('12 staff certificate(s) expire within 400 days');
    const bad = await cli(['staff', 'expiring', '--within', '30']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--within: got "30", want a number of days such as 30d');
  });

  it('GIVEN a production PKI and a roster for 440300 THEN the staff KPI counts that site from its roster and says which source each figure came from', async () => {
    const r = await cli(['kpi', '--json']);
    expect(r.code).toBe(0);
    const staff = (JSON.parse(r.stdout) as { indicators: { id: string; source: string; numerator: number; denominator: number; provenance: string }[] }).indicators.find((i) => i.id === 'staff-certificates')!;
    const sites = (JSON.parse(readFileSync(join(dir, 'inventory.json'), 'utf8')) as { sites: { id: string; staff: { total: number } }[] }).sites;
    const others = sites.filter((s) => s.id !== '440300').reduce((n, s) => n + s.staff.total, 0);
    expect(staff.source).toBe(`pki; staff: rosters for 1 site(s), inventory figures for ${sites.length - 1}`);
    expect(staff.numerator).toBe(12);
    expect(staff.denominator).toBe(12 + others);
    expect(staff.provenance).toBe('declared');
  });

  it('GIVEN the same state THEN jinbao kpi breaks the staff indicator down by province, each with its sites and the source of each figure, adding up to the national one', async () => {
    const r = await cli(['kpi', '--json']);
    const out = JSON.parse(r.stdout) as {
      indicators: { id: string; numerator: number; denominator: number }[];
      staffByProvince: { indicator: string; target: { op: string; value: number }; provinces: { province: string; tier: string; staff: number; holders: number; actual: number; status: string; fromRoster: { sites: number; staff: number; holders: number }; fromInventory: { sites: number; staff: number; sample: boolean }; sites: { site: string; staff: number; holders: number; source: string }[] }[] };
    };
    const national = out.indicators.find((i) => i.id === 'staff-certificates')!;
    const b = out.staffByProvince;
    expect(b).toMatchObject({ indicator: 'staff-certificates', target: { op: '>', value: 70 } });
    expect(b.provinces.reduce((n, p) => n + p.staff, 0)).toBe(national.denominator);
    expect(b.provinces.reduce((n, p) => n + p.holders, 0)).toBe(national.numerator);
    const sites = (JSON.parse(readFileSync(join(dir, 'inventory.json'), 'utf8')) as { sites: { id: string; tier: string; parent?: string; staff: { total: number } }[] }).sites;
    const gd = b.provinces.find((p) => p.province === '440000')!;
    const gdSites = sites.filter((s) => s.id === '440000' || s.parent === '440000');
    expect(gd.sites.map((s) => s.site).sort()).toEqual(gdSites.map((s) => s.id).sort());
    expect(gd.sites.find((s) => s.site === '440300')).toEqual({ site: '440300', name: expect.any(String), staff: 12, holders: 12, actual: 100, source: 'roster' });
    expect(gd.fromRoster).toEqual({ sites: 1, staff: 12, holders: 12 });
    expect(gd.fromInventory).toMatchObject({ sites: gdSites.length - 1, staff: gdSites.filter((s) => s.id !== '440300').reduce((n, s) => n + s.staff.total, 0), sample: false });
    expect(gd.actual).toBe(Math.round((gd.holders / gd.staff) * 1000) / 10);
    expect(gd.status).toBe(gd.holders / gd.staff > 0.7 ? 'met' : 'not-met');
    expect(b.provinces.find((p) => p.tier === 'ministry')?.province).toBe('000000');
    expect(b.provinces.every((p) => p.sites.every((s) => s.source === (s.site === '440300' ? 'roster' : 'inventory')))).toBe(true);

    const text = await cli(['kpi']);
    expect(text.stdout).toContain('Staff using digital certificates, by province (target > 70%):');
    expect(text.stdout).toMatch(new RegExp(`\\n440000 +.+? +${gd.staff} +${gd.holders} +${gd.actual.toFixed(1)}% +${gd.status} +rosters: 1 site\\(s\\); inventory figures: ${gdSites.length - 1} site\\(s\\)\\n`));
    const zh = await runCli([...g, '--lang', 'zh-CN', 'kpi'], env);
    expect(zh.stdout).toContain('业务人员数字证书使用率，按省（目标 > 70%）：');
    expect(zh.stdout).toContain('花名册：1 个站点；资源清单数字：');
  });

  it('exports, per site, the staff certificates due for renewal whose holders are still on the roster', async () => {
    const db = await openDatabase(join(dir, 'state'));
    try {
      const state = { stateDir: join(dir, 'state'), hasStore: () => true, database: async () => db };
      const now = new Registry();
      registerStaffMetrics(now, state);
      expect(await now.metrics()).not.toMatch(/jinbao_staff_renewals_due_30d\{/);
      const later = new Registry();
      registerStaffMetrics(later, state, () => new Date(Date.now() + 340 * 86_400_000));
      expect(await later.metrics()).toContain('jinbao_staff_renewals_due_30d{site="440300"} 12');
    } finally {
      await db.close();
    }
  });
});
