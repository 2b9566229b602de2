import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/package-info.js';
import { englishLines, tempDir } from '../../testkit/index.js';
import { buildProgram } from '../cli.js';
import { allCommands, CLI, commandPath, helpTexts, recordCommanderFailures, translateCommanderError } from '../help.js';
import { runCli } from '../testkit.js';

const tmp = tempDir('jinbao-lang-');
afterAll(() => tmp.cleanup());
let n = 0;
const freshState = () => join(tmp.dir, `state-${++n}`);
const ZH = { LANG: 'zh_CN.UTF-8' };

describe('the English check (so the tests below can fail)', () => {
  it('flags an English sentence and passes Chinese with commands, paths and identifiers', () => {
    expect(englishLines('stacks: 366 cdktf site stacks, 23011 resources in /tmp/out (366 rewritten) in 7.4 s')).toHaveLength(1);
    expect(englishLines('  --out <dir>  where generated outputs go (default: "jinbao.out")')).toHaveLength(1);
    expect(englishLines('stacks：cdktf 站点栈 366 个，资源 23011 个，位于 /tmp/out（重写 366 个），用时 7.4 秒')).toEqual([]);
    expect(englishLines('  $ jinbao --inventory national.yaml --state /var/lib/jinbao up --json')).toEqual([]);
    expect(englishLines('MLPS-NET-01  不通过  是  高  GB/T 22239-2019 8.1.2.1 e)  610000: 陕西省：部灾备中心就在本省')).toEqual([]);
  });
});

describe('--help in each language', () => {
  const program = buildProgram({ stdout: process.stdout, stderr: process.stderr, env: {} }, { exitCode: 0 });

  it("bin/locales/en.json holds every command's help text as the sources write it (a changed text needs its translation updated: npx tsx scripts/help-catalogue.ts)", () => {
    const en = JSON.parse(readFileSync(join(projectRoot(), CLI.dir, 'en.json'), 'utf8')) as Record<string, Record<string, string | Record<string, string>>>;
    const stale: string[] = [];
    for (const [key, text] of helpTexts(program)) {
      const [group, path, option] = key.split('.') as [string, string, string | undefined];
      const entry = option === undefined ? en[group]?.[path] : (en[group]?.[path] as Record<string, string> | undefined)?.[option];
      if (entry !== text) stale.push(key);
    }
    expect(stale).toEqual([]);
    expect(helpTexts(program).size).toBeGreaterThan(250);
  });

  it('GIVEN LANG=zh_CN.UTF-8 WHEN jinbao --help THEN commander\'s words, every description and the closing text are Chinese', async () => {
    const r = await runCli(['--help'], ZH);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^用法： jinbao \[选项\] \[命令\]\n/);
    for (const heading of ['\n选项：\n', '\n命令：\n', '显示版本号', '显示命令的帮助', 'help [命令]', '从这里开始：', '退出码：']) expect(r.stdout).toContain(heading);
    expect(r.stdout).toMatch(/\n {2}up \[选项\] +主任务：校验资源清单/);
    expect(r.stdout).toContain('  --inventory <file>  资源清单文件（YAML 或 JSON）；默认：内置全国资源清单\n');
    expect(englishLines(r.stdout)).toEqual([]);
  });

  it('GIVEN --lang zh-CN WHEN jinbao up --help THEN the options, their defaults and the examples read in Chinese', async () => {
    const r = await runCli(['--lang', 'zh-CN', 'up', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '用法： jinbao up [选项]\n\n主任务：校验资源清单、分配地址、生成全部输出并报告规划目标\n\n选项：\n' +
        '  --out <dir>  生成的输出存放目录（默认："jinbao.out"）\n  --json       机器可读的摘要\n  -h, --help   显示命令的帮助\n\n' +
        '除非用 --inventory / --state 另行指定，否则使用内置全国资源清单和内嵌状态库。\n' +
        '不需要任何服务器，也不需要 root。可重复运行：已分配的地址保持不变，未变化的输出不会重写。\n\n' +
        '示例：\n  $ jinbao up\n  $ jinbao --inventory national.yaml --state /var/lib/jinbao up --json\n',
    );
  });

  it('every command\'s help is Chinese under zh_CN', async () => {
    const offences: string[] = [];
    for (const cmd of allCommands(program)) {
      const path = commandPath(cmd);
      const args = path === 'jinbao' ? ['--help'] : [...path.split(' '), '--help'];
      const r = await runCli(args, { LC_ALL: 'zh_CN.UTF-8' });
      if (r.code !== 0) offences.push(`${path}: exit ${r.code}`);
      for (const line of englishLines(r.stdout)) offences.push(`${path}: ${line}`);
    }
    expect(offences).toEqual([]);
  });

  it('in English (and under a locale jinbao does not speak) the help is commander\'s own, untouched', async () => {
    const en = await runCli(['up', '--help'], {});
    expect(en.stdout).toBe(
      'Usage: jinbao up [options]\n\nthe main job: validate the inventory, allocate addresses, build every output and\nreport the targets\n\nOptions:\n' +
        '  --out <dir>  where generated outputs go (default: "jinbao.out")\n  --json       machine-readable summary\n  -h, --help   display help for command\n\n' +
        'Runs on the built-in national inventory with embedded state unless --inventory / --state say otherwise.\n' +
        'Needs no servers and no root. Re-running is safe: allocations are kept, unchanged outputs are not rewritten.\n\n' +
        'Example:\n  $ jinbao up\n  $ jinbao --inventory national.yaml --state /var/lib/jinbao up --json\n',
    );
    const fr = await runCli(['--help'], { LANG: 'fr_FR.UTF-8' });
    const plain = await runCli(['--help'], {});
    expect(fr.stdout).toBe(plain.stdout);
    expect(plain.stdout).toMatch(/^Usage: jinbao \[options\] \[command\]\n/);
    expect(plain.stdout).toContain('  help [command]       display help for command\n');
    const flag = await runCli(['--lang', 'en', '--help'], ZH);
    expect(flag.stdout).toBe(plain.stdout);
  });
});

