import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JinbaoError } from '../../lib/errors.js';
import { makeDirs } from '../../lib/dirs.js';
import { errorText } from '../../lib/i18n/index.js';
import { tempDir } from '../../testkit/index.js';
import { synthesizeCdktf } from '../cdktf/index.js';
import { parseBackend, passwordIn, renderSite } from '../index.js';
import { buildFabric, smallInventory } from './inventory.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
function out(): string {
  const t = tempDir('jinbao-stacks-');
  cleanups.push(t.cleanup);
  return join(t.dir, 'cdktf.out');
}
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const SITES = ['000000', '110000', '440000', '440100', '440300', '610000', '610100'];

describe('synthesizeCdktf', () => {
  const fabric = buildFabric();
  const { allocations } = fabric.allocate();

  it('GIVEN every site WHEN synthesized THEN each has stacks/<id>/cdk.tf.json and manifest.json lists them the way cdktf does', async () => {
    const dir = out();
    const r = await synthesizeCdktf(fabric, allocations, { outDir: dir });
    expect(r.stacks).toBe(7);
    expect(r.rewritten).toEqual(SITES);
    expect(r.resources).toBe(SITES.reduce((n, id) => n + renderSite(fabric, fabric.site(id), allocations).length, 0));
    const manifest = readJson(join(dir, 'manifest.json'));
    expect(manifest.version).toBe('0.21.0');
    expect(Object.keys(manifest.stacks).sort()).toEqual(SITES);
    expect(manifest.stacks['440100']).toEqual({
      name: '440100',
      constructPath: '440100',
      workingDirectory: 'stacks/440100',
      synthesizedStackPath: 'stacks/440100/cdk.tf.json',
      stackMetadataPath: 'stacks/440100/metadata.json',
      annotations: [],
      dependencies: [],
    });
    const stack = readJson(join(dir, 'stacks', '440100', 'cdk.tf.json'));
    expect(stack.terraform.backend).toEqual({ local: { path: 'terraform.440100.tfstate' } });
    expect(stack.provider.kubernetes).toEqual([{ config_context: 'jinbao-440100', config_path: '${var.kubeconfig}' }]);
    expect(Object.keys(stack.resource.kubernetes_namespace_v1)).toContain('namespace_employee-insurance');
    // Only cert-manager's objects (no typed resource) are manifests: the site's issuer and its applications' certificates.
    const manifests = Object.keys(stack.resource.kubernetes_manifest).sort();
    expect(manifests).toEqual(['certificate_employee-insurance_employee-insurance-tls', 'certificate_exchange_exchange-tls', 'clusterissuer_jinbao-acme']);
  });

  it('GIVEN nothing changed WHEN synthesized again THEN no stack is rewritten', async () => {
    const dir = out();
    await synthesizeCdktf(fabric, allocations, { outDir: dir });
    const before = statSync(join(dir, 'stacks', '440300', 'cdk.tf.json')).mtimeMs;
    const r = await synthesizeCdktf(fabric, allocations, { outDir: dir });
    expect(r.rewritten).toEqual([]);
    expect(r.unchanged).toEqual(SITES);
    expect(statSync(join(dir, 'stacks', '440300', 'cdk.tf.json')).mtimeMs).toBe(before);
  });

  it('GIVEN one site changed WHEN synthesized again THEN only that site is rewritten', async () => {
    const dir = out();
    await synthesizeCdktf(fabric, allocations, { outDir: dir });
    const inv = smallInventory();
    inv.sites[3]!.dataCenter = { class: 'A', meetsStandard: true };
    const changed = buildFabric(inv);
    const r = await synthesizeCdktf(changed, changed.allocate().allocations, { outDir: dir });
    expect(r.rewritten).toEqual(['440100']);
    expect(readJson(join(dir, 'stacks', '440100', 'cdk.tf.json')).resource.kubernetes_resource_quota_v1['resourcequota_exchange_jinbao-quota'].spec.hard['limits.cpu']).toBe('128');
  });

  it('GIVEN a stack file deleted by hand WHEN synthesized again THEN it is written again', async () => {
    const dir = out();
    await synthesizeCdktf(fabric, allocations, { outDir: dir });
    const file = join(dir, 'stacks', '610100', 'cdk.tf.json');
    rmSync(file);
    expect((await synthesizeCdktf(fabric, allocations, { outDir: dir })).rewritten).toEqual(['610100']);
  });

  it('GIVEN --site WHEN synthesized THEN only the named sites are written, and the manifest still lists what the folder holds', async () => {
    const dir = out();
    const r = await synthesizeCdktf(fabric, allocations, { outDir: dir, sites: ['440100'] });
    expect(r.rewritten).toEqual(['440100']);
    expect(existsSync(join(dir, 'stacks', '440300'))).toBe(false);
    await synthesizeCdktf(fabric, allocations, { outDir: dir, sites: ['440300'] });
    expect(Object.keys(readJson(join(dir, 'manifest.json')).stacks)).toEqual(['440100', '440300']);
  });

  it('GIVEN an unknown site THEN it says how to list the sites', async () => {
    await expect(synthesizeCdktf(fabric, allocations, { outDir: out(), sites: ['999999'] })).rejects.toThrow('no site "999999" in the inventory; list the sites with: jinbao inventory show');
  });

  it('GIVEN a site removed from the inventory WHEN the whole nation is synthesized THEN its stack is removed', async () => {
    const dir = out();
    await synthesizeCdktf(fabric, allocations, { outDir: dir });
    const inv = smallInventory();
    inv.sites = inv.sites.filter((s) => s.id !== '610100');
    const smaller = buildFabric(inv);
    const r = await synthesizeCdktf(smaller, smaller.allocate().allocations, { outDir: dir });
    expect(r.removed).toEqual(['610100']);
    expect(existsSync(join(dir, 'stacks', '610100'))).toBe(false);
    expect(Object.keys(readJson(join(dir, 'manifest.json')).stacks)).not.toContain('610100');
  });

  it('GIVEN a site that would render an invalid object THEN nothing is written', async () => {
    const dir = out();
    await expect(synthesizeCdktf(fabric, allocations, { outDir: dir, render: { namespacePrefix: 'x'.repeat(60) } })).rejects.toThrow(/^site 000000 would render \d+ invalid field\(s\); nothing was written$/);
    expect(existsSync(dir)).toBe(false);
  });

  it('GIVEN the pg backend THEN every stack keeps its state in its own schema', async () => {
    const dir = out();
    await synthesizeCdktf(fabric, allocations, { outDir: dir, sites: ['440100', '440300'], backend: parseBackend('pg', 'postgres://tf@db.example/jinbao') });
    for (const id of ['440100', '440300']) {
      expect(readJson(join(dir, 'stacks', id, 'cdk.tf.json')).terraform.backend).toEqual({ pg: { conn_str: 'postgres://tf@db.example/jinbao', schema_name: `jinbao_site_${id}` } });
    }
  });

  it('GIVEN the pg backend without a connection string THEN the stacks name only their schema, and nothing from the environment reaches the folder', async () => {
    const dir = out();
    const saved = { PG_CONN_STR: process.env.PG_CONN_STR, PGPASSWORD: process.env.PGPASSWORD };
    process.env.PG_CONN_STR = 'postgres://tf:Env-S3cret@db.example/jinbao';
    process.env.PGPASSWORD = 'Env-S3cret';
    try {
      await synthesizeCdktf(fabric, allocations, { outDir: dir, backend: parseBackend('pg', undefined) });
    } finally {
      for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
    }
    for (const id of SITES) expect(readJson(join(dir, 'stacks', id, 'cdk.tf.json')).terraform.backend).toEqual({ pg: { schema_name: `jinbao_site_${id}` } });
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(SITES.length);
    for (const f of files) expect(readFileSync(join(f.parentPath, f.name), 'utf8')).not.toMatch(/conn_str|Env-S3cret|postgres:|password/i);
  });

  it('GIVEN two threads THEN the stacks are exactly those one thread writes', async () => {
    const one = out();
    const two = out();
    await synthesizeCdktf(fabric, allocations, { outDir: one, threads: 1 });
    const r = await synthesizeCdktf(fabric, allocations, { outDir: two, threads: 2, batchSize: 2 });
    expect(r.rewritten).toEqual(SITES);
    for (const id of SITES) expect(readFileSync(join(two, 'stacks', id, 'cdk.tf.json'), 'utf8')).toBe(readFileSync(join(one, 'stacks', id, 'cdk.tf.json'), 'utf8'));
    expect(readFileSync(join(two, 'manifest.json'), 'utf8')).toBe(readFileSync(join(one, 'manifest.json'), 'utf8'));
  });

  it('GIVEN the second thread cannot write its stack WHEN synthesized THEN the failure names the thread, in English and in Chinese', async () => {
    const dir = out();
    // batches of one: the second site, 110000, is the other thread's; a file where its folder goes stops it
    makeDirs(join(dir, 'stacks'));
    writeFileSync(join(dir, 'stacks', '110000'), 'not a folder');
    const err = await synthesizeCdktf(fabric, allocations, { outDir: dir, sites: ['000000', '110000'], threads: 2, batchSize: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JinbaoError);
    const failure = err as JinbaoError;
    expect(failure.exitCode).toBe(1);
    expect(failure.message).toMatch(/^synthesis thread failed: .*110000/);
    expect(errorText(failure, 'zh-CN')).toMatch(/^生成数据中心栈的线程失败：.*110000/);
  });

  it('GIVEN the backend changes THEN the stacks are rewritten', async () => {
    const dir = out();
    await synthesizeCdktf(fabric, allocations, { outDir: dir, sites: ['440100'] });
    const r = await synthesizeCdktf(fabric, allocations, { outDir: dir, sites: ['440100'], backend: parseBackend('pg', 'postgres://db/x') });
    expect(r.rewritten).toEqual(['440100']);
  });
});

describe('parseBackend', () => {
  it('GIVEN nothing or "local" THEN the backend is local', () => {
    expect(parseBackend(undefined, undefined)).toEqual({ kind: 'local' });
    expect(parseBackend('local', undefined)).toEqual({ kind: 'local' });
  });
  it('GIVEN pg without a connection string THEN terraform is left to read PG_CONN_STR', () => {
    expect(parseBackend('pg', undefined)).toEqual({ kind: 'pg' });
  });
  it('GIVEN pg with a connection string without a password THEN it is kept as given', () => {
    for (const conn of ['postgres://terraform@db.example:5432/jinbao?sslmode=verify-full', 'host=db.example user=terraform dbname=jinbao sslmode=require']) {
      expect(parseBackend('pg', conn)).toEqual({ kind: 'pg', connStr: conn });
    }
  });
  const refusal = (where: string) =>
    `--backend-conn carries a password (${where}), and it would be written into every site's cdk.tf.json; ` +
    'remove it and give terraform the password in PGPASSWORD or ~/.pgpass (e.g. --backend-conn postgres://terraform@db.example/jinbao) or log in with a client certificate (sslcert=FILE sslkey=FILE), ' +
    'or leave out --backend-conn and export PG_CONN_STR before terraform init';
  it('GIVEN a password in the URI user part THEN it is refused, saying where and how to fix it', () => {
    expect(() => parseBackend('pg', 'postgres://tf:hunter2@db.example/jinbao')).toThrow(refusal('the user:password@ part of the URI'));
    expect(() => parseBackend('pg', 'postgresql://tf:@db.example/jinbao')).toThrow(refusal('the user:password@ part of the URI'));
  });
  it('GIVEN a password as a URI parameter THEN it is refused, also when its name is percent-encoded', () => {
    expect(() => parseBackend('pg', 'postgres://tf@db.example/jinbao?sslmode=require&password=hunter2')).toThrow(refusal('the "password" parameter of the URI'));
    expect(() => parseBackend('pg', 'postgres://db.example/jinbao?pass%77ord=hunter2')).toThrow(refusal('the "password" parameter of the URI'));
    expect(() => parseBackend('pg', 'postgres://db.example/jinbao?sslpassword=keypass')).toThrow(refusal('the "sslpassword" parameter of the URI'));
  });
  it('GIVEN a password key in key=value form THEN it is refused, quoted or not', () => {
    expect(() => parseBackend('pg', 'host=db.example password=hunter2 dbname=jinbao')).toThrow(refusal('the "password" key'));
    expect(() => parseBackend('pg', "host=db.example dbname = jinbao PASSWORD = 'with space \\' quote'")).toThrow(refusal('the "password" key'));
  });
  it('GIVEN a refused connection string THEN the message does not repeat the password', () => {
    let message = '';
    try {
      parseBackend('pg', 'postgres://tf:hunter2@db.example/jinbao?password=hunter3');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^--backend-conn carries a password/);
    expect(message).not.toMatch(/hunter/);
  });
  it('GIVEN an empty or unreadable connection string THEN it is refused with an example', () => {
    expect(() => parseBackend('pg', ' ')).toThrow('--backend-conn is empty; leave it out and export PG_CONN_STR before terraform init, or give one like postgres://terraform@db.example/jinbao');
    expect(() => parseBackend('pg', "host=db.example password='unterminated")).toThrow(
      '--backend-conn is neither a postgres:// URI nor key=value pairs (unreadable from character 16); give one like postgres://terraform@db.example/jinbao or "host=db.example user=terraform dbname=jinbao"',
    );
    expect(() => parseBackend('pg', 'mysql://tf:hunter2@db.example/jinbao?x=1')).toThrow(/^--backend-conn is neither a postgres:\/\/ URI nor key=value pairs \(unreadable from character 1\)/);
  });
  it('GIVEN a connection string for the local backend THEN it is refused', () => {
    expect(() => parseBackend('local', 'postgres://x')).toThrow('--backend-conn is only used with --backend pg; drop it or add --backend pg');
  });
  it('GIVEN an unknown backend THEN the choices are named', () => {
    expect(() => parseBackend('s3', undefined)).toThrow('--backend must be "local" or "pg", got "s3"');
  });
});

describe('passwordIn', () => {
  it('GIVEN strings without a password THEN none is found', () => {
    for (const conn of [
      'postgres://db.example/jinbao',
      'postgres://tf@db.example:5432/jinbao',
      'postgresql:///jinbao?host=/var/run/postgresql&user=tf',
      'postgres://tf@[::1]:5432/jinbao',
      'postgres://tf@h1:5432,h2:5433/jinbao?target_session_attrs=read-write',
      'postgres://tf@db.example/jinbao?application_name=password',
      "host=db.example user=tf application_name='password=x'",
      'dbname=jinbao',
    ]) {
      expect(passwordIn(conn), conn).toBeUndefined();
    }
  });
  it('GIVEN a password where a lenient parser would miss it THEN it is found', () => {
    expect(passwordIn('postgres://tf:pa/ss@db.example/jinbao')).toBe('the user:password@ part of the URI');
    expect(passwordIn('POSTGRES://tf:x@db.example/jinbao')).toBe('the user:password@ part of the URI');
    expect(passwordIn('host=db.example user=tf sslpassword=keypass')).toBe('the "sslpassword" key');
  });
});
