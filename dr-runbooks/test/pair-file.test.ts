import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createServer, type Server } from 'node:net';
import { $ } from 'zx';
import { afterEach, describe, expect, it } from 'vitest';
import { InputError } from '../../lib/errors.js';
import { say } from '../../lib/i18n/index.js';
import { fetchServerCertificate, reasonMessageOf, OperatorCommands, pairProblemsFor, parsePairText, RemotePair, type PairConfig } from '../index.js';

const MINIMAL = `# pair of site 440000
site: "440000"
endpoint: postgresql://jinbao_probe@pg-gd.internal:5432/jinbao_drill
nodes:
  dc:
    connection: postgresql://postgres@10.44.0.5:5432/jinbao_drill
    applicationName: dc
  dr:
    connection: host=10.61.0.5 port=5433 dbname=jinbao_drill user=postgres
commands:
  start: [ssh, "{host}", sudo, systemctl, start, postgresql@15-main]
  fence: [ssh, "{host}", sudo, touch, /var/lib/postgresql/15/main/standby.signal]
  unfence: [ssh, "{host}", sudo, rm, -f, /var/lib/postgresql/15/main/standby.signal]
  route: { run: [/usr/local/sbin/pg-endpoint, route, "{node}", "{host}:{port}"], timeoutSeconds: 5, retries: 4 }
  drain: [/usr/local/sbin/pg-endpoint, drain]
`;

