import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needsIn } from '../../compliance/index.js';
import { drillSteps } from '../../dr-runbooks/index.js';
import { needsCode, NEEDS } from '../../fabric/index.js';
import { SqliteDatabase } from '../../lib/sql/index.js';
import { saveCheck, type CheckResult } from '../../network/index.js';
import { formatPlan, type Plan } from '../../stacks/deploy/index.js';
import { englishLines, tempDir } from '../../testkit/index.js';
import { migratedText, statusText } from '../commands/state.js';
import { COMMAND_MESSAGES } from '../context.js';
import { translator } from '../../lib/i18n/index.js';
import { runCli } from '../testkit.js';

/**
 * The operations commands (wan, synth/plan/apply, exporter, drill lab/pair/plan) under a Chinese
 * locale: their human output reads Chinese, their --json output is the same bytes as in English.
 */
const tmp = tempDir('jinbao-lang-ops-');
afterAll(() => tmp.cleanup());
const state = join(tmp.dir, 'state');
const ZH = ['--lang', 'zh-CN'];
const zh = (...args: string[]) => runCli(['--state', state, ...ZH, ...args]);
const en = (...args: string[]) => runCli(['--state', state, ...args]);
/** Timings and the temp folder differ between two runs; everything else must not. */
const stable = (s: string) => s.replace(/"(seconds|ms|durationMs)": [\d.]+/g, '"$1": <n>');

/** A recorded WAN lab check: one denied pair that connected, one link down, one router. */
function recordedCheck(): CheckResult {
  return {
    tag: 'jbtest',
    checkedAt: '2026-11-27T00:00:00.000Z',
    pairs: [{ from: '440000', to: '110000', service: 'ssh', expected: 'deny', observed: 'open', ok: false, ms: 3 }],
    links: [{ hub: '000000', spoke: '440000', kind: 'primary', iface: 'x', up: false }],
    summary: { allowed: 1, denied: 1, failures: 1, linksUp: 0, links: 1 },
    routing: [{ node: '440000', running: false, neighbours: [], bfd: [], routes: 0, filtered: 0, failovers: 0 } as unknown as NonNullable<CheckResult['routing']>[number]],
  };
}

beforeAll(async () => {
  const db = SqliteDatabase.open(state);
  await saveCheck(db, recordedCheck());
  await db.close();
});

