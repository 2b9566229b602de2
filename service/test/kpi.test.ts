import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeKpis } from '../../fabric/index.js';
import { p256Csr, type AcmeClient } from '../../pki/acme/client.js';
import { Issuer, mlps3Applications } from '../../pki/index.js';
import { pkiLiveFacts } from '../../pki/operations.js';
import { applicationDnsName } from '../../stacks/index.js';
import { PASS, startFixture, type Fixture } from './fixture.js';

/**
 * The mlps3-certificates KPI counts applications whose certificate came from the service: what
 * cert-manager does for a site's Certificate (an account bound to the site, one name under the
 * site's zone) is done here with the in-process ACME client against a started `jinbao serve`.
 */
let f: Fixture;
let name: string;

beforeAll(async () => {
  f = await startFixture({ names: ['employee-insurance.s440100.jinbao.internal'] });
  name = applicationDnsName(f.ctx.fabric().site('440100'), 'employee-insurance');
});
afterAll(async () => {
  await f?.close();
});

async function obtain(c: AcmeClient, names: string[]): Promise<string> {
  const order = await c.newOrder(names);
  const ready = await c.authorize(order, (t, k) => f.challenges.tokens.set(t, k));
  expect(ready.status).toBe('ready');
  const fin = await c.finalize(ready, p256Csr(names, { noCommonName: true }).der);
  expect(fin.status, fin.body.toString()).toBe(200);
  return (await c.pollOrder(order.url, (s) => s === 'valid' || s === 'invalid')).certificate!;
}

const indicator = async () => computeKpis(f.ctx.fabric(), await pkiLiveFacts(f.ctx, f.ctx.fabric())).find((i) => i.id === 'mlps3-certificates')!;

describe('mlps3-certificates counts what the certificate service issued', () => {
  it('GIVEN a hand-issued server-tls certificate for an application THEN it does not count, and is listed as hand-issued', async () => {
    const fabric = f.ctx.fabric();
    await new Issuer(f.pki, fabric, PASS).issue({ profile: 'server-tls', site: '440100', generate: { subject: `CN=${name}` }, dns: [name], application: 'employee-insurance' });
    const apps = await mlps3Applications(f.pki, fabric);
    expect(apps.withCertificates).toBe(0);
    expect(apps.handIssued).toEqual(['440100/employee-insurance']);
    expect(await indicator()).toMatchObject({ numerator: 0, denominator: apps.total, source: 'pki' });
  });

  it("GIVEN an account bound to site 440100 only WHEN it obtains a certificate for the application's name in the site's zone THEN the record names the application and the KPI moves by one", async () => {
    const before = await indicator();
    const c = await f.account('440100');
    await obtain(c, [name]);
    const [record] = await f.pki.db.query<{ application: string | null; site: string }>(
      "SELECT application, site FROM pki_certificates WHERE serial IN (SELECT serial FROM acme_certificates) AND sans LIKE '%employee-insurance%'",
    );
    expect(record).toEqual({ application: 'employee-insurance', site: '440100' });
    const issued = (await f.audit('pki.issue')).filter((e) => e.outcome === 'ok').pop()!;
    expect(issued.actor).toMatch(/^acme:/);
    expect(await indicator()).toMatchObject({ numerator: before.numerator! + 1, denominator: before.denominator });
    expect((await mlps3Applications(f.pki, f.ctx.fabric())).handIssued).toEqual([]);
  });

  it('GIVEN names that are no application of the site THEN the certificate is issued but counts for no application', async () => {
    const before = (await indicator()).numerator;
    const c = await f.account('440100');
    await obtain(c, ['app.s440100.jinbao.internal']);
    expect((await indicator()).numerator).toBe(before);
  });
});