function problemsOf(text: string): string[] {
  try {
    parsePairText(text, 'pair.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return [...((err as InputError).details ?? [(err as Error).message])];
  }
  throw new Error('expected the pair file to be refused');
}

describe('the pair file', () => {
  it('GIVEN a minimal file THEN nodes, hosts, ports and commands come out with their defaults', () => {
    const c = parsePairText(MINIMAL, 'pair.yaml');
    expect(c.nodes.map((n) => [n.name, n.host, n.port, n.applicationName])).toEqual([
      ['dc', '10.44.0.5', 5432, 'dc'],
      ['dr', '10.61.0.5', 5433, undefined],
    ]);
    expect(c.commands.route).toEqual({ argv: ['/usr/local/sbin/pg-endpoint', 'route', '{node}', '{host}:{port}'], timeoutMs: 5_000, retries: 4 });
    expect(c.commands.start).toMatchObject({ timeoutMs: 30_000, retries: 1 });
    expect(c.commands.fence).toMatchObject({ retries: 2 });
    expect(c.manageReplication).toBe(false);
    expect(c.tls).toEqual({ required: true, files: [] });
  });

  it('GIVEN every kind of mistake THEN each is reported at once with its line and column', () => {
    const text = `endpoint: postgresql://probe:secret@pg-gd.internal/jinbao
nodes:
  dc:
    connection: postgresql://postgres@10.44.0.5/db
    user: postgres
  dr:
    connection: postgresql://postgres@10.61.0.5:99999/db
commands:
  start: [ssh, "{host}", start]
  fence: [ssh, "{hots}", fence]
  unfence: []
  route: [route, "{node}"]
`;
    expect(problemsOf(text)).toEqual([
      'pair.yaml:5:11: nodes.dc: unknown field "user"; see docs/dr.md for the pair file',
      'pair.yaml:11:12: commands.unfence: want at least the program to run',
    ]);
  });

  it('GIVEN a well-formed file with bad values THEN ports, passwords, placeholders and missing commands are all named', () => {
    const text = `endpoint: postgresql://probe:secret@pg-gd.internal/jinbao
nodes:
  dc:
    connection: postgresql://postgres@10.44.0.5/db
  dr:
    connection: postgresql://postgres@10.61.0.5:99999/db
commands:
  start: [ssh, "{host}", start]
  fence: [ssh, "{hots}", fence]
  route: [route, "{node}", "{from}"]
`;
    expect(problemsOf(text)).toEqual([
      'pair.yaml:6:17: nodes.dr.connection: not a valid connection URI; want postgresql://user@host:5432/database',
      "pair.yaml:1:11: endpoint: carries a password (the user:password@ part of the URI); jinbao never takes passwords from connection strings: remove it and give the password in PGPASSWORD or a ~/.pgpass file (mode 0600), or log in with a client certificate (sslcert=FILE sslkey=FILE; jinbao's infrastructure CA issues them)",
      'pair.yaml:9:16: commands.fence[1]: unknown placeholder {hots}; want one of {site} {node} {host} {port} {peer} {peerHost} {peerPort}',
      'pair.yaml:10:28: commands.route[2]: unknown placeholder {from}; want one of {site} {node} {host} {port} {peer} {peerHost} {peerPort}',
      'pair.yaml:8:3: commands: "unfence" is required (rollback before promotion: lift the fence)',
      'pair.yaml:8:3: commands: "drain" is required (fence-old-primary: send the endpoint nowhere)',
    ]);
  });

  it('GIVEN tls.ca THEN connections that name no root certificate are verified against it, and each says what its TLS does', () => {
    const c = parsePairText(MINIMAL.replace('postgres@10.44.0.5:5432/jinbao_drill', 'postgres@10.44.0.5:5432/jinbao_drill?sslmode=require') + 'tls:\n  ca: certs/ca.crt\n', '/etc/jinbao/pair.yaml');
    expect(c.nodes.map((n) => n.conn.tls)).toEqual([
      'TLS, server verified against /etc/jinbao/certs/ca.crt (tls.ca of /etc/jinbao/pair.yaml), host name not checked (sslmode=require)',
      'TLS if the server offers it, server verified against /etc/jinbao/certs/ca.crt (tls.ca of /etc/jinbao/pair.yaml), host name not checked (sslmode=prefer)',
    ]);
  });

  it('GIVEN a connection string libpq would read differently THEN the file is refused at that field', () => {
    expect(problemsOf(MINIMAL.replace('postgres@10.44.0.5:5432/jinbao_drill', 'postgres@10.44.0.5:5432/jinbao_drill?sslmode=verify-full'))).toEqual([
      "pair.yaml:6:17: nodes.dc.connection: has sslmode=verify-full but names no root certificate to verify the server against; add sslrootcert=FILE (the CA that issued the server's certificate), set PGSSLROOTCERT, or use sslrootcert=system for a public CA",
    ]);
  });

  it('GIVEN one node, or a YAML syntax error THEN the file is refused with where', () => {
    expect(problemsOf(MINIMAL.replace(/  dr:\n.*\n/, ''))).toEqual(['pair.yaml:5:3: nodes: want exactly two nodes: the primary and its standby']);
    expect(problemsOf('endpoint: [unclosed\n')[0]).toMatch(/^pair\.yaml:\d+:\d+: YAML syntax error: /);
  });

  it('GIVEN a drill THEN the commands its scenario needs and the site are checked', () => {
    const c = parsePairText(MINIMAL, 'pair.yaml');
    expect(pairProblemsFor(c, { site: '440000', scenario: 'failover', failback: true })).toEqual([
      'commands.crash is required for --scenario failover (failover: inject-failure (kill the primary as a dead machine would))',
      'commands.rejoin is required for failback (or pass --no-failback to leave the old primary fenced) (failback: rewind {node} into a streaming standby of {peer} and start it)',
    ]);
    expect(pairProblemsFor(c, { site: '110000', scenario: 'switchover', failback: false })).toEqual([
      'site: the file is for site 440000, the drill is for 110000',
      'commands.stop is required for --scenario switchover (switchover: fence-old-primary (clean shutdown; the primary sends all its WAL first))',
    ]);
  });

  it('GIVEN the example in docs/dr.md THEN it is a valid pair file for every drill', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/dr.md', import.meta.url)), 'utf8');
    const example = /### The pair file\n\n```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const c = parsePairText(example, 'docs/dr.md');
    expect(c.nodes.map((n) => n.name)).toEqual(['dc', 'dr']);
    expect(c.manageReplication).toBe(true);
    for (const scenario of ['switchover', 'failover'] as const) expect(pairProblemsFor(c, { site: '440000', scenario, failback: true })).toEqual([]);
  });
});

