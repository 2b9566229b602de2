import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { say } from '../../lib/i18n/index.js';
import { waitGone } from '../pg/tools.js';
import { alive, reasonMessageOf, checkCertificate, failback, HaproxyEndpoint, LabPair, lastFatal, lsnDiff, lsnToBigInt, newDrillState, EventLog, parseEndOfWal, PgLab, PgTools, renderHaproxyConfig, renderHba, renderPostgresConf, labTlsSource, type DrillContext, type DrPair } from '../index.js';
import { request } from './helpers.js';

/** The Chinese text of the catalogue message a failure carries (it must carry one). */
async function chinese(failing: Promise<unknown>): Promise<string> {
  const err = await failing.then(
    () => undefined,
    (e: unknown) => e,
  );
  const m = reasonMessageOf(err);
  if (!m) throw new Error(`no catalogue message in: ${String(err)}`);
  return say(m, 'zh-CN');
}

/** A spawn that runs a canned shell script instead of the real command: the error paths that are hard to cause. */
function cannedSpawn(script: string): typeof spawn {
  return ((_cmd: string, _args: readonly string[], opts: object) => spawn('sh', ['-c', script], { ...opts, shell: false })) as unknown as typeof spawn;
}

describe('runbook commands with a mocked spawn', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jinbao-dr-unit-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function fakeLab(script: string): PgLab {
    const labDir = join(dir, 'lab');
    for (const n of ['dc', 'dr']) mkdirSync(join(labDir, n, 'data'), { recursive: true });
    writeFileSync(join(labDir, 'lab.json'), JSON.stringify({ version: 1, site: '440000', replication: 'sync', primary: 'dr', ports: { dc: 1, dr: 2 }, proxyPort: 3, tlsSource: 'lab', createdAt: '' }));
    return PgLab.open(labDir, new PgTools({ shell: $({ quiet: true, spawn: cannedSpawn(script) }), runAsPostgres: false, binDir: dir }));
  }

  it('GIVEN pg_rewind fails THEN failback reports its exit code and last lines, and the node keeps its fence', async () => {
    const lab = fakeLab('echo "pg_rewind: error: could not find common ancestor of the source and target cluster\'s timelines" >&2; exit 1');
    // The source answers the checkpoint that precedes the rewind.
    const queries: string[] = [];
    lab.query = (async (node: string, sql: string) => {
      queries.push(`${node}: ${sql}`);
      return [];
    }) as PgLab['query'];
    await expect(new LabPair(lab).rejoinAsStandby('dc', 'dr', 'sync')).rejects.toThrow(
      "pg_rewind of dc from dr failed (exit 1): pg_rewind: error: could not find common ancestor of the source and target cluster's timelines",
    );
    expect(lab.hasStandbySignal('dc')).toBe(true);
    expect(queries).toEqual(['dr: CHECKPOINT']);
  });

  it('GIVEN the new primary does not answer THEN failback stops before pg_rewind and says which node to look at', async () => {
    const lab = fakeLab('echo "pg_rewind must not run" >&2; exit 1');
    await expect(new LabPair(lab).rejoinAsStandby('dc', 'dr', 'sync')).rejects.toThrow(
      new RegExp(`^CHECKPOINT on dr before rewinding dc failed: .+; is dr running\\? see ${lab.logFile('dr').replace(/[.]/g, '\\.')}$`),
    );
  });

  it('GIVEN a killed postmaster not yet reaped THEN its stale lock file is removed so pg_rewind and pg_ctl can use the data folder', async () => {
    const lab = fakeLab('exit 0');
    // A child that exits at once under a parent that never reaps it: a zombie, as a killed postmaster is until init reaps it.
    const parent = spawn('perl', ['-e', 'my $c = fork(); if ($c == 0) { exit 0 } print "$c\\n"; sleep 20'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number(await new Promise<string>((res) => parent.stdout.once('data', (d: Buffer) => res(d.toString()))));
      await new Promise((r) => setTimeout(r, 200));
      expect(alive(zombie)).toBe(false);
      const lock = join(lab.node('dc').dataDir, 'postmaster.pid');
      writeFileSync(lock, `${zombie}\n${lab.node('dc').dataDir}\n`);
      await lab.waitKilled('dc');
      expect(existsSync(lock)).toBe(false);
      // A live postmaster's lock file is never touched.
      writeFileSync(lock, `${process.pid}\n`);
      await lab.waitKilled('dc');
      expect(existsSync(lock)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('GIVEN a node that does not start THEN the error quotes the last FATAL line of its log', async () => {
    const lab = fakeLab('exit 1');
    writeFileSync(
      lab.logFile('dc'),
      [
        '2026-11-27 01:21:42.491 GMT [921] LOG:  starting backup recovery with redo LSN 0/303EA30, checkpoint LSN 0/303EA30, on timeline ID 1',
        '2026-11-27 01:21:42.491 GMT [921] FATAL:  requested timeline 5 does not contain minimum recovery point 0/3087B18 on timeline 1',
        '2026-11-27 01:21:42.532 GMT [908] LOG:  database system is shut down',
        '',
      ].join('\n'),
    );
    expect(lastFatal(lab.logFile('dc'))).toBe('FATAL: requested timeline 5 does not contain minimum recovery point 0/3087B18 on timeline 1');
    await expect(lab.startNode('dc')).rejects.toThrow(
      `PostgreSQL node dc did not start (pg_ctl exit 1): FATAL: requested timeline 5 does not contain minimum recovery point 0/3087B18 on timeline 1; see ${lab.logFile('dc')}`,
    );
    expect(await chinese(lab.startNode('dc'))).toBe(`PostgreSQL 节点 dc 未能启动（pg_ctl 退出码 1）：FATAL: requested timeline 5 does not contain minimum recovery point 0/3087B18 on timeline 1；请查看 ${lab.logFile('dc')}`);
    expect(lastFatal(join(dir, 'no-such.log'))).toBeUndefined();
  });

  it('GIVEN a node that does not start and logged no FATAL line THEN the error names pg_ctl\'s exit and the log, in English and in Chinese', async () => {
    const lab = fakeLab('exit 1');
    await expect(lab.startNode('dr')).rejects.toThrow(`PostgreSQL node dr did not start (pg_ctl exit 1); see ${lab.logFile('dr')}`);
    expect(await chinese(lab.startNode('dr'))).toBe(`PostgreSQL 节点 dr 未能启动（pg_ctl 退出码 1）；请查看 ${lab.logFile('dr')}`);
  });

  it('GIVEN pg_ctl says started but no postmaster runs THEN the error says so, in English and in Chinese', async () => {
    const lab = fakeLab('exit 0');
    await expect(lab.startNode('dc')).rejects.toThrow(`PostgreSQL node dc reported started but has no live postmaster.pid; see ${lab.logFile('dc')}`);
    expect(await chinese(lab.startNode('dc'))).toBe(`PostgreSQL 节点 dc 报告已启动，但没有指向存活进程的 postmaster.pid；请查看 ${lab.logFile('dc')}`);
  });

  it('GIVEN a node that is not running THEN killing it says there is nothing to kill, in English and in Chinese', async () => {
    const lab = fakeLab('exit 0');
    await expect(lab.killNode('dc')).rejects.toThrow('node dc is not running; nothing to kill');
    expect(await chinese(lab.killNode('dc'))).toBe('节点 dc 未在运行；没有可终止的进程');
  });

  it('GIVEN a standby whose walsender never streams THEN the wait fails with what it last saw, in English and in Chinese', async () => {
    const lab = fakeLab('exit 0');
    lab.query = (async () => [{ state: 'catchup' }]) as PgLab['query'];
    const log = lab.logFile('dc');
    await expect(lab.waitStreaming('dr', 'dc', 30)).rejects.toThrow(`timed out after 30 ms waiting for node dc to stream from dr on its timeline; last seen: walsender in state "catchup"; see ${log}`);
    expect(await chinese(lab.waitStreaming('dr', 'dc', 30))).toBe(`30 毫秒内未等到：节点 dc 在当前时间线上从 dr 流复制；最后观察到：walsender 处于“catchup”状态；请查看 ${log}`);
    lab.query = (async () => []) as PgLab['query'];
    await expect(lab.waitStreaming('dr', 'dc', 30)).rejects.toThrow(`timed out after 30 ms waiting for node dc to stream from dr on its timeline; last seen: no walreceiver connected; see ${log}`);
    expect(await chinese(lab.waitStreaming('dr', 'dc', 30))).toBe(`30 毫秒内未等到：节点 dc 在当前时间线上从 dr 流复制；最后观察到：没有已连接的 walreceiver；请查看 ${log}`);
  });

  it('GIVEN a standby streaming on an older timeline, or on none THEN the wait names both timelines, in English and in Chinese', async () => {
    const lab = fakeLab('exit 0');
    lab.query = (async () => [{ state: 'streaming' }]) as PgLab['query'];
    const log = lab.logFile('dc');
    lab.timelines = async () => ({ primary: 6, standby: 5 });
    await expect(lab.waitStreaming('dr', 'dc', 30)).rejects.toThrow(`timed out after 30 ms waiting for node dc to stream from dr on its timeline; last seen: standby on timeline 5, primary on 6; see ${log}`);
    expect(await chinese(lab.waitStreaming('dr', 'dc', 30))).toBe(`30 毫秒内未等到：节点 dc 在当前时间线上从 dr 流复制；最后观察到：备库在时间线 5，主库在时间线 6；请查看 ${log}`);
    lab.timelines = async () => ({ primary: 6, standby: undefined });
    await expect(lab.waitStreaming('dr', 'dc', 30)).rejects.toThrow(`; last seen: standby on timeline none, primary on 6; see ${log}`);
    expect(await chinese(lab.waitStreaming('dr', 'dc', 30))).toContain('最后观察到：备库尚无时间线，主库在时间线 6；');
  });

  it('GIVEN a primary that keeps its synchronous_standby_names THEN changing the replication mode fails naming the mode, in English and in Chinese', async () => {
    const lab = fakeLab('exit 0');
    lab.query = (async () => [{ s: '' }]) as PgLab['query'];
    await expect(lab.applyReplicationMode('sync', 50)).rejects.toThrow('timed out after 50 ms waiting for the primary to run with synchronous_standby_names for sync replication');
    expect(await chinese(lab.applyReplicationMode('sync', 50))).toBe('50 毫秒内未等到：主库按 sync 复制设置 synchronous_standby_names 运行');
  });

  it('GIVEN pg_waldump cannot read the WAL THEN the end of WAL is unknown rather than guessed', async () => {
    const lab = fakeLab('echo "pg_waldump: error: could not find a valid record after 0/3000000" >&2; exit 1');
    mkdirSync(join(lab.node('dc').dataDir, 'pg_wal'));
    writeFileSync(join(lab.node('dc').dataDir, 'pg_wal', '000000020000000000000003'), '');
    expect(await new LabPair(lab).endOfWal('dc', '0/3000000')).toBeUndefined();
  });

  it('GIVEN pg_waldump reaches the end of valid WAL THEN the end is the position it names', async () => {
    const lab = fakeLab('echo "pg_waldump: error: error in WAL record at 0/3000028: invalid record length at 0/30000A0: wanted 24, got 0" >&2; exit 1');
    mkdirSync(join(lab.node('dc').dataDir, 'pg_wal'));
    writeFileSync(join(lab.node('dc').dataDir, 'pg_wal', '000000010000000000000003'), '');
    expect(await new LabPair(lab).endOfWal('dc', '0/3000000')).toBe('0/30000A0');
  });

  it('GIVEN no haproxy on the machine THEN starting the endpoint names the Debian package', async () => {
    const proxy = new HaproxyEndpoint({ dir, port: 1, servers: [{ name: 'dc', port: 2 }], shell: $({ quiet: true, spawn: cannedSpawn('exit 1') }) });
    await expect(proxy.start('dc')).rejects.toThrow('haproxy not found: the DR lab endpoint needs it; install it with: apt-get install --no-install-recommends haproxy');
  });

  it('GIVEN haproxy that starts but leaves no pid file THEN starting the endpoint says so, in English and in Chinese', async () => {
    const proxy = new HaproxyEndpoint({ dir, port: 1, servers: [{ name: 'dc', port: 2 }], shell: $({ quiet: true, spawn: cannedSpawn('exit 0') }) });
    const pidFile = join(dir, 'haproxy.pid');
    await expect(proxy.start('dc')).rejects.toThrow(`haproxy started but wrote no live pid to ${pidFile}`);
    expect(await chinese(proxy.start('dc'))).toBe(`haproxy 已启动，但没有在 ${pidFile} 中写入存活进程的 pid`);
  });

  it('GIVEN a process that does not exit THEN waiting for it to be gone fails naming it, in English and in Chinese', async () => {
    await expect(waitGone(process.pid, 20)).rejects.toThrow(`process ${process.pid} still running after 20 ms`);
    expect(await chinese(waitGone(process.pid, 20))).toBe(`进程 ${process.pid} 在 20 毫秒后仍在运行`);
  });

  it('GIVEN no PostgreSQL server tools THEN the message names the package and the override', () => {
    expect(() => new PgTools({ binDir: join(dir, 'none') }).ensureInstalled()).toThrow(
      `PostgreSQL 15 server tools not found: ${join(dir, 'none', 'initdb')} is missing; install them with: apt-get install --no-install-recommends postgresql (or set JINBAO_PG_BIN to the folder holding pg_ctl)`,
    );
  });

  it('GIVEN a lab folder without lab.json THEN opening it says how to create one', () => {
    expect(() => PgLab.open(join(dir, 'nothing'))).toThrow(`no DR lab in ${join(dir, 'nothing')}; create one with: jinbao drill lab up --site ID`);
  });
});

describe('the failback verification', () => {
  it('GIVEN a rewound standby that never streams on the new timeline THEN failback fails after its bound and says what it saw', async () => {
    const detail = 'standby dc streams timeline 5 while primary dr writes timeline 6 (it reconnects at the timeline switch)';
    let asked = 0;
    const pair = {
      primary: 'dr',
      replication: async () => {
        asked++;
        return { streaming: false, syncState: 'sync', detail };
      },
      tryWrite: async () => Promise.reject(new Error('must not try a write before the standby streams')),
    } as unknown as DrPair;
    const ctx = { pair, request: request(), oldPrimary: 'dc', newPrimary: 'dr', state: newDrillState(), log: new EventLog(), signal: new AbortController().signal } as unknown as DrillContext;
    await expect(failback(300).verification!(ctx)).rejects.toThrow(
      `after failback dc is not a streaming standby of dr within 300 ms: ${detail}; the pair needs repair before the next drill (check with: jinbao drill lab status --site 440000)`,
    );
    expect(asked).toBeGreaterThan(1);
  });
});

describe('rendered configuration and small parsers', () => {
  const node = { name: 'dr' as const, port: 5433, dataDir: '/x/dr/data', socketDir: '/x/dr/sock', applicationName: 'jinbao_dr' };
  const tls = { caFile: '/x/tls/ca.crt', serverCert: '/x/tls/dr.crt', serverKey: '/x/tls/dr.key', clientCert: '/x/tls/client.crt', clientKey: '/x/tls/client.key' };

  it('GIVEN a standby role THEN it replicates over verify-full TLS with its application name and no sync standby of its own', () => {
    const conf = renderPostgresConf(node, { kind: 'standby', upstream: { ...node, name: 'dc', port: 5432 } }, tls);
    expect(conf).toContain("primary_conninfo = 'host=127.0.0.1 port=5432 user=replicator application_name=jinbao_dr sslmode=verify-full sslrootcert=/x/tls/ca.crt sslcert=/x/tls/client.crt sslkey=/x/tls/client.key connect_timeout=2'");
    expect(conf).toContain("synchronous_standby_names = ''");
    expect(conf).toContain('port = 5433');
  });

  it('GIVEN a primary with a sync standby THEN synchronous_standby_names quotes its name', () => {
    expect(renderPostgresConf(node, { kind: 'primary', syncStandby: 'jinbao_dc' }, tls)).toContain(`synchronous_standby_names = '"jinbao_dc"'`);
  });

  it('GIVEN the lab hba THEN replication is allowed only over TLS with a client certificate', () => {
    const lines = renderHba().split('\n').filter((l) => !l.startsWith('#') && l.includes('replication'));
    expect(lines.map((l) => l.split(/\s+/))).toEqual([
      ['hostssl', 'replication', 'replicator', '127.0.0.1/32', 'cert'],
      ['host', 'replication', 'all', '127.0.0.1/32', 'reject'],
    ]);
  });

  it('GIVEN servers THEN the HAProxy config binds loopback only and exposes the admin socket', () => {
    const cfg = renderHaproxyConfig({ port: 6000, adminSocket: '/x/admin.sock', servers: [{ name: 'dc', port: 5432 }, { name: 'dr', port: 5433 }] });
    expect(cfg).toContain('  bind 127.0.0.1:6000\n');
    expect(cfg).toContain('  stats socket /x/admin.sock mode 600 level admin\n');
    expect(cfg).toContain('  server dr 127.0.0.1:5433\n');
  });

  it('GIVEN LSNs THEN differences are in bytes, and a malformed one is named', () => {
    expect(lsnDiff('1/0', '0/FFFFFFFF')).toBe(1);
    expect(lsnToBigInt('0/3000148')).toBe(0x3000148n);
    expect(() => lsnToBigInt('3000148')).toThrow('not an LSN: "3000148", want the form "0/3000148"');
    expect(parseEndOfWal('pg_waldump: error: could not find a valid record after 0/3000000')).toBeUndefined();
  });
});

describe('replication certificates', () => {
  it('GIVEN lab certificates THEN they are valid now, expiring later, and not trusted under another CA', async () => {
    const a = await labTlsSource().issue({ site: '440000', nodes: ['dc', 'dr'], clientUser: 'replicator', days: 2 });
    const b = await labTlsSource().issue({ site: '440100', nodes: ['dc'], clientUser: 'replicator', days: 2 });
    const now = Date.now();
    expect(checkCertificate('dc.crt', a.servers.dc.certPem, a.caPem, now).problem).toBeUndefined();
    expect(checkCertificate('client.crt', a.client.certPem, a.caPem, now).subject).toContain('CN=replicator');
    expect(checkCertificate('dc.crt', a.servers.dc.certPem, a.caPem, now + 3 * 86_400_000).problem).toMatch(/^expired or expiring: valid until \d{4}-/);
    expect(checkCertificate('dc.crt', b.servers.dc.certPem, a.caPem, now).problem).toMatch(/^not signed by the replication CA \(O=jinbao DR lab \(lab-only\), CN=jinbao DR lab CA 440000\)$/);
    expect(checkCertificate('x.crt', 'garbage', a.caPem, now).problem).toMatch(/^not a PEM certificate: /);
    // the same problems in Chinese, for the drill's refusal
    expect(say(checkCertificate('dc.crt', a.servers.dc.certPem, a.caPem, now + 3 * 86_400_000).localizedProblem!, 'zh-CN')).toMatch(/^已过期或即将过期：有效期至 \d{4}-/);
    expect(say(checkCertificate('dc.crt', b.servers.dc.certPem, a.caPem, now).localizedProblem!, 'zh-CN')).toBe('不是由复制 CA 签发的（O=jinbao DR lab (lab-only), CN=jinbao DR lab CA 440000）');
  });
});