describe('errors in each language', () => {
  it('an unknown command: Chinese under zh_CN, commander\'s English otherwise; exit 2 both', async () => {
    const zh = await runCli(['frobnicate'], ZH);
    expect(zh.code).toBe(2);
    expect(zh.stderr).toBe('错误：未知命令“frobnicate”\n（运行时加 --help 查看用法）\n');
    const en = await runCli(['frobnicate'], {});
    expect(en.code).toBe(2);
    expect(en.stderr).toBe("error: unknown command 'frobnicate'\n(run with --help for usage)\n");
  });

  it('an unknown option, with commander\'s suggestion, and an option without its value', async () => {
    const zh = await runCli(['up', '--jsn'], ZH);
    expect(zh.code).toBe(2);
    expect(zh.stderr).toBe('错误：未知选项“--jsn”\n（您是不是要输入 --json？）\n（运行时加 --help 查看用法）\n');
    const en = await runCli(['up', '--jsn'], {});
    expect(en.stderr).toBe("error: unknown option '--jsn'\n(Did you mean --json?)\n(run with --help for usage)\n");
    const missing = await runCli(['up', '--out'], ZH);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('错误：选项“--out <dir>”缺少取值\n（运行时加 --help 查看用法）\n');
  });

  it("commander's errors are built from the failure it reported, not from its English wording", () => {
    const failure = (code: string, key: string, params: Record<string, string>) => ({ code, key, params });
    expect(translateCommanderError('any text\n', 'zh-CN', failure('commander.missingArgument', 'missingArgument', { name: 'file' }))).toBe('错误：缺少必需的参数“file”\n');
    expect(translateCommanderError('any text\n', 'zh-CN', failure('commander.excessArguments', 'excessArguments', { command: 'kpi', expected: '0', got: '1' }))).toBe('错误：“kpi”的参数过多，应为 0 个，实际为 1 个。\n');
    expect(translateCommanderError('any text\n', 'zh-CN', failure('commander.missingMandatoryOptionValue', 'missingMandatoryOption', { flags: '--site <id>' }))).toBe('错误：未指定必需的选项“--site <id>”\n');
    // without the recorded failure the English wording is not guessed at
    expect(translateCommanderError("error: missing required argument 'file'\n", 'zh-CN')).toBe("error: missing required argument 'file'\n");
    expect(translateCommanderError('error: something new\n', 'zh-CN')).toBe('error: something new\n');
    expect(translateCommanderError("error: unknown command 'x'\n", 'en', failure('commander.unknownCommand', 'unknownCommand', { name: 'x' }))).toBe("error: unknown command 'x'\n");
  });

  it('GIVEN a value outside an option\'s choices WHEN run under zh_CN THEN the refusal and the choices are Chinese, exit 2; English is commander\'s', async () => {
    const zh = await runCli(['wan', 'cut', '--site', '440000', '--uplink', 'tertiary'], ZH);
    expect(zh.code).toBe(2);
    expect(zh.stdout).toBe('');
    expect(zh.stderr).toBe('错误：选项“--uplink <which>”的取值“tertiary”无效。可选值为 primary, secondary。\n（运行时加 --help 查看用法）\n');
    const en = await runCli(['wan', 'cut', '--site', '440000', '--uplink', 'tertiary'], {});
    expect(en.code).toBe(2);
    expect(en.stderr).toBe("error: option '--uplink <which>' argument 'tertiary' is invalid. Allowed choices are primary, secondary.\n(run with --help for usage)\n");
  });

  describe("commander's conflicts and parser refusals, recognised by commander's error code and the objects it reports", () => {
    /** A program wired like jinbao's: failures recorded, errors said in `lang`. */
    function program(lang: 'en' | 'zh-CN', env: NodeJS.ProcessEnv = {}) {
      let stderr = '';
      const p = new Command('demo').exitOverride();
      let failures: ReturnType<typeof recordCommanderFailures> | undefined;
      p.configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => undefined, outputError: (s, write) => write(translateCommanderError(s, lang, failures?.take())) });
      p.addOption(new Option('--json').conflicts('format'))
        .addOption(new Option('--format <f>').env('DEMO_FORMAT'))
        .addOption(new Option('--days <n>').argParser((v) => {
          if (!/^\d+$/.test(v)) throw new InvalidArgumentError('want a whole number');
          return Number(v);
        }))
        .addArgument(new Argument('[mode]').choices(['fast', 'slow']))
        .action(() => undefined);
      failures = recordCommanderFailures(p);
      const parse = (argv: string[]) => {
        stderr = '';
        const saved = { ...process.env };
        Object.assign(process.env, env);
        try {
          p.parse(argv, { from: 'user' });
        } catch (err) {
          return { code: (err as CommanderError).code, stderr };
        } finally {
          for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
        }
        return { code: 'ok', stderr };
      };
      return parse;
    }

    it('two conflicting options: each named by its flags, in Chinese', () => {
      expect(program('zh-CN')(['--json', '--format', 'csv'])).toEqual({ code: 'commander.conflictingOption', stderr: '错误：选项“--json” 不能与 选项“--format <f>” 同时使用\n' });
      expect(program('en')(['--json', '--format', 'csv']).stderr).toBe("error: option '--json' cannot be used with option '--format <f>'\n");
    });

    it('a conflict with an environment variable names the variable', () => {
      expect(program('zh-CN', { DEMO_FORMAT: 'csv' })(['--json']).stderr).toBe('错误：选项“--json” 不能与 环境变量“DEMO_FORMAT” 同时使用\n');
    });

    it("a parser's refusal keeps the parser's own reason; an argument outside its choices is said in Chinese", () => {
      expect(program('zh-CN')(['--days', 'x'])).toEqual({ code: 'commander.invalidArgument', stderr: '错误：选项“--days <n>”的取值“x”无效。want a whole number\n' });
      expect(program('zh-CN')(['medium']).stderr).toBe('错误：参数“mode”的取值“medium”无效。可选值为 fast, slow。\n');
      expect(program('zh-CN')(['--days', '3', 'fast'])).toEqual({ code: 'ok', stderr: '' });
    });

    it("a changed English wording in commander cannot drop the Chinese: the text is not read", () => {
      const failure = { code: 'commander.conflictingOption', key: 'conflictingOption', params: { a: '--json', aSource: 'option', b: 'JINBAO_X', bSource: 'env' } };
      expect(translateCommanderError('error: some future wording\n', 'zh-CN', failure)).toBe('错误：选项“--json” 不能与 环境变量“JINBAO_X” 同时使用\n');
      const invalid = { code: 'commander.invalidArgument', key: 'invalidArgument', params: { flags: '--uplink <which>', value: 'x', choices: 'primary, secondary' } };
      expect(translateCommanderError('error: reworded\n', 'zh-CN', invalid)).toBe('错误：选项“--uplink <which>”的取值“x”无效。可选值为 primary, secondary。\n');
    });
  });

  it('missing arguments, excess arguments and unknown commands are said in Chinese by the CLI, English unchanged', async () => {
    const excess = await runCli(['kpi', 'extra'], ZH);
    expect(excess.code).toBe(2);
    expect(excess.stderr).toContain('错误：“kpi”的参数过多，应为 0 个，实际为 1 个。');
    const unknown = await runCli(['inventroy'], ZH);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('错误：未知命令“inventroy”');
    expect(unknown.stderr).toContain('（您是不是要输入 inventory？）');
    const en = await runCli(['kpi', 'extra'], {});
    expect(en.stderr).toContain("error: too many arguments for 'kpi'. Expected 0 arguments but got 1.");
  });

  it("no English sentence in commander's failures under zh_CN; the same failures in English are caught by the detector", async () => {
    const failing = [['up', '--jsn'], ['up', '--out'], ['kpi', 'extra'], ['inventroy'], ['pki', 'issue']];
    for (const argv of failing) {
      const zh = await runCli(argv, ZH);
      expect(zh.code, argv.join(' ')).toBe(2);
      expect(englishLines(zh.stderr), argv.join(' ')).toEqual([]);
      const en = await runCli(argv, {});
      expect(englishLines(en.stderr).length, argv.join(' ')).toBeGreaterThan(0);
    }
  });

  it('a bad option value (lib/options.ts) is said in Chinese with the same facts, exit 2, nothing on stdout', async () => {
    const state = freshState();
    const zh = await runCli(['--state', state, 'comply', '--format', 'xml'], ZH);
    expect(zh.code).toBe(2);
    expect(zh.stdout).toBe('');
    expect(zh.stderr).toBe('jinbao: --format：收到的是“xml”，应为以下之一：table, json, junit, sarif\n');
    const en = await runCli(['--state', state, 'comply', '--format', 'xml'], {});
    expect(en.stderr).toBe('jinbao: --format: got "xml", want one of table, json, junit, sarif\n');
    const port = await runCli(['--state', state, 'exporter', '--port', '70000'], ZH);
    expect(port.code).toBe(2);
    expect(port.stderr).toBe('jinbao: --port：收到的是“70000”，应为 0 到 65535 之间的TCP 端口号\n');
  });

  it('an unreadable inventory and an unknown site: Chinese under zh_CN, the English text unchanged otherwise', async () => {
    const missing = join(tmp.dir, 'nope.yaml');
    const zh = await runCli(['--inventory', missing, 'kpi'], ZH);
    expect(zh.code).toBe(2);
    expect(zh.stderr).toBe(`jinbao: 无法读取资源清单 ${missing}：文件不存在\n`);
    const en = await runCli(['--inventory', missing, 'kpi'], {});
    expect(en.stderr).toBe(`jinbao: cannot read inventory ${missing}: no such file\n`);
    const site = await runCli(['--state', freshState(), 'comply', '--site', '999999'], ZH);
    expect(site.code).toBe(2);
    expect(site.stderr).toBe('jinbao: 内置全国资源清单中没有站点“999999”；列出站点：jinbao inventory show\n');
  });
});