describe('jinbao wan under --lang zh-CN', () => {
  it('GIVEN one node WHEN wan render THEN the summary is Chinese; in English it is as before', async () => {
    const out = join(tmp.dir, 'wan');
    const z = await zh('wan', 'render', '--site', '000000', '--out', out);
    expect(z.code).toBe(0);
    expect(z.stdout).toMatch(/^已写入 \d+ 个文件到 .+，用时 [\d.]+ 秒：节点 1 个（其中汇聚节点 1 个），接口 \d+ 个，对端 \d+ 个，防火墙规则 \d+ 条，路由守护进程 1 个\n/);
    expect(z.stdout).toContain('未写入私钥：每个配置从 /etc/jinbao/wan/private.key 读取私钥');
    expect(englishLines(z.stdout)).toEqual([]);
    const e = await en('wan', 'render', '--site', '000000', '--out', out);
    expect(e.stdout).toMatch(/^wrote \d+ files to .+ in [\d.]+ s: 1 nodes \(1 hubs\), \d+ interfaces, \d+ peers, \d+ firewall rules, 1 routing daemons\nno private keys written: /);
  });

  it('keys, rotate and import-key speak Chinese; keys --json is the same bytes in both languages', async () => {
    const keys = await zh('wan', 'keys', '--site', '440000');
    expect(keys.stdout).toMatch(/^节点 +公钥 +代次 +私钥\n440000 +\S+ +1 +在状态库中\n$/);
    const rotated = await zh('wan', 'rotate', '--site', '440100');
    expect(rotated.stdout).toMatch(/^节点 440100：已生成新密钥对（第 \d+ 代），公钥 \S+\n请重新生成其对端的配置：jinbao wan render\n$/);
    const imported = await zh('wan', 'import-key', '--site', '440100', '--public-key', 'uQkOIMH5TG9nK00NmSgvJVKXIupvuPFIsFOgrFdRIWU=');
    expect(imported.stdout).toMatch(/^节点 440100：已记录公钥（第 \d+ 代）；其配置生成时不含私钥\n$/);
    expect((await zh('wan', 'keys', '--site', '440100')).stdout).toContain('由别处保管');
    const [a, b] = [await en('wan', 'keys', '--json'), await zh('wan', 'keys', '--json')];
    expect(a.stdout.length).toBeGreaterThan(100);
    expect(b.stdout).toBe(a.stdout);
  });

  it('GIVEN a recorded check that differs from the policy WHEN wan check --last THEN headings, states and verdicts are Chinese, exit 3; --json unchanged', async () => {
    const z = await zh('wan', 'check', '--last');
    expect(z.code).toBe(3);
    expect(z.stdout).toContain('实验网 jbtest，检查时间 2026-11-27T00:00:00.000Z\n\n链路\n');
    expect(z.stdout).toMatch(/\n汇聚节点 +接入节点 +链路类型 +状态 +时延（毫秒） +握手间隔（秒）\n000000 +440000 +主用 +中断\n/);
    expect(z.stdout).toMatch(/\n路由（BGP \+ BFD）\n路由器 +守护进程 .*\n440000 +中断 /);
    expect(z.stdout).toContain('\n连通矩阵：探测允许的节点对服务 1 项、禁止的 1 项，与策略不符 1 项\n');
    expect(z.stdout).toMatch(/\n源 +目的 +服务 +策略 +实测\n440000 +110000 +ssh +禁止 +连通\n/);
    expect(englishLines(z.stdout)).toEqual([]);
    const e = await en('wan', 'check', '--last');
    expect(e.stdout).toMatch(/\nhub +spoke +kind +up +latency ms +handshake age s\n000000 +440000 +primary +DOWN\n/);
    expect(e.stdout).toMatch(/\nrouter +daemon +sessions up .*\n440000 +DOWN /);
    expect(e.stdout).toMatch(/\nfrom +to +service +policy +observed\n440000 +110000 +ssh +deny +open\n/);
    const [a, b] = [await en('wan', 'check', '--last', '--json'), await zh('wan', 'check', '--last', '--json')];
    expect(b.stdout).toBe(a.stdout);
    expect(b.code).toBe(3);
  });

  it('wan down without a lab, and refusals (unknown node, no recorded lab), are Chinese', async () => {
    expect((await zh('wan', 'down')).stdout).toBe(`${state} 中没有记录 WAN 实验网；无需清除\n`);
    const unknown = await zh('wan', 'keys', '--site', '999999');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('jinbao: 内置全国资源清单 中没有 WAN 节点“999999”；节点标识为站点代码（如“440100”）、灾备中心的“dr-<站点>”或区县代码\n');
    const enUnknown = await en('wan', 'keys', '--site', '999999');
    expect(enUnknown.stderr).toBe('jinbao: no WAN node "999999" in built-in national inventory; node ids are site codes such as "440100", "dr-<site>" for DR centers, or county codes\n');
    const fresh = await runCli(['--state', join(tmp.dir, 'fresh'), ...ZH, 'wan', 'check', '--last']);
    expect(fresh.code).toBe(2);
    expect(fresh.stderr).toMatch(/^jinbao: .+ 中没有记录过 WAN 检查；先运行一次：jinbao wan check\n$/);
  });
});

