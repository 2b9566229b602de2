/**
 * A site's joiners enrolled over CMP from its roster: `jinbao staff enroll --method cmp` writes the
 * enrollment stations' CSV, the stations run the real `openssl cmp -cmd ir` with each line against
 * `jinbao serve`, the staff indicator rises; an interrupted export resumes; holders still on the
 * roster renew with `openssl cmp -cmd kur`, a leaver's renewal is refused. The tests run in order.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { enrollJoinersCmp } from '../../staff/index.js';
import { idOf, rosterCsv, writeRoster, type Person } from '../../staff/test/fixtures.js';
import { PASS, startFixture, type Fixture } from './fixture.js';

function openssl(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => execFile('openssl', args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr })));
}

/** The stations' CSV as records (no field of it is quoted: names, references and URLs have no comma). */
function stationRows(file: string): Record<string, string>[] {
  const [head, ...lines] = readFileSync(file, 'utf8').trimEnd().split('\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

const person = (n: number, extra: Partial<Person> = {}): Person => ({ no: `GD-${String(n).padStart(4, '0')}`, name: `员工${n}`, id: idOf(n), email: `gd${n}@hrss.gd.gov.cn`, ...extra });

describe('jinbao staff enroll --method cmp, the stations\' openssl cmp, and renewal over kur', () => {
  let f: Fixture;
  let g: string[];
  const env = { JINBAO_PKI_PASSPHRASE: PASS };
  const file = (name: string) => join(f.dir, name);
  const out = () => file('stations');
  const cli = (...args: string[]) => runCli([...g, ...args], env);
  const importRoster = async (people: Person[], name: string) => expect((await cli('staff', 'import', '--site', '440100', writeRoster(f.dir, name, rosterCsv(people)))).code).toBe(0);
  const enroll = async (...extra: string[]) => {
    const r = await cli('staff', 'enroll', '--site', '440100', '--method', 'cmp', '--out', out(), '--json', ...extra);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as { file: string; cmpUrl: string; created: { staffNumber: string; reference: string }[]; recovered: string[]; pending: string[]; alreadyHolding: number };
  };
  const staffKpi = async () => (JSON.parse((await cli('kpi', '--json')).stdout) as { indicators: { id: string; numerator: number; denominator: number }[] }).indicators.find((i) => i.id === 'staff-certificates')!;
  const station = (row: Record<string, string>, name: string) =>
    openssl(['cmp', '-cmd', 'ir', '-server', row.cmp_url!, '-tls_used', '-tls_trusted', file('root.pem'), '-ref', row.reference!, '-secret', `pass:${row.secret}`, '-newkey', file(`${name}.key`), '-subject', row.subject!, '-certout', file(`${name}.pem`), '-extracertsout', file(`${name}-chain.pem`)]);

  beforeAll(async () => {
    f = await startFixture({ publicUrl: true });
    g = ['--inventory', join(f.dir, 'inventory.json'), '--state', join(f.dir, 'state')];
    writeFileSync(file('root.pem'), f.rootPem);
    for (const name of ['p1', 'p2', 'p1-renewed', 'p2-renewed']) {
      const r = await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(`${name}.key`)]);
      expect(r.code).toBe(0);
    }
  }, 60_000);
  afterAll(async () => f?.close());

  it('GIVEN bad input THEN enroll --method cmp refuses, says what to give, and creates no secret', async () => {
    const noRoster = await cli('staff', 'enroll', '--site', '440100', '--method', 'cmp', '--out', out());
    expect(noRoster.code).toBe(2);
    expect(noRoster.stderr).toContain('site 440100 has no roster: import one first (jinbao staff import --site 440100 FILE.csv)');
    await importRoster([person(1), person(2), person(3)], 'r1.csv');
    const method = await cli('staff', 'enroll', '--site', '440100', '--method', 'ca', '--out', out());
    expect(method.stderr).toContain('--method: got "ca", want cmp or p12');
    const days = await cli('staff', 'enroll', '--site', '440100', '--method', 'cmp', '--out', out(), '--days', '0');
    expect(days.code).toBe(2);
    expect(days.stderr).toContain('--days');
    const url = await cli('staff', 'enroll', '--site', '440100', '--method', 'cmp', '--out', out(), '--service-url', 'http://pki.jinbao.internal/cmp');
    expect(url.stderr).toContain('--service-url: got "http://pki.jinbao.internal/cmp", want an https:// URL with no path');
    const p12 = await cli('staff', 'enroll', '--site', '440100', '--method', 'p12', '--out', out(), '--service-url', 'https://pki.jinbao.internal');
    expect(p12.stderr).toContain('--service-url: got it with --method p12');
    expect((await f.audit('cmp.secret.create')).length).toBe(0);
    expect(existsSync(join(out(), 'cmp-secrets.csv'))).toBe(false);
  });

  it('GIVEN a roster of 3 THEN each gets a one-time secret in the stations\' CSV (0600), with the CMP URL of the service\'s --public-url, audited', async () => {
    const r = await enroll();
    expect(r.created.map((c) => c.staffNumber)).toEqual(['GD-0001', 'GD-0002', 'GD-0003']);
    expect(r.cmpUrl).toBe(`https://127.0.0.1:${f.running.service.port}/cmp/440100`);
    expect(r.file).toBe(join(out(), 'cmp-secrets.csv'));
    expect(statSync(r.file).mode & 0o777).toBe(0o600);
    const rows = stationRows(r.file);
    expect(Object.keys(rows[0]!)).toEqual(['reference', 'secret', 'site', 'staff_number', 'name', 'profile', 'subject', 'expires_at', 'cmp_url']);
    expect(rows.map((x) => [x.staff_number, x.name, x.profile, x.subject, x.cmp_url])).toEqual([1, 2, 3].map((n) => [`GD-000${n}`, `员工${n}`, 'staff-auth', `/CN=员工${n}/serialNumber=GD-000${n}`, r.cmpUrl]));
    const days = (Date.parse(rows[0]!.expires_at!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    const audited = await f.audit('cmp.secret.create');
    expect(audited.map((e) => e.details.staffNumber)).toEqual(['GD-0001', 'GD-0002', 'GD-0003']);
    expect(JSON.stringify(audited)).not.toContain(rows[0]!.secret!);
    expect((await f.audit('staff.enroll')).map((e) => e.details)).toEqual([{ method: 'cmp', created: 3, recovered: 0, pending: 0, file: r.file, cmpUrl: r.cmpUrl }]);
    expect(readdirSync(join(out(), 'cmp-staging'))).toEqual([]);
  });

  it('WHEN two people enroll at a station with their line (openssl cmp -cmd ir) THEN they hold staff certificates with their name and staff number, and the staff indicator rises by two', async () => {
    const before = await staffKpi();
    const rows = stationRows(join(out(), 'cmp-secrets.csv'));
    for (const [i, name] of [[0, 'p1'], [1, 'p2']] as const) {
      const r = await station(rows[i]!, name);
      expect(r.out).toContain('received PKICONF');
      const subject = (await openssl(['x509', '-in', file(`${name}.pem`), '-noout', '-subject', '-nameopt', 'utf8,sep_comma_plus_space'])).out;
      expect(subject).toContain(`serialNumber=GD-000${i + 1}, CN=员工${i + 1}`);
      expect((await openssl(['verify', '-CAfile', file('root.pem'), '-untrusted', file(`${name}-chain.pem`), file(`${name}.pem`)])).out).toContain(': OK');
    }
    // The same line again: the secret enrolls once.
    const again = await station(rows[0]!, 'p1-renewed');
    expect(again.out).toContain('PKIFailureInfo: notAuthorized');
    const after = await staffKpi();
    expect(after.numerator).toBe(before.numerator + 2);
    expect(after.denominator).toBe(before.denominator);
  });

  it('GIVEN a second run THEN holders and people with an unused secret get nothing new', async () => {
    const r = await enroll();
    expect(r).toMatchObject({ created: [], recovered: [], pending: ['GD-0003'], alreadyHolding: 2 });
    expect(stationRows(r.file)).toHaveLength(3);
  });

  it('GIVEN a run interrupted after a secret was recorded but before its line reached the CSV, and one before the commit THEN the first line is finished once and the second person gets a new secret', async () => {
    await importRoster([person(1), person(2), person(3), person(4)], 'r2.csv');
    const first = await enroll();
    expect(first.created.map((c) => c.staffNumber)).toEqual(['GD-0004']);
    // GD-0004: recorded, line still staged (the crash came after the commit).
    const csv = join(out(), 'cmp-secrets.csv');
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
    const line4 = lines.pop()!;
    writeFileSync(csv, `${lines.join('\n')}\n`);
    writeFileSync(join(out(), 'cmp-staging', `GD-0004.csv.partial-${first.created[0]!.reference}`), `${line4}\n`);
    // GD-0005: staged, never recorded (the crash came before the commit).
    await importRoster([person(1), person(2), person(3), person(4), person(5)], 'r3.csv');
    writeFileSync(join(out(), 'cmp-staging', 'GD-0005.csv.partial-440100-000000000000'), 'half');
    const resumed = await enroll();
    expect(resumed.recovered).toEqual(['GD-0004']);
    expect(resumed.created.map((c) => c.staffNumber)).toEqual(['GD-0005']);
    expect(resumed.created[0]!.reference).not.toBe('440100-000000000000');
    const rows = stationRows(csv);
    expect(rows.map((x) => x.staff_number)).toEqual(['GD-0001', 'GD-0002', 'GD-0003', 'GD-0004', 'GD-0005']);
    expect(rows[3]!.reference).toBe(first.created[0]!.reference);
    expect(readdirSync(join(out(), 'cmp-staging'))).toEqual([]);
    expect((await f.audit('cmp.secret.create')).map((e) => e.details.staffNumber)).toEqual(['GD-0001', 'GD-0002', 'GD-0003', 'GD-0004', 'GD-0005']);
  });

  it('GIVEN a secret that expired unused THEN the next run gives that person a new one', async () => {
    const later = new Date(Date.now() + 8 * 86_400_000);
    const r = await enrollJoinersCmp(f.ctx, f.ctx.fabric(), { site: '440100', out: file('stations-later'), serviceUrl: 'https://pki.jinbao.internal:8443', passphrase: async () => PASS, now: later });
    expect(r.created.map((c) => c.staffNumber)).toEqual(['GD-0003', 'GD-0004', 'GD-0005']);
    expect(r.cmpUrl).toBe('https://pki.jinbao.internal:8443/cmp/440100');
  });

  it('WHEN a holder still on the roster renews with openssl cmp -cmd kur THEN the new certificate is theirs and the old one is superseded', async () => {
    const rows = stationRows(join(out(), 'cmp-secrets.csv'));
    const r = await openssl(['cmp', '-cmd', 'kur', '-server', rows[0]!.cmp_url!, '-tls_used', '-tls_trusted', file('root.pem'), '-trusted', file('root.pem'), '-untrusted', file('p1-chain.pem'), '-cert', file('p1.pem'), '-key', file('p1.key'), '-newkey', file('p1-renewed.key'), '-certout', file('p1-renewed.pem')]);
    expect(r.out, r.out).toContain('received PKICONF');
    expect((await openssl(['x509', '-in', file('p1-renewed.pem'), '-noout', '-subject', '-nameopt', 'utf8,sep_comma_plus_space'])).out).toContain('serialNumber=GD-0001, CN=员工1');
    const serial = (await openssl(['x509', '-in', file('p1.pem'), '-noout', '-serial'])).out.trim().split('=')[1]!;
    const old = await f.pki.findCertificate(serial);
    expect([old?.status, old?.revocationReason]).toEqual(['revoked', 'superseded']);
    expect((await f.audit('cmp.kur')).map((e) => e.outcome)).toEqual(['ok']);
  });

  it('GIVEN GD-0002 left the roster THEN expiring --json marks them not renewable, and their kur is refused (notAuthorized, audited), nothing issued', async () => {
    await importRoster([person(1), person(2, { status: 'left' }), person(3), person(4), person(5)], 'r4.csv');
    const due = JSON.parse((await cli('staff', 'expiring', '--within', '400d', '--site', '440100', '--json')).stdout) as { generatedAt: string; certificates: { staffNumber: string; renewable: boolean; onRoster: boolean; email: string | null; cmpUrl: string; issuer: string; renewsFrom: string }[] };
    expect(Date.parse(due.generatedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(due.certificates.map((c) => [c.staffNumber, c.renewable, c.email, c.cmpUrl, c.renewsFrom])).toEqual([
      ['GD-0002', false, 'gd2@hrss.gd.gov.cn', `https://127.0.0.1:${f.running.service.port}/cmp/440100`, 'province-440000-staff'],
      ['GD-0001', true, 'gd1@hrss.gd.gov.cn', `https://127.0.0.1:${f.running.service.port}/cmp/440100`, 'province-440000-staff'],
    ]);
    const before = await f.certificates();
    const rows = stationRows(join(out(), 'cmp-secrets.csv'));
    const r = await openssl(['cmp', '-cmd', 'kur', '-server', rows[1]!.cmp_url!, '-tls_used', '-tls_trusted', file('root.pem'), '-trusted', file('root.pem'), '-untrusted', file('p2-chain.pem'), '-cert', file('p2.pem'), '-key', file('p2.key'), '-newkey', file('p2-renewed.key'), '-certout', file('p2-renewed.pem')]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('PKIFailureInfo: notAuthorized');
    expect(r.out).toContain('staff number GD-0002 is marked left on site 440100');
    expect(await f.certificates()).toBe(before);
    const refused = (await f.audit('cmp.kur')).filter((e) => e.outcome === 'refused');
    expect(refused.map((e) => e.details.failInfo)).toEqual(['notAuthorized']);
    expect(String(refused[0]!.details.reason)).toContain('a leaver\'s certificate is revoked by jinbao staff sync, not renewed');
  });
});