describe('an invalid inventory in each language', () => {
  it('GIVEN an inventory with an unknown field, a misspelt parent and a site as its own DR center THEN the header and each problem are Chinese, their places as written', async () => {
    const file = join(tmp.dir, 'bad.yaml');
    writeFileSync(
      file,
      'apiVersion: jinbao/v1\nkind: Inventory\nmetadata:\n  name: bad\nsites:\n' +
        '  - { id: "000000", tier: ministry, name: 部本级, slug: ministry, colour: red }\n' +
        '  - { id: "440000", tier: province, name: 广东省, slug: guangdong, parent: "000001" }\n' +
        '  - { id: "440100", tier: prefecture, name: 广州市, slug: guangzhou, parent: "440000", dr: { site: "440100" } }\n',
    );
    const zh = await runCli(['--inventory', file, 'kpi'], ZH);
    const en = await runCli(['--inventory', file, 'kpi'], {});
    expect(zh.code).toBe(2);
    expect(en.code).toBe(2);
    expect(zh.stderr).toMatch(new RegExp(`^jinbao: 资源清单 ${file} 无效：共 \\d+ 个问题\n`));
    expect(zh.stderr).toContain(`  - ${file}:6:72: sites[0].colour: 未知字段“colour”；请删除（字段列表见 docs/inventory.md 的“Format”一节）\n`);
    expect(zh.stderr).toContain('sites[1].parent: 未知站点“000001”，是否应为“000000”？\n');
    expect(zh.stderr).toContain('sites[2].dr.site: 收到的是“440100”，即站点自身，但站点不能作为自己的灾备中心；请指定另一个站点\n');
    expect(zh.stderr).toContain('sites[0].staff: 必填：应为字段映射\n');
    expect(englishLines(zh.stderr)).toEqual([]);
    expect(en.stderr).toContain('sites[1].parent: unknown site "000001", did you mean "000000"?\n');
    expect(zh.stderr.split('\n').length).toBe(en.stderr.split('\n').length);
    const json = await runCli(['--inventory', file, 'inventory', 'validate', '--json'], ZH);
    expect(json.stdout).toBe((await runCli(['--inventory', file, 'inventory', 'validate', '--json'], {})).stdout);
  });
});