describe('jinbao synth / plan / apply under --lang zh-CN', () => {
  it('GIVEN one site WHEN synth THEN the summary and the state-backend advice are Chinese; --json is the same bytes', async () => {
    const out = join(tmp.dir, 'cdktf');
    const z = await zh('synth', '--site', '440100', '--out', out, '--backend', 'pg');
    expect(z.code).toBe(0);
    expect(z.stdout).toMatch(/^cdktf：.+ 中共有栈 1 个 — 本次生成 1 个（资源 \d+ 个）：重写 1 个，未变化 0 个\n/);
    expect(z.stdout).toContain('状态后端：PostgreSQL（pg），每个站点一个模式 jinbao_site_<site>；部署一个站点：cd ');
    expect(z.stdout).toContain('  栈中不含连接串：在 terraform init 之前导出 PG_CONN_STR=');
    expect(englishLines(z.stdout)).toEqual([]);
    const e = await en('synth', '--site', '440100', '--out', out, '--backend', 'pg');
    expect(e.stdout).toMatch(/^cdktf: 1 stack\(s\) in .+ — 1 synthesized \(\d+ resources\): 0 rewritten, 1 unchanged\nstate backend: pg, schema jinbao_site_<site> per site; deploy a site with: cd /);
    await en('synth', '--site', '440100', '--out', out); // back to the local backend: both runs below find the stack unchanged
    const [a, b] = [await en('synth', '--site', '440100', '--out', out, '--json'), await zh('synth', '--site', '440100', '--out', out, '--json')];
    expect(JSON.parse(a.stdout).unchanged).toEqual(['440100']);
    expect(stable(b.stdout)).toBe(stable(a.stdout));
  }, 60_000);

  it('refusals of synth and plan are Chinese: an unknown site, a password in --backend-conn, a missing kubeconfig', async () => {
    expect((await zh('synth', '--site', '4401')).stderr).toBe('jinbao: 内置全国资源清单 中没有站点“4401”；查看站点列表：jinbao inventory show\n');
    expect((await en('synth', '--site', '4401')).stderr).toBe('jinbao: no site "4401" in built-in national inventory; list the sites with: jinbao inventory show\n');
    const pw = await zh('synth', '--backend', 'pg', '--backend-conn', 'postgres://tf:secret@db.example/jinbao');
    expect(pw.code).toBe(2);
    expect(pw.stderr).toMatch(/^jinbao: --backend-conn 含有密码（.+），它会被写进每个站点的 cdk\.tf\.json；/);
    const kube = await zh('plan', '--site', '440100', '--kubeconfig', join(tmp.dir, 'none.yaml'));
    expect(kube.code).toBe(2);
    expect(kube.stderr).toBe(`jinbao: kubeconfig 文件 ${join(tmp.dir, 'none.yaml')} 不存在；请用 --kubeconfig 指定该站点集群的 kubeconfig\n`);
  });

  it('the plan that plan and apply print is Chinese with --lang zh-CN and unchanged in English', () => {
    const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'exchange' } };
    const plan = {
      site: '440100',
      server: 'https://127.0.0.1:6443',
      context: 'gz',
      changes: [
        { action: 'create', object: ns },
        { action: 'update', object: { ...ns, metadata: { name: 'employee-insurance' } }, fields: [{ path: 'metadata.labels.tier', from: undefined, to: 'prefecture' }] },
        { action: 'prune', object: { ...ns, metadata: { name: 'old' } } },
      ],
    } as unknown as Plan;
    expect(formatPlan(plan, { prune: false, lang: 'zh-CN' })).toBe(
      '站点 440100 在 https://127.0.0.1:6443（上下文 gz）上的变更计划：\n  + Namespace exchange\n  ~ Namespace employee-insurance\n      metadata.labels.tier: （未设置） → "prefecture"\n' +
        '  - Namespace old   （保留：加 --prune 才删除）\n新建 1 个，修改 1 个，删除 0 个，不变 0 个；另有 1 个已不再需要（加 --prune 删除）\n',
    );
    expect(formatPlan(plan, { prune: false })).toBe(
      'plan for site 440100 on https://127.0.0.1:6443 (context gz):\n  + Namespace exchange\n  ~ Namespace employee-insurance\n      metadata.labels.tier: (unset) → "prefecture"\n' +
        '  - Namespace old   (kept: pass --prune to delete)\n1 to create, 1 to change, 0 to delete, 0 unchanged; 1 no longer desired (pass --prune to delete)\n',
    );
  });
});

describe('jinbao exporter under --lang zh-CN (a real process)', () => {
  it('says where it serves in Chinese', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/jinbao.ts', '--state', join(tmp.dir, 'exporter'), ...ZH, 'exporter', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (b: Buffer) => {
          err += b.toString();
          if (err.includes('\n')) resolve(err);
        });
        child.once('exit', (code) => reject(new Error(`exporter exited ${code}: ${err}`)));
      });
      expect(line).toMatch(/^正在 http:\/\/127\.0\.0\.1:\d+\/metrics 提供监控指标（按 Ctrl-C 停止）\n$/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }, 60_000);
});