/** A spawn that runs a canned shell script instead of the real command, recording what was asked. */
function cannedSpawn(script: string, seen: string[][]): typeof spawn {
  return ((cmd: string, args: readonly string[], opts: object) => {
    seen.push([cmd, ...args]);
    return spawn('sh', ['-c', script], { ...opts, shell: false });
  }) as unknown as typeof spawn;
}

/** The Chinese text of the catalogue message a failure carries (it must carry one). */
async function chinese(failing: Promise<unknown> | (() => unknown)): Promise<string> {
  let err: unknown;
  try {
    await (typeof failing === 'function' ? failing() : failing);
  } catch (e) {
    err = e;
  }
  const m = reasonMessageOf(err);
  if (!m) throw new Error(`no catalogue message in: ${String(err)}`);
  return say(m, 'zh-CN');
}

describe('operator commands', () => {
  const config = (over: Partial<PairConfig['commands']> = {}): PairConfig => {
    const c = parsePairText(MINIMAL, 'pair.yaml');
    return { ...c, commands: { ...c.commands, ...over } };
  };

  it('GIVEN placeholders THEN each argument is filled and passed as one argument, spaces and quotes included', async () => {
    const c = config({ route: { argv: ['printf', '%s\\n', '{node} on {host}:{port}', "it's {peer}@{peerHost}:{peerPort}", '{site}'], timeoutMs: 5_000, retries: 0 } });
    const r = await new OperatorCommands(c, '440000').run('route', 'dr');
    expect(r.stdout.split('\n')).toEqual(['dr on 10.61.0.5:5433', "it's dc@10.44.0.5:5432", '440000']);
    expect(r).toMatchObject({ command: 'route', exitCode: 0, attempts: 1 });
  });

  it('GIVEN a command that keeps failing THEN it is retried as often as allowed and the error says what ran, how it ended and where to fix it', async () => {
    const seen: string[][] = [];
    const shell = $({ quiet: true, spawn: cannedSpawn('echo "endpoint API: 503" >&2; exit 3', seen) });
    const records: number[] = [];
    const ops = new OperatorCommands(config({ route: { argv: ['pg-endpoint', 'route', '{node}'], timeoutMs: 5_000, retries: 2 } }), '440000', shell);
    ops.onRun = (r) => records.push(r.attempts);
    await expect(ops.run('route', 'dc')).rejects.toThrow('operator command route for dc failed (exit 3, 3 attempts): pg-endpoint route dc: endpoint API: 503; fix commands.route in pair.yaml');
    expect(seen).toHaveLength(3);
    expect(records).toEqual([3]);
    expect(await chinese(ops.run('route', 'dc'))).toBe('dc 的操作员命令 route 执行失败（退出码 3，共尝试 3 次）：pg-endpoint route dc：endpoint API: 503；请修改 pair.yaml 中的 commands.route');
  });

  it('GIVEN a command that fails once THEN the error says one attempt and its last output line, in English and in Chinese', async () => {
    const shell = $({ quiet: true, spawn: cannedSpawn('echo "no such backend"; exit 5', []) });
    const ops = new OperatorCommands(config({ drain: { argv: ['pg-endpoint', 'drain'], timeoutMs: 5_000, retries: 0 } }), '440000', shell);
    await expect(ops.run('drain', 'dr')).rejects.toThrow(/^operator command drain for dr failed \(exit 5, 1 attempt\): pg-endpoint drain: no such backend; fix commands.drain in pair.yaml$/);
    expect(await chinese(ops.run('drain', 'dr'))).toBe('dr 的操作员命令 drain 执行失败（退出码 5，共尝试 1 次）：pg-endpoint drain：no such backend；请修改 pair.yaml 中的 commands.drain');
  });

  it('GIVEN a command that hangs THEN it is stopped at its timeout and the error says so', async () => {
    const ops = new OperatorCommands(config({ fence: { argv: ['sleep', '30'], timeoutMs: 300, retries: 0 } }), '440000');
    const started = performance.now();
    await expect(ops.run('fence', 'dc')).rejects.toThrow(/^operator command fence for dc failed \(timed out after 0\.3 s, 1 attempt\): sleep 30/);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await chinese(ops.run('fence', 'dc'))).toMatch(/^dc 的操作员命令 fence 执行失败（0\.3 秒后超时，共尝试 1 次）：sleep 30/);
  });

  it('GIVEN a command the file does not set THEN asking for it names the field and its use', async () => {
    expect(() => new OperatorCommands(config(), '440000').resolve('crash', 'dc')).toThrow('pair.yaml: commands.crash is not set; it is needed for failover: inject-failure (kill the primary as a dead machine would)');
    expect(await chinese(() => new OperatorCommands(config(), '440000').resolve('crash', 'dc'))).toBe('pair.yaml：未设置 commands.crash；以下步骤需要它：failover: inject-failure (kill the primary as a dead machine would)');
  });
});