describe('jinbao up in each language', () => {
  const stable = (s: string) => s.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?/g, '<time>').replace(/("(?:seconds|durationMs|ms)"\s*:\s*)[\d.]+/g, '$1<n>');

  it('GIVEN LANG=zh_CN.UTF-8 WHEN jinbao up THEN every stage line, the targets table and the summary are Chinese', async () => {
    const r = await runCli(['--state', freshState(), 'up', '--out', join(tmp.dir, 'up-zh')], ZH);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('资源清单：内置全国资源清单 — 校验通过\n');
    expect(r.stdout).toContain('  部 1 个，省级站点 32 个，地市 333 个，县级网络接入平台 3004 个\n');
    expect(r.stdout).toMatch(/\n地址分配：共 \d+ 个前缀（新增 \d+ 个）/);
    expect(r.stdout).toMatch(/\npki：灾备配对 25 个，replica-mtls 数字证书新签发 50 张、保留 0 张；文件在 /);
    expect(r.stdout).toMatch(/\nstacks：cdktf 站点栈 366 个，资源 \d+ 个/);
    expect(r.stdout).toMatch(/\n灾备：灾备配对 25 个（部 1 个，省 24 个，地市 0 个）；灾备演练：/);
    expect(r.stdout).toMatch(/\n合规：控制项 38 个 — 通过 \d+ 个/);
    expect(r.stdout).toMatch(/\n规划目标：已达到 \d+ 项，未达到 \d+ 项，\d+ 项需要实时状态\n指标 +类型 +目标 +实际 +状态\n/);
    expect(r.stdout).toMatch(/\ndc-standard-province +约束性 /);
    expect(r.stdout).toMatch(/\n完成，用时 [\d.]+ 秒\n$/);
    expect(englishLines(r.stdout)).toEqual([]);
  }, 300_000);

  it('in English the lines are as before', async () => {
    const en = await runCli(['--state', freshState(), 'up', '--out', join(tmp.dir, 'up-en')], {});
    expect(en.code).toBe(0);
    expect(en.stdout).toContain('inventory: built-in national inventory — valid\n');
    expect(en.stdout).toMatch(/\ntargets: \d+ met, \d+ not met, \d+ need live state\nindicator +kind +target +actual +status\n/);
    expect(en.stdout).toMatch(/\ndone in [\d.]+ s\n$/);
  }, 300_000);

  // the same state and output folders for both, one after the other: the second run rewrites nothing
  const jsonRun = (env: NodeJS.ProcessEnv) => runCli(['--state', join(tmp.dir, 'json-state'), 'up', '--json', '--out', join(tmp.dir, 'json-out')], env);
  let first = '';
  it('up --json: a first run under zh_CN', async () => {
    const r = await jsonRun(ZH);
    expect(r.code).toBe(0);
    first = r.stdout;
  }, 300_000);

  it('up --json is the same in both languages (a second run on the same state, in English, against a third in Chinese)', async () => {
    const en = await jsonRun({});
    const zh = await jsonRun(ZH);
    expect(first.length).toBeGreaterThan(100);
    expect(zh.code).toBe(en.code);
    expect(stable(zh.stdout)).toBe(stable(en.stdout));
  }, 300_000);
});

