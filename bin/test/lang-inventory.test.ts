import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MINIMAL_INVENTORY } from '../../fabric/load.js';
import { englishLines, tempDir } from '../../testkit/index.js';
import { runCli } from '../testkit.js';

/** The rarer inventory problems (schema formats, bounds, enums, empty files, addressing) under a Chinese locale. */
const tmp = tempDir('jinbao-lang-inventory-');
afterAll(() => tmp.cleanup());
const ZH = { LANG: 'zh_CN.UTF-8' };

function inventory(name: string, text: string): string {
  const file = join(tmp.dir, name);
  writeFileSync(file, text);
  return file;
}

/** `inventory validate` on `file` in both languages: exit 2 both, the same number of lines, no English sentence in Chinese; --json the same bytes. */
async function invalidInBoth(file: string): Promise<{ zh: string; en: string }> {
  const zh = await runCli(['--inventory', file, 'inventory', 'validate'], ZH);
  const en = await runCli(['--inventory', file, 'inventory', 'validate'], {});
  expect(zh.code).toBe(2);
  expect(en.code).toBe(2);
  expect(englishLines(zh.stderr)).toEqual([]);
  expect(zh.stderr.split('\n').length).toBe(en.stderr.split('\n').length);
  const [a, b] = [await runCli(['--inventory', file, 'inventory', 'validate', '--json'], {}), await runCli(['--inventory', file, 'inventory', 'validate', '--json'], ZH)];
  expect(b.stdout).toBe(a.stdout);
  expect(b.code).toBe(a.code);
  return { zh: zh.stderr, en: en.stderr };
}

describe('rarer inventory problems under zh_CN', () => {
  it('GIVEN a bad site code, a bad slug, an unknown tier, an unquoted number and an empty name THEN each is Chinese', async () => {
    const file = inventory(
      'formats.yaml',
      'apiVersion: jinbao/v1\nkind: Inventory\nmetadata:\n  name: formats\nsites:\n' +
        '  - { id: "000000", tier: ministry, name: 部本级, slug: Ministry_HQ }\n' +
        '  - { id: "44AB00", tier: provnce, name: "", slug: guangdong, parent: "000000" }\n' +
        '  - { id: 110000, tier: province, name: 北京市, slug: beijing, parent: "000000" }\n',
    );
    const r = await invalidInBoth(file);
    expect(r.zh).toContain('sites[0].slug: "Ministry_HQ" 不是有效的短名：应为 2-32 个小写字母、数字或“-”，以字母开头（如“guangzhou”）\n');
    expect(r.zh).toContain('sites[1].id: "44AB00" 不是六位 GB/T 2260 行政区划代码（如“440100”）\n');
    expect(r.zh).toMatch(/sites\[1\]\.tier: 收到的是"provnce"，应为以下之一："ministry", "province", "prefecture"[^\n]*，是否应为“province”？\n/);
    expect(r.zh).toContain('sites[1].name: 收到的是""，应为非空字符串\n');
    expect(r.zh).toContain('sites[2].id: 收到的是数字 110000，应为字符串；请加引号："110000"\n');
    expect(r.en).toContain('sites[0].slug: "Ministry_HQ" is not a slug: 2-32 lowercase letters, digits or "-", starting with a letter (e.g. "guangzhou")\n');
    expect(r.en).toContain('sites[2].id: got the number 110000, want a string; quote it: "110000"\n');
  });

  it('GIVEN an empty file and a list instead of a mapping THEN the problem is Chinese', async () => {
    const empty = await invalidInBoth(inventory('empty.yaml', ''));
    expect(empty.zh).toContain('资源清单为空；最小的资源清单（只有部）如下：\n');
    const list = await invalidInBoth(inventory('list.yaml', '- a\n- b\n'));
    expect(list.zh).toContain('收到的是含 2 项的列表，应为包含 apiVersion、kind、metadata 和 sites 的字段映射');
  });

  it('GIVEN overlapping supernets THEN the addressing problem is Chinese', async () => {
    const file = inventory(
      'addressing.yaml',
      MINIMAL_INVENTORY.replace('sites:\n', 'addressing:\n  overlay: 10.0.0.0/8\n  underlay: 10.64.0.0/10\nsites:\n'),
    );
    const r = await invalidInBoth(file);
    expect(r.zh).toContain('addressing.underlay: 承载网超网 10.64.0.0/10 与叠加网超网 10.0.0.0/8 重叠；请选择互不重叠的超网\n');
    expect(r.en).toContain('addressing.underlay: underlay supernet 10.64.0.0/10 overlaps the overlay supernet 10.0.0.0/8; choose disjoint supernets\n');
  });
});
