import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { tempDir } from '../../testkit/index.js';
import { makeDirs } from '../dirs.js';
import { projectRoot } from '../package-info.js';

const tmp = tempDir('jinbao-dirs-');
afterAll(() => tmp.cleanup());

const code = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
};

describe('makeDirs (mkdir -p one level at a time)', () => {
  it('GIVEN a nested path THEN every level is made, with the mode asked for; an existing directory is left as it is', () => {
    const deep = join(tmp.dir, 'a', 'b', 'c');
    makeDirs(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(join(tmp.dir, 'a')).mode & 0o777).toBe(0o700);
    makeDirs(deep);
    mkdirSync(join(tmp.dir, 'plain'));
    makeDirs(join(tmp.dir, 'plain'));
  });

  it('GIVEN a file where a directory must be, or a path under /proc THEN the kernel\'s error at once (Node\'s recursive mkdir never returns for /proc)', () => {
    const file = join(tmp.dir, 'file');
    writeFileSync(file, 'x');
    expect(code(() => makeDirs(file))).toBe('EEXIST');
    expect(code(() => makeDirs(join(file, 'sub', 'dir')))).toBe('ENOTDIR');
    expect(code(() => makeDirs('/proc/jinbao-nope/x'))).toBe('ENOENT');
  });

  it('GIVEN monitoring render --out under /proc THEN exit 2 with the path and the reason, in each language, instead of a hung command', async () => {
    const en = await runCli(['monitoring', 'render', '--out', '/proc/jinbao-nope/x']);
    expect(en.code).toBe(2);
    expect(en.stderr).toMatch(/^jinbao: cannot write \/proc\/jinbao-nope\/x\/\S+: ENOENT.*; choose another --out folder\n$/);
    const zh = await runCli(['--lang', 'zh-CN', 'monitoring', 'render', '--out', '/proc/jinbao-nope/x']);
    expect(zh.code).toBe(2);
    expect(zh.stderr).toMatch(/^jinbao: 无法写入 \/proc\/jinbao-nope\/x\/\S+：ENOENT.*；请换一个 --out 目录\n$/);
  }, 30_000);
});

/** Every .ts file of the product (no tests, benchmarks, scripts or dependencies). */
function productCode(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return ['node_modules', 'dist', 'test', 'bench', 'scripts', 'testkit'].includes(name) || name.startsWith('.') ? [] : productCode(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

describe('the product makes directories only through makeDirs', () => {
  it('GIVEN the sources THEN no recursive mkdir outside lib/dirs.ts (it hangs under /proc on Node 20)', () => {
    const root = projectRoot();
    const found = productCode(root)
      .filter((f) => relative(root, f) !== join('lib', 'dirs.ts'))
      .filter((f) => /\bmkdir(?:Sync)?\([^;]*recursive:\s*true/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f));
    expect(found).toEqual([]);
  });
});