describe('jinbao comply in each language', () => {
  it('GIVEN zh_CN WHEN comply prints its table THEN headings, statuses, findings and the verdict are Chinese; exit code unchanged', async () => {
    const state = freshState();
    const zh = await runCli(['--state', state, 'comply'], ZH);
    const en = await runCli(['--state', state, 'comply'], {});
    expect(zh.code).toBe(3);
    expect(en.code).toBe(3);
    expect(zh.stdout).toMatch(/\n控制项 +状态 +约束性 +严重程度 +条款 +结果\n/);
    expect(zh.stdout).toMatch(/\nMLPS-NET-01 +不通过 +是 +高 +GB\/T 22239-2019 8\.1\.2\.1 e\) +610000: 陕西省：部灾备中心就在本省，第二条线路并不独立\n/);
    expect(zh.stdout).toMatch(/\nMLPS-IAM-03 +未运行 +是 +高 .*中没有状态库：请先运行 jinbao up（或指定 --state）\n/);
    expect(zh.stdout).toMatch(/\n控制项共 38 个：通过 \d+ 个，不通过 \d+ 个，人工 1 个，未运行 \d+ 个\n不合规：未通过的约束性控制项：MLPS-NET-01, /);
    expect(zh.stdout).toMatch(/\nMLPS-AUD-02 +未运行 +是 +高 +GB\/T 22239-2019 8\.1\.4\.3 c\)；《网络安全法》第二十一条第（三）项 /);
    expect(englishLines(zh.stdout)).toEqual([]);
    expect(en.stdout).toMatch(/\ncontrol +status +binding +severity +clause +result\n/);
    expect(en.stdout).toMatch(/\nMLPS-NET-01 +FAIL +yes +high +GB\/T 22239-2019 8\.1\.2\.1 e\) +610000: 陕西省: the ministry DR center is at this province itself, so its second line is not…\n/);
    expect(en.stdout).toMatch(/\n38 controls: \d+ pass, \d+ fail, 1 manual, \d+ not run\nnot compliant: binding control\(s\) not passing: MLPS-NET-01, /);
  }, 120_000);
});