describe('jinbao drill under --lang zh-CN', () => {
  it('drill plan names each step in Chinese with its stable id beside it, scenario and replication in Chinese; --json keeps the ids', async () => {
    const z = await zh('drill', 'plan', '--site', '440000', '--target', 'pg-local', '--scenario', 'failover', '--replication', 'async');
    expect(z.code).toBe(0);
    expect(z.stdout).toMatch(/^演练计划：站点 440000 广东省 向位于 \d+ 的灾备中心进行故障切换，目标 pg-local，异步复制\n/);
    expect(z.stdout).toContain('\n 1. 预检（preflight）：备库正在流复制');
    expect(z.stdout).toContain('\n 6. 隔离原主库（fence-old-primary）：排空接入端点，标记已失效的主库');
    expect(z.stdout).toContain('\n    回退：仅在提升之前：取消标记');
    expect(z.stdout).toContain('\n12. 回切（failback）：');
    expect(englishLines(z.stdout)).toEqual([]);
    const [a, b] = [await en('drill', 'plan', '--site', '440000', '--target', 'pg-local', '--json'), await zh('drill', 'plan', '--site', '440000', '--target', 'pg-local', '--json')];
    expect(b.stdout).toBe(a.stdout);
    expect(JSON.parse(b.stdout).steps[0].name).toBe('preflight');
  });

  it('in English each step line is the runbook\'s own id and description (the catalogue holds the same text)', async () => {
    for (const scenario of ['switchover', 'failover'] as const) {
      const e = await en('drill', 'plan', '--site', '440000', '--target', 'pg-local', '--scenario', scenario);
      const request = { scenario, failback: true } as Parameters<typeof drillSteps>[0];
      drillSteps(request).forEach((s, i) => {
        expect(e.stdout).toContain(`\n${String(i + 1).padStart(2)}. ${s.name}: ${s.description}\n${s.rollbackDescription ? `    rollback: ${s.rollbackDescription}\n` : ''}`);
      });
    }
  });

  it('drill lab status/down without a lab and drill refusals are Chinese', async () => {
    const status = await zh('drill', 'lab', 'status', '--site', '440000');
    expect(status.code).toBe(2);
    expect(status.stderr).toBe(`jinbao: ${join(state, 'dr-lab', '440000')} 中没有灾备实验环境；先创建：jinbao drill lab up --site 站点\n`);
    const site = await zh('drill', 'plan', '--site', '999999', '--target', 'pg-local');
    expect(site.stderr).toBe('jinbao: 内置全国资源清单 中没有站点“999999”；查看站点列表：jinbao inventory show\n');
    const pair = await zh('drill', 'plan', '--site', '440000', '--target', 'pg');
    expect(pair.stderr).toMatch(/^jinbao: --target pg 需要 --pair 文件：/);
    expect((await en('drill', 'plan', '--site', '999999', '--target', 'pg-local')).stderr).toBe('jinbao: no site "999999" in built-in national inventory; list the sites with: jinbao inventory show\n');
  });
});

