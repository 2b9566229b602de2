import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../bin/testkit.js';
import { tempDir } from '../../../testkit/index.js';

const tmp = tempDir('jinbao-i18n-');
afterAll(() => tmp.cleanup());
const state = join(tmp.dir, 'state');

/** Timestamps and durations differ between two runs; everything else must not. */
const stable = (s: string) => s.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?/g, '<time>').replace(/(time|duration)(Ms|Seconds)?"?[:=]\s*"?[\d.]+/gi, '$1<n>');

describe('jinbao --lang', () => {
  it('refuses an unknown language with the supported ones, exit 2, before doing anything', async () => {
    const r = await runCli(['--state', state, '--lang', 'fr', 'kpi']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('jinbao: --lang must be one of en, zh-CN, got "fr"; leave it out to follow the locale (LC_ALL, LC_MESSAGES, LANG)\n');
  });

  it('says so in Chinese when the locale is Chinese', async () => {
    const r = await runCli(['--state', state, '--lang', 'klingon', 'kpi'], { LANG: 'zh_CN.UTF-8' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jinbao: --lang 只能是 en, zh-CN 之一，收到的是“klingon”；不指定时按区域设置（LC_ALL、LC_MESSAGES、LANG）选择语言\n');
  });

  it('runs in English, silently, under a locale it does not speak', async () => {
    const fr = await runCli(['--state', state, 'inventory', 'show'], { LANG: 'fr_FR.UTF-8' });
    const en = await runCli(['--state', state, 'inventory', 'show'], {});
    expect(fr.code).toBe(0);
    expect(fr.stderr).toBe('');
    expect(fr.stdout).toBe(en.stdout);
  });
});

describe('jinbao inventory show in each language', () => {
  it('words the table in Chinese with the glossary\'s tiers, the site names as the inventory gives them and the pinyin beside', async () => {
    const zh = await runCli(['--state', state, 'inventory', 'show'], { LC_MESSAGES: 'zh_CN.UTF-8' });
    expect(zh.code).toBe(0);
    expect(zh.stdout).toContain('资源清单“national”（内置全国资源清单）：部 1 个，省级站点 32 个，地市 333 个，县级网络接入平台 3004 个，灾备配对 25 个\n');
    expect(zh.stdout).toMatch(/\n代码 +层级 +名称 +拼音标识 +上级 +机房 +业务域 +灾备中心 +人员 +接入平台\n/);
    expect(zh.stdout).toMatch(/\n440000 +省 +广东省 +guangdong +000000 /);
    expect(zh.stdout).toMatch(/\n440100 +地市 +广州市 +guangzhou +440000 /);
    const en = await runCli(['--state', state, 'inventory', 'show'], {});
    expect(en.stdout).toMatch(/\nid +tier +name +slug +parent +dc +domains +dr +staff +platforms\n/);
    expect(en.stdout).toMatch(/\n440100 +prefecture +广州市 +guangzhou +440000 /);
  });
});

describe('machine-readable output does not change with the language', () => {
  const commands: readonly (readonly string[])[] = [
    ['kpi', '--json'],
    ['inventory', 'show', '--json'],
    ['inventory', 'show', '--site', '440100', '--json'],
    ['inventory', 'validate', '--json'],
    ['comply', '--format', 'json'],
    ['comply', '--format', 'junit'],
    ['comply', '--format', 'sarif'],
  ];
  for (const args of commands) {
    it(`jinbao ${args.join(' ')}: the same bytes and exit code under zh_CN.UTF-8, --lang zh-CN and English`, async () => {
      const en = await runCli(['--state', state, ...args], { LANG: 'en_US.UTF-8' });
      const zhEnv = await runCli(['--state', state, ...args], { LANG: 'zh_CN.UTF-8' });
      const zhFlag = await runCli(['--state', state, '--lang', 'zh-CN', ...args], {});
      expect(en.stdout.length).toBeGreaterThan(50);
      for (const zh of [zhEnv, zhFlag]) {
        expect(zh.code).toBe(en.code);
        expect(stable(zh.stdout)).toBe(stable(en.stdout));
      }
    }, 120_000);
  }
});
