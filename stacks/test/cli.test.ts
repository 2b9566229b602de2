import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { tempDir } from '../../testkit/index.js';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.js';
import { smallInventory } from './inventory.js';

let dir: string;
let cleanup: () => void;
let inventory: string;
const cli = (...args: string[]) => runCli(['--inventory', inventory, '--state', join(dir, 'state'), ...args]);

beforeAll(() => {
  ({ dir, cleanup } = tempDir('jinbao-stacks-cli-'));
  inventory = join(dir, 'inventory.json');
  writeFileSync(inventory, JSON.stringify(smallInventory()));
});
afterAll(() => cleanup());

describe('jinbao manifests', () => {
  it('GIVEN a site WHEN printed as YAML THEN it is a multi-document stream kubectl takes', async () => {
    const r = await cli('manifests', '--site', '440100');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    expect(docs[0]).toMatchObject({ kind: 'ClusterRole', metadata: { name: 'jinbao-system-admin' } });
    expect(docs.filter((d) => d.kind === 'Namespace').map((d) => d.metadata.name)).toContain('employee-insurance');
  });

  it('GIVEN --format json THEN it is one JSON array', async () => {
    const r = await cli('manifests', '--site', '610000', '--format', 'json');
    expect((JSON.parse(r.stdout) as { metadata: { name: string } }[]).some((o) => o.metadata.name === 'dr-000000-exchange')).toBe(true);
  });

  it('GIVEN a bad format or an unknown site THEN exit 2 with the reason', async () => {
    const bad = await cli('manifests', '--site', '440100', '--format', 'xml');
    expect([bad.code, bad.stderr]).toEqual([2, 'jinbao: --format: got "xml", want one of yaml, json\n']);
    const unknown = await cli('manifests', '--site', '123456');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no site "123456" in');
  });

  it('GIVEN a trust bundle file with a private key THEN it is refused', async () => {
    const pem = join(dir, 'bundle.pem');
    writeFileSync(pem, '-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n');
    const r = await cli('manifests', '--site', '440100', '--trust-bundle', pem);
    expect([r.code, r.stderr]).toEqual([2, `jinbao: ${pem} contains a private key; a trust bundle holds public CA certificates only, never key material\n`]);
  });

  it('GIVEN a trust bundle file of certificates THEN the ConfigMaps carry them', async () => {
    const pem = join(dir, 'cas.pem');
    const cert = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n-----END CERTIFICATE-----';
    writeFileSync(pem, `${cert}\n${cert}\n`);
    const r = await cli('manifests', '--site', '440100', '--trust-bundle', pem, '--format', 'json');
    const cm = (JSON.parse(r.stdout) as { kind: string; data?: Record<string, string> }[]).find((o) => o.kind === 'ConfigMap')!;
    expect(cm.data!['ca-bundle.pem']).toBe(`${cert}\n${cert}\n`);
  });
});

