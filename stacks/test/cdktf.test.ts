import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../bin/testkit.js';
import { synthesizeCdktf } from '../cdktf/index.js';
import { parseBackend, renderSite } from '../index.js';
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
    expect(stack.resource.kubernetes_manifest).toBeUndefined();
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

  it('GIVEN two threads THEN the stacks are exactly those one thread writes', async () => {
    const one = out();
    const two = out();
    await synthesizeCdktf(fabric, allocations, { outDir: one, threads: 1 });
    const r = await synthesizeCdktf(fabric, allocations, { outDir: two, threads: 2, batchSize: 2 });
    expect(r.rewritten).toEqual(SITES);
    for (const id of SITES) expect(readFileSync(join(two, 'stacks', id, 'cdk.tf.json'), 'utf8')).toBe(readFileSync(join(one, 'stacks', id, 'cdk.tf.json'), 'utf8'));
    expect(readFileSync(join(two, 'manifest.json'), 'utf8')).toBe(readFileSync(join(one, 'manifest.json'), 'utf8'));
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
  it('GIVEN pg without a connection string THEN it shows one', () => {
    expect(() => parseBackend('pg', undefined)).toThrow('--backend pg needs --backend-conn, e.g. --backend-conn postgres://terraform@db.example/jinbao (keep the password in PGPASSWORD)');
  });
  it('GIVEN a connection string for the local backend THEN it is refused', () => {
    expect(() => parseBackend('local', 'postgres://x')).toThrow('--backend-conn is only used with --backend pg; drop it or add --backend pg');
  });
  it('GIVEN an unknown backend THEN the choices are named', () => {
    expect(() => parseBackend('s3', undefined)).toThrow('--backend must be "local" or "pg", got "s3"');
  });
});