describe('refusals of the state store and the certificate pipeline under --lang zh-CN', () => {
  it('GIVEN a state file that is not SQLite THEN the store refusal is Chinese, exit 2; English unchanged', async () => {
    const dir = join(tmp.dir, 'not-sqlite');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'jinbao.db'), 'not a database\n');
    const z = await runCli(['--state', dir, ...ZH, 'ipam']);
    expect(z.code).toBe(2);
    expect(z.stderr).toBe(`jinbao: 状态库 ${join(dir, 'jinbao.db')} 不是可用的 SQLite 数据库：file is not a database；请将其移走或换用其他状态库\n`);
    const e = await runCli(['--state', dir, 'ipam']);
    expect(e.stderr).toBe(`jinbao: the state store ${join(dir, 'jinbao.db')} is not a usable SQLite database: file is not a database; move it aside or use another state store\n`);
    expect((await runCli(['--state', 'ftp://x', ...ZH, 'ipam'])).stderr).toBe('jinbao: --state 是 ftp:// URL；它必须是内嵌状态库的目录（例如 --state /var/lib/jinbao），或共享状态库的 postgresql:// URL\n');
  });

  it('GIVEN a store with rows WHEN state migrate THEN its progress lines, per table too, are Chinese; in English they are as before', async () => {
    const src = join(tmp.dir, 'migrate-src');
    expect((await runCli(['--state', src, 'wan', 'render', '--site', '440000', '--out', join(tmp.dir, 'migrate-wan')])).code).toBe(0);
    const z = await runCli(['--state', src, ...ZH, 'state', 'migrate', '--to', join(tmp.dir, 'migrate-zh')]);
    expect(z.code).toBe(0);
    const zLines = z.stderr.trimEnd().split('\n');
    expect(zLines[0]).toMatch(/^正在迁移 \d+ 张表、\d+ 行，从 SQLite .* 到 SQLite /);
    expect(zLines.slice(1).length).toBeGreaterThan(0);
    for (const l of zLines.slice(1)) expect(l).toMatch(/^  [a-z_]+：已复制 (\d+)\/\1 行$/);
    const e = await runCli(['--state', src, 'state', 'migrate', '--to', join(tmp.dir, 'migrate-en')]);
    expect(e.code).toBe(0);
    const eLines = e.stderr.trimEnd().split('\n');
    expect(eLines[0]).toMatch(/^migrating \d+ tables, \d+ rows, from SQLite .* to SQLite /);
    expect(eLines.slice(1)).toEqual(zLines.slice(1).map((l) => l.replace(/^  ([a-z_]+)：已复制 (\d+)\/(\d+) 行$/, '  $1: $2/$3 rows')));
    // the summary on stdout: Chinese under zh-CN, the same lines as before in English
    const head = '\\S+';
    expect(z.stdout).toMatch(new RegExp(`^已迁移 (\\d+) 张表、(\\d+) 行，用时 [\\d.]+ 秒\n  源：  SQLite .+\n  目标：SQLite .+\n已校验：两侧每张表的行数相同，审计记录链头均为 ${head}（共 \\d+ 条）\n下一步：将所有 jinbao 指向目标（--state 或 JINBAO_STATE），源保持只读作为备份\n$`));
    expect(e.stdout).toMatch(
      new RegExp(`^migrated \\d+ tables, \\d+ rows, in [\\d.]+ s\n  from SQLite .+\n  to   SQLite .+\nverified: row counts equal in every table, audit head ${head} \\(\\d+ entries\\) on both sides\nnext: point every jinbao at the target \\(--state or JINBAO_STATE\\) and keep the source read-only as a backup\n$`),
    );
    const numbers = (out: string) => [...out.matchAll(/\d+/g)].slice(0, 2).map((m) => m[0]);
    expect(numbers(z.stdout)).toEqual(numbers(e.stdout));
  });

  it('GIVEN a store WHEN state status THEN its lines are Chinese under zh-CN, English as before, --json the same bytes', async () => {
    const dir = join(tmp.dir, 'status-store');
    expect((await runCli(['--state', dir, 'wan', 'render', '--site', '440000', '--out', join(tmp.dir, 'status-wan')])).code).toBe(0);
    // the first status lists the same tables as the next (reading the operators creates theirs)
    const first = await runCli(['--state', dir, 'state', 'status', '--json']);
    expect(first.code).toBe(0);
    const tables = (out: string) => (JSON.parse(out) as { tables: unknown }).tables;
    expect(tables((await runCli(['--state', dir, 'state', 'status', '--json'])).stdout)).toEqual(tables(first.stdout));
    const z = await runCli(['--state', dir, ...ZH, 'state', 'status']);
    const e = await runCli(['--state', dir, 'state', 'status']);
    expect([z.code, e.code]).toEqual([0, 0]);
    const zLines = z.stdout.trimEnd().split('\n');
    const eLines = e.stdout.trimEnd().split('\n');
    expect(zLines.slice(0, 3)).toEqual(['后端：sqlite', `位置：SQLite ${join(dir, 'jinbao.db')}`, '组件（版本 / 本版 jinbao 的版本）：']);
    expect(eLines.slice(0, 3)).toEqual(['backend: sqlite', `where: SQLite ${join(dir, 'jinbao.db')}`, 'components (version / this jinbao):']);
    expect(zLines).toContain('表（行数）：');
    expect(eLines).toContain('tables (rows):');
    expect(zLines.at(-2)).toBe('操作员：无——命令行以单一本地操作员身份运行；未满足等级保护三级的管理员要求（jinbao operator add）');
    expect(eLines.at(-2)).toBe("operators: none — the CLI acts as one local operator; MLPS level 3's administrator controls are not met (jinbao operator add)");
    expect(zLines.at(-1)).toMatch(/^审计记录：完好，共 (\d+) 条，链头 \S+$/);
    expect(eLines.at(-1)).toMatch(/^audit: intact, \d+ entries, head \S+$/);
    // the rows in between (component versions, row counts) are data: the same in both languages
    const data = (lines: string[]) => lines.filter((l) => l.startsWith('  '));
    expect(data(zLines)).toEqual(data(eLines));
    expect(data(eLines).length).toBeGreaterThan(5);
    expect(englishLines(z.stdout.split('\n').filter((l) => !l.startsWith('  ')).join('\n'))).toEqual([]);
    const zJson = await runCli(['--state', dir, ...ZH, 'state', 'status', '--json']);
    expect(zJson.stdout).toBe((await runCli(['--state', dir, 'state', 'status', '--json'])).stdout);
  });

  it('GIVEN a CA hierarchy THEN the pipeline refuses an unknown site, a staff key generated here and a too-long validity in Chinese', async () => {
    const dir = join(tmp.dir, 'pki');
    const env = { JINBAO_PKI_PASSPHRASE: 'correct horse battery staple' };
    const pki = (...args: string[]) => runCli(['--state', dir, ...ZH, 'pki', ...args], env);
    expect((await pki('init')).code).toBe(0);
    const out = join(dir, 'out');
    const site = await pki('issue', '--profile', 'server-tls', '--site', '999999', '--generate', '--subject', 'CN=a.example', '--out', out);
    expect([site.code, site.stderr]).toEqual([2, 'jinbao: 站点：收到“999999”，应为资源清单中的站点（查看站点列表：jinbao inventory show）\n']);
    const staff = await pki('issue', '--profile', 'staff-auth', '--site', '440100', '--generate', '--subject', 'CN=x', '--out', out);
    expect(staff.stderr).toMatch(/^jinbao: --generate：收到模板 staff-auth，只能用于 server-tls、/);
    const days = await pki('issue', '--profile', 'server-tls', '--site', '440100', '--generate', '--subject', 'CN=a.example', '--days', '9999', '--out', out);
    expect([days.code, days.stderr]).toEqual([2, expect.stringMatching(/^jinbao: 申请被拒绝：有效期：收到 9999 天，最多 \d+ 天（证书模板 server-tls v\d+）\n$/)]);
    const en = await runCli(['--state', dir, 'pki', 'issue', '--profile', 'server-tls', '--site', '999999', '--generate', '--subject', 'CN=a.example', '--out', out], env);
    expect(en.stderr).toBe('jinbao: site: got "999999", want a site of the inventory (list them with: jinbao inventory show)\n');
  }, 60_000);
});