describe('jinbao comply --list in each language', () => {
  it('lists the catalogue with Chinese titles and words under zh_CN, unchanged in English', async () => {
    const zh = await runCli(['comply', '--list'], ZH);
    expect(zh.code).toBe(0);
    expect(zh.stdout).toContain('MLPS-BAK-02\t约束性\tGB/T 22239-2019 8.1.4.9 a), b)\t备份与恢复经过验证：每个灾备配对在 90 天内有一次通过的灾备演练\n');
    expect(zh.stdout).toContain('PLAN-dc-standard-province\t约束性\t规划 dc-standard-province\t省级统一数据中心建成率\n');
    expect(englishLines(zh.stdout)).toEqual([]);
    const en = await runCli(['comply', '--list'], {});
    expect(en.stdout).toContain('MLPS-IAM-01\tadvisory\tGB/T 22239-2019 8.1.4.1 d)\t');
    expect(en.stdout).toContain('PLAN-dc-standard-province\tbinding\tplan dc-standard-province\tProvince data centers meeting the national standard\n');
    const json = await runCli(['comply', '--list', '--json'], ZH);
    expect(json.stdout).toBe((await runCli(['comply', '--list', '--json'], {})).stdout);
  });
});

describe('jinbao pki in each language', () => {
  it('GIVEN zh_CN WHEN the CA hierarchy is created, a certificate issued and both listed THEN lines, headings and statuses are Chinese; English as before', async () => {
    const state = freshState();
    const env = { ...ZH, JINBAO_PKI_PASSPHRASE: 'correct-horse-battery' };
    expect((await runCli(['--state', state, 'pki', 'cas'], ZH)).stdout).toBe('尚无 CA 体系：请用 jinbao pki init 创建\n');
    const init = await runCli(['--state', state, 'pki', 'init'], env);
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/^已在 \S+ 中创建 CA 体系（ecdsa-p256）；私钥已加密保存在状态库中（SQLite \S+）\n\n标识 +角色 +算法 +主体 +有效期 +最后证书到期 +状态\nroot +根 CA +ecdsa-p256 .* 有效\n/);
    const issued = await runCli(['--state', state, 'pki', 'issue', '--profile', 'server-tls', '--site', '440100', '--generate', '--subject', 'CN=a.440100.jinbao.internal', '--application', 'employee-insurance', '--out', join(tmp.dir, 'certs')], env);
    expect(issued.code).toBe(0);
    expect(issued.stdout).toMatch(/^已由 infrastructure 为“C=CN, O=广州市人力资源和社会保障局, CN=a\.440100\.jinbao\.internal”签发 server-tls 数字证书 [0-9a-f]+，有效期至 /);
    const list = await runCli(['--state', state, 'pki', 'list'], ZH);
    expect(list.stdout).toMatch(/^序列号 +证书模板 +站点 +主体 +到期日 +状态\n[0-9a-f]+ +server-tls +440100 +a\.440100\.jinbao\.internal +\S+ +有效\n$/);
    const en = await runCli(['--state', state, 'pki', 'list'], {});
    expect(en.stdout).toMatch(/^serial +profile +site +subject +not after +status\n[0-9a-f]+ +server-tls +440100 +a\.440100\.jinbao\.internal +\S+ +active\n$/);
    expect((await runCli(['--state', state, 'pki', 'list', '--json'], ZH)).stdout).toBe((await runCli(['--state', state, 'pki', 'list', '--json'], {})).stdout);
  }, 120_000);
});