describe('jinbao synth', () => {
  it('GIVEN the default engine THEN every site is written to cdktf.out, and a second run rewrites nothing', async () => {
    const out = join(dir, 'cdktf.out');
    const first = await cli('synth', '--out', out, '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ engine: 'cdktf', stacks: 7, unchanged: [] });
    const second = await cli('synth', '--out', out);
    expect(second.stdout).toMatch(/^cdktf: 7 stack\(s\) in .* — 7 synthesized \(\d+ resources\): 0 rewritten, 7 unchanged\n/);
  });

  it('GIVEN --site twice THEN only those sites are synthesized', async () => {
    const out = join(dir, 'some.out');
    const r = await cli('synth', '--out', out, '--site', '440100', '--site', '440300', '--json');
    expect(JSON.parse(r.stdout).rewritten).toEqual(['440100', '440300']);
    expect(existsSync(join(out, 'stacks', '000000'))).toBe(false);
  });

  it('GIVEN --engine pulumi THEN the stack config and rendered objects are written for the Pulumi program', async () => {
    const out = join(dir, 'pulumi');
    const r = await cli('synth', '--engine', 'pulumi', '--site', '440100', '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pulumi: stack site-440100 prepared');
    const config = parseYaml(readFileSync(join(out, 'Pulumi.site-440100.yaml'), 'utf8')) as { config: Record<string, string> };
    expect(config.config).toEqual({ 'jinbao-dc:site': '440100', 'jinbao-dc:objectsFile': 'rendered/440100.json', 'kubernetes:context': 'jinbao-440100' });
    expect(readFileSync(join(out, 'Pulumi.yaml'), 'utf8')).toMatch(/^main: .*stacks\/pulumi\/main\.ts$/m);
    expect(JSON.parse(readFileSync(join(out, 'rendered', '440100.json'), 'utf8')).length).toBeGreaterThan(40);
  });

  it('GIVEN bad engine options THEN each says what it wants', async () => {
    expect((await cli('synth', '--engine', 'helm')).stderr).toBe('jinbao: --engine: got "helm", want one of cdktf, pulumi\n');
    expect((await cli('synth', '--engine', 'pulumi')).stderr).toBe('jinbao: the Pulumi engine prepares one stack per site: name them with --site ID (repeatable)\n');
    expect((await cli('synth', '--engine', 'pulumi', '--site', '440100', '--backend', 'pg')).stderr).toBe(
      'jinbao: --backend and --backend-conn are for the cdktf engine; Pulumi keeps its state where `pulumi login` says\n',
    );
  });

  it('GIVEN --backend pg without --backend-conn THEN the stacks hold no connection string and the output says which variables terraform needs', async () => {
    const out = join(dir, 'pg-env.out');
    const r = await runCli(['--inventory', inventory, '--state', join(dir, 'state'), 'synth', '--backend', 'pg', '--site', '440100', '--out', out], {
      PG_CONN_STR: 'postgres://tf:Env-S3cret@db.example/jinbao',
      PGPASSWORD: 'Env-S3cret',
    });
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(1)).toEqual([
      `state backend: pg, schema jinbao_site_<site> per site; deploy a site with: cd ${join(out, 'stacks', '440100')} && terraform init && terraform apply`,
      '  the stacks hold no connection string: before terraform init, export PG_CONN_STR=postgres://USER@HOST/DB (Terraform 1.5 or later) and the password in PGPASSWORD or ~/.pgpass',
      '',
    ]);
    const stack = readFileSync(join(out, 'stacks', '440100', 'cdk.tf.json'), 'utf8');
    expect(JSON.parse(stack).terraform.backend).toEqual({ pg: { schema_name: 'jinbao_site_440100' } });
    expect(stack).not.toMatch(/conn_str|Env-S3cret/);
  });

  it('GIVEN --backend-conn without a password THEN it is written and the output points at PGPASSWORD', async () => {
    const out = join(dir, 'pg-conn.out');
    const r = await cli('synth', '--backend', 'pg', '--backend-conn', 'postgres://tf@db.example/jinbao', '--site', '440100', '--out', out);
    expect(r.stdout.split('\n').slice(2)).toEqual(['  the stacks hold the connection string without a password: before terraform init, export PGPASSWORD or keep the password in ~/.pgpass', '']);
    expect(JSON.parse(readFileSync(join(out, 'stacks', '440100', 'cdk.tf.json'), 'utf8')).terraform.backend).toEqual({
      pg: { conn_str: 'postgres://tf@db.example/jinbao', schema_name: 'jinbao_site_440100' },
    });
  });

  it('GIVEN --backend-conn with a password THEN exit 2, nothing is written and the password is not echoed', async () => {
    const out = join(dir, 'pg-secret.out');
    const r = await cli('synth', '--backend', 'pg', '--backend-conn', 'host=db.example user=tf password=hunter2', '--out', out);
    expect([r.code, r.stdout, r.stderr]).toEqual([
      2,
      '',
      'jinbao: --backend-conn carries a password (the "password" key), and it would be written into every site\'s cdk.tf.json; ' +
        'remove it and give terraform the password in PGPASSWORD or ~/.pgpass (e.g. --backend-conn postgres://terraform@db.example/jinbao) or log in with a client certificate (sslcert=FILE sslkey=FILE), ' +
        'or leave out --backend-conn and export PG_CONN_STR before terraform init\n',
    ]);
    expect(existsSync(out)).toBe(false);
  });

  it('GIVEN --help THEN it teaches the environment variables of the pg backend', async () => {
    const r = await cli('synth', '--help');
    expect(r.stdout).toContain('PG_CONN_STR (Terraform 1.5 or later) before terraform init, and the password in PGPASSWORD or ~/.pgpass.');
    expect(r.stdout).toContain('\n  $ jinbao synth --backend pg                         then: export PG_CONN_STR=postgres://tf@db.example/jinbao\n');
  });
});