describe('the state status and migrate summary texts, each case in both languages', () => {
  const zhT = translator('zh-CN', COMMAND_MESSAGES);
  const enT = translator('en', COMMAND_MESSAGES);
  const status = {
    backend: 'postgresql' as const,
    where: 'postgresql://jinbao_state@db.example/jinbao',
    components: [
      { name: 'audit', version: 2, known: 2 },
      { name: 'future', version: 1, known: null },
    ],
    tables: [{ name: 'audit_log', rows: 12 }],
    audit: { intact: false, entries: 12, head: 'ab12', firstBroken: { seq: 7, reason: 'hash mismatch' } },
    operators: { localOnly: false, active: 4, missingRoles: ['security-admin', 'audit-admin'] as const, violations: ['100234: audit-admin, system-admin', '200001: security-admin, viewer'] },
  };

  it('GIVEN missing roles, broken separation and a broken chain THEN each line is Chinese under zh-CN and as before in English', () => {
    expect(statusText(status, enT)).toBe(
      [
        'backend: postgresql',
        'where: postgresql://jinbao_state@db.example/jinbao',
        'components (version / this jinbao):',
        '  audit              2 / 2',
        '  future             1 / unknown to this jinbao',
        'tables (rows):',
        '  audit_log                               12',
        'operators: 4 active; administrator roles not held: security-admin, audit-admin; SEPARATION BROKEN: 100234: audit-admin, system-admin; 200001: security-admin, viewer',
        'audit: BROKEN at entry 7: hash mismatch',
        '',
      ].join('\n'),
    );
    expect(statusText(status, zhT)).toBe(
      [
        '后端：postgresql',
        '位置：postgresql://jinbao_state@db.example/jinbao',
        '组件（版本 / 本版 jinbao 的版本）：',
        '  audit              2 / 2',
        '  future             1 / 本版 jinbao 不认识',
        '表（行数）：',
        '  audit_log                               12',
        '操作员：在用 4 名；无人担任的管理员角色：security-admin、audit-admin；职责分离被破坏：100234: audit-admin, system-admin；200001: security-admin, viewer',
        '审计记录：在第 7 条处断裂：hash mismatch',
        '',
      ].join('\n'),
    );
  });

  it('GIVEN all three posts held and an intact chain THEN the operators and audit lines say so in each language', () => {
    const held = { ...status, audit: { intact: true, entries: 12, head: 'ab12' }, operators: { localOnly: false, active: 3, missingRoles: [] as const, violations: [] } };
    expect(statusText(held, enT).split('\n').slice(-3)).toEqual(['operators: 3 active; administrator roles: all three held', 'audit: intact, 12 entries, head ab12', '']);
    expect(statusText(held, zhT).split('\n').slice(-3)).toEqual(['操作员：在用 3 名；三类管理员角色均有人担任', '审计记录：完好，共 12 条，链头 ab12', '']);
  });

  it('GIVEN a finished migration THEN the summary is Chinese under zh-CN and the same text as before in English', () => {
    const r = { from: 'SQLite /var/lib/jinbao/jinbao.db', to: 'PostgreSQL db.example/jinbao', tables: [{ name: 'a', rows: 3 }, { name: 'b', rows: 4 }], auditHead: 'ab12', auditEntries: 5, seconds: 1.25 };
    expect(migratedText(r, enT)).toBe(
      'migrated 2 tables, 7 rows, in 1.3 s\n  from SQLite /var/lib/jinbao/jinbao.db\n  to   PostgreSQL db.example/jinbao\n' +
        'verified: row counts equal in every table, audit head ab12 (5 entries) on both sides\n' +
        'next: point every jinbao at the target (--state or JINBAO_STATE) and keep the source read-only as a backup\n',
    );
    expect(migratedText(r, zhT)).toBe(
      '已迁移 2 张表、7 行，用时 1.3 秒\n  源：  SQLite /var/lib/jinbao/jinbao.db\n  目标：PostgreSQL db.example/jinbao\n' +
        '已校验：两侧每张表的行数相同，审计记录链头均为 ab12（共 5 条）\n' +
        '下一步：将所有 jinbao 指向目标（--state 或 JINBAO_STATE），源保持只读作为备份\n',
    );
  });
});

describe('what an indicator needs is found by its code, not by its wording', () => {
  it('every NEEDS text has a Chinese entry under its code, and the English entry says the same text', () => {
    for (const n of Object.values(NEEDS)) {
      expect(needsCode(n.text)).toBe(n.code);
      expect(needsIn('en', n.text)).toBe(n.text);
      expect(needsIn('zh-CN', n.text)).not.toBe(n.text);
      expect(englishLines(needsIn('zh-CN', n.text))).toEqual([]);
    }
    expect(needsIn('zh-CN', 'something the catalogue does not know')).toBe('something the catalogue does not know');
  });
});