describe('reaching the servers', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function listen(reply: Buffer): Promise<number> {
    server = createServer((s) => s.once('data', () => s.end(reply)));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return (server.address() as { port: number }).port;
  }

  it('GIVEN a server that declines TLS THEN it is reported as offering none', async () => {
    expect(await fetchServerCertificate('127.0.0.1', await listen(Buffer.from('N')))).toEqual({ tls: false });
  });

  it('GIVEN something that is not PostgreSQL THEN the answer says so', async () => {
    const port = await listen(Buffer.from('HTTP/1.1 400'));
    await expect(fetchServerCertificate('127.0.0.1', port)).rejects.toThrow(`127.0.0.1:${port} answered the TLS request with byte 0x48: is it a PostgreSQL server?`);
    expect(await chinese(fetchServerCertificate('127.0.0.1', port))).toBe(`127.0.0.1:${port} 以字节 0x48 回应 TLS 请求：它是 PostgreSQL 服务器吗？`);
  });

  it('GIVEN nothing listening, or a server that never answers THEN asking for its certificate says so, in English and in Chinese', async () => {
    const closed = await listen(Buffer.from('')).then((p) => {
      server!.close();
      server = undefined;
      return p;
    });
    await expect(fetchServerCertificate('127.0.0.1', closed)).rejects.toThrow(new RegExp(`^cannot reach 127\\.0\\.0\\.1:${closed}: connect ECONNREFUSED`));
    expect(await chinese(fetchServerCertificate('127.0.0.1', closed))).toMatch(new RegExp(`^无法连接 127\\.0\\.0\\.1:${closed}：connect ECONNREFUSED`));
    server = createServer(() => undefined);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const silent = (server.address() as { port: number }).port;
    await expect(fetchServerCertificate('127.0.0.1', silent, 50)).rejects.toThrow(`127.0.0.1:${silent} did not answer a TLS request within 50 ms`);
    expect(await chinese(fetchServerCertificate('127.0.0.1', silent, 50))).toBe(`127.0.0.1:${silent} 在 50 毫秒内没有应答 TLS 请求`);
  });

  it('GIVEN a node that does not answer THEN opening the pair refuses and names the node and the field to check', async () => {
    const port = await listen(Buffer.from('')).then((p) => {
      server!.close();
      server = undefined;
      return p;
    });
    const c = parsePairText(MINIMAL.replace('postgres@10.44.0.5:5432', `postgres@127.0.0.1:${port}`), 'pair.yaml');
    await expect(RemotePair.open(c, { site: '440000' })).rejects.toThrow(
      new RegExp(`^refusing to start the drill: node dc \\(127\\.0\\.0\\.1:${port}\\) does not answer: .*ECONNREFUSED.*; check nodes\\.dc\\.connection in pair\\.yaml and that the server runs$`),
    );
  });
});