describe('jinbao up', () => {
  it('GIVEN up THEN it synthesizes every site with cdktf into <out>/cdktf.out and reports the counts', async () => {
    const out = join(dir, 'up.out');
    const r = await cli('up', '--out', out, '--json');
    expect(r.code).toBe(0);
    const stacks = (JSON.parse(r.stdout) as { stages: Record<string, { stacks: number; rewritten: number; unchanged: number; outDir: string }> }).stages.stacks!;
    expect(stacks).toMatchObject({ stacks: 7, rewritten: 7, unchanged: 0, outDir: join(out, 'cdktf.out') });
    const again = await cli('up', '--out', out);
    expect(again.stdout).toMatch(/stacks: 7 cdktf site stacks, \d+ resources in .*cdktf\.out \(0 rewritten, 7 unchanged\)/);
  });
});

describe('jinbao plan / apply (against the in-process fake API server, not a cluster)', () => {
  let server: FakeApiServer;
  let kubeconfig: string;
  beforeAll(async () => {
    server = await startFakeApiServer();
    kubeconfig = join(dir, 'kubeconfig.json');
    writeFileSync(kubeconfig, server.kubeconfig());
  });
  afterAll(() => server.close());

  it('GIVEN an empty cluster WHEN apply runs THEN it prints the plan, applies and a second plan is empty', async () => {
    const planned = await cli('plan', '--site', '440100', '--kubeconfig', kubeconfig);
    expect(planned.stdout).toMatch(/^plan for site 440100 on https:\/\/127\.0\.0\.1:\d+ \(context jinbao-fake\):\n  \+ Namespace employee-insurance\n/);
    const applied = await cli('apply', '--site', '440100', '--kubeconfig', kubeconfig);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/\napplied \d+ object\(s\)\n$/);
    const again = await cli('plan', '--site', '440100', '--kubeconfig', kubeconfig, '--json');
    expect((JSON.parse(again.stdout) as { changes: { action: string }[] }).changes.every((c) => c.action === 'unchanged')).toBe(true);
  });

  it('GIVEN an unreachable API server THEN exit 4 with a message, no stack trace', async () => {
    const dead = join(dir, 'dead.json');
    writeFileSync(dead, server.kubeconfig().replace(/127\.0\.0\.1:\d+/, '127.0.0.1:9'));
    const r = await cli('plan', '--site', '440100', '--kubeconfig', dead);
    expect([r.code, r.stderr]).toEqual([4, 'jinbao: cannot reach the API server https://127.0.0.1:9 of context "jinbao-fake" (ECONNREFUSED); check the address in the kubeconfig and that the cluster is up\n']);
  });

  it('GIVEN a half-failed apply THEN exit 2 and the lists of what was and was not applied', async () => {
    const changed = smallInventory();
    const file = join(dir, 'changed.json');
    server.failNext(/^PATCH \/api\/v1\/namespaces\/exchange\/resourcequotas\//, 422, 'ResourceQuota "jinbao-quota" is invalid');
    changed.sites.find((s) => s.id === '440100')!.dataCenter = { class: 'A', meetsStandard: true };
    writeFileSync(file, JSON.stringify(changed));
    const failed = await runCli(['--inventory', file, '--state', join(dir, 'state'), 'apply', '--site', '440100', '--kubeconfig', kubeconfig]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/^jinbao: apply of site 440100 stopped at ResourceQuota exchange\/jinbao-quota: /);
    expect(failed.stderr).toContain('  - applied: Namespace employee-insurance\n');
    expect(failed.stderr).toContain('  - failed: ResourceQuota exchange/jinbao-quota\n');
    expect(failed.stderr).toMatch(/ {2}- not done: apply ResourceQuota jinbao-pki\/jinbao-quota\n/);
  });
});
