import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jsyaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { tempDir } from '../../testkit/index.js';
import { firstInvalidUtf8, readInventoryFile } from '../load.js';
import { smallInventory } from './builders.js';

const tmp = tempDir('jinbao-names-');
afterAll(() => tmp.cleanup());

/** The small inventory as YAML with the name of the site at `index` replaced by `name` (a string or raw bytes). */
function inventoryWithName(index: number, name: string | Buffer): { file: string; siteId: string } {
  const inv = smallInventory();
  const marker = 'NAME-TO-REPLACE';
  inv.sites[index]!.name = marker;
  const yaml = Buffer.from(jsyaml.dump(inv, { lineWidth: -1 }), 'utf8');
  const at = yaml.indexOf(marker);
  const bytes = Buffer.concat([yaml.subarray(0, at), typeof name === 'string' ? Buffer.from(JSON.stringify(name), 'utf8') : name, yaml.subarray(at + marker.length)]);
  const file = join(tmp.dir, `inv-${index}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, bytes);
  return { file, siteId: inv.sites[index]!.id };
}

describe('UTF-8 in inventories', () => {
  it('finds the first byte that is not well-formed UTF-8', () => {
    expect(firstInvalidUtf8(Buffer.from('name: 廣州市 广州市 ok', 'utf8'))).toBeUndefined();
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xb9, 0xe3, 0xd6, 0xdd]))).toBe(1); // 广州 in GBK
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc0, 0xaf]))).toBe(1); // overlong "/"
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // a surrogate
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xe5, 0xb9]))).toBe(2); // cut short at the end
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // above U+10FFFF
    expect(firstInvalidUtf8(Buffer.from('𠀀', 'utf8'))).toBeUndefined(); // four bytes, CJK extension B
  });

  it('GIVEN a site name saved in GBK WHEN the inventory is read THEN it is refused with the field, line and column, not turned into U+FFFD', () => {
    const gbk = Buffer.from([0x22, 0xb9, 0xe3, 0xd6, 0xdd, 0xca, 0xd0, 0x22]); // "广州市" in GBK, quoted
    const { file } = inventoryWithName(3, gbk);
    const r = readInventoryFile(file);
    expect(r.fabric).toBeUndefined();
    expect(r.problems).toHaveLength(1);
    const p = r.problems[0]!;
    expect(p.path).toEqual(['sites', 3, 'name']);
    expect(p.location).toMatch(new RegExp(`^${file}:\\d+:12$`)); // `    name: "` is 11 characters
    expect(p.message).toMatch(/^not valid UTF-8 \(bytes 0xb9 0xe3 0xd6 0xdd at byte offset \d+\); save the inventory as UTF-8, e\.g\. iconv -f GB18030 -t UTF-8 /);
  });

  it('jinbao inventory validate and every command using the inventory exit 2 naming the place', async () => {
    const { file } = inventoryWithName(2, Buffer.from([0x22, 0xff, 0x22]));
    const v = await runCli(['--inventory', file, 'inventory', 'validate']);
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(new RegExp(`^jinbao: .*\\n  - ${file}:\\d+:\\d+: sites\\[2\\]\\.name: not valid UTF-8 \\(bytes 0xff 0x22 0x0a`));
    const show = await runCli(['--inventory', file, '--state', join(tmp.dir, 's'), 'inventory', 'show']);
    expect(show.code).toBe(2);
    expect(show.stdout).toBe('');
  });
});

describe('names are taken as given', () => {
  const given = '  廣州市　'; // traditional characters, leading spaces, a trailing ideographic space

  it('GIVEN a name in traditional characters with stray whitespace THEN inventory show (text and --json) and the stacks carry it unchanged', async () => {
    const { file, siteId } = inventoryWithName(3, given);
    const state = join(tmp.dir, 'state-given');
    const shown = await runCli(['--inventory', file, '--state', state, 'inventory', 'show', '--site', siteId, '--json']);
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as { name: string }).name).toBe(given);
    const text = await runCli(['--inventory', file, '--state', state, '--lang', 'zh-CN', 'inventory', 'show']);
    expect(text.stdout).toContain(given);
    const manifests = await runCli(['--inventory', file, '--state', state, 'manifests', '--site', siteId, '--format', 'json']);
    expect(manifests.code).toBe(0);
    const namespaces = (JSON.parse(manifests.stdout) as { kind: string; metadata: { annotations?: Record<string, string> } }[]).filter((o) => o.kind === 'Namespace');
    expect(namespaces.length).toBeGreaterThan(0);
    expect(namespaces.every((n) => n.metadata.annotations?.['jinbao.io/site-name'] === given)).toBe(true);
  });
});
