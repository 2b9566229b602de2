import { describe, expect, it } from 'vitest';
import { say } from '../i18n/index.js';
import { ConnectionStringError, hostAndPort, passwordIn, pgConnection, UnreadableConnectionString, type ConnectionOptions } from '../pg-conn.js';

describe('connection strings', () => {
  it('GIVEN either form THEN host and port follow libpq defaults', () => {
    expect(hostAndPort('postgresql://u@db.example/x')).toEqual({ host: 'db.example', port: 5432 });
    expect(hostAndPort('postgres://u@[fd00::5]:6432/x')).toEqual({ host: 'fd00::5', port: 6432 });
    expect(hostAndPort("host=/var/run/postgresql dbname='my db'")).toEqual({ host: '/var/run/postgresql', port: 5432 });
    expect(hostAndPort('dbname=x port=6543')).toEqual({ host: 'localhost', port: 6543 });
  });

  it('GIVEN text that is not a connection string THEN the problem says where reading stopped, without repeating the text', () => {
    expect(hostAndPort('just words')).toEqual({ error: 'not a postgres:// URI nor key=value pairs (unreadable from character 1); want postgresql://user@host:5432/database or "host=... port=... dbname=..."' });
    expect(hostAndPort('host=db port=99999')).toEqual({ error: 'port "99999" is not a TCP port' });
    expect(hostAndPort('')).toEqual({ error: 'empty; want postgresql://user@host:5432/database or "host=... port=... dbname=..."' });
    expect(() => passwordIn("host=db password='unterminated")).toThrow(UnreadableConnectionString);
  });

  it('GIVEN a quoted value holding "password=" THEN only real keys count', () => {
    expect(passwordIn("host=db application_name='password=x'")).toBeUndefined();
    expect(passwordIn("host=db password='it\\'s'")).toBe('the "password" key');
  });
});

describe('connection strings read as libpq reads them', () => {
  const read = (conn: string, opts: Partial<ConnectionOptions> = {}) => pgConnection(conn, { source: '--state', env: {}, home: '/nonexistent', ...opts });

  it('GIVEN a password anywhere in the string THEN it is refused, naming PGPASSWORD, ~/.pgpass and client certificates', () => {
    const want = (where: string) =>
      `--state carries a password (${where}); jinbao never takes passwords from connection strings: remove it and give the password in PGPASSWORD or a ~/.pgpass file (mode 0600), or log in with a client certificate (sslcert=FILE sslkey=FILE; jinbao's infrastructure CA issues them)`;
    expect(() => read('postgresql://jinbao:s3cret@db.example/jinbao')).toThrow(want('the user:password@ part of the URI'));
    expect(() => read('postgresql://jinbao@db.example/jinbao?password=s3cret')).toThrow(want('the "password" parameter of the URI'));
    expect(() => read('host=db.example user=jinbao password=s3cret')).toThrow(want('the "password" key'));
    expect(() => read('host=db.example sslpassword=s3cret')).toThrow(want('the "sslpassword" key'));
    expect(() => read('postgresql://jinbao:s3cret@db.example/jinbao')).toThrow(ConnectionStringError);
  });

  it('GIVEN either form THEN the same parameters come out', () => {
    const uri = read('postgresql://jinbao@db.example:6432/state?sslmode=disable&application_name=x');
    const kv = read("host=db.example port=6432 user=jinbao dbname='state' sslmode=disable application_name=x");
    expect(uri.clientOptions()).toEqual(kv.clientOptions());
    expect(uri.clientOptions()).toEqual({ host: 'db.example', port: 6432, user: 'jinbao', database: 'state', application_name: 'x', ssl: false });
    expect(read('postgresql://%2Fvar%2Frun%2Fpostgresql/state?sslmode=require')).toMatchObject({ socket: true, tls: 'no TLS (a Unix socket: libpq ignores sslmode there)' });
  });

  it('GIVEN each sslmode THEN the TLS options are what libpq does', () => {
    expect(read('host=db').sslmode).toBe('prefer');
    expect(read('host=db').negotiate).toBe(true);
    expect(read('host=db sslmode=require').clientOptions().ssl).toEqual({ rejectUnauthorized: false, checkServerIdentity: expect.any(Function) });
    expect(read('host=db sslmode=require', { env: { PGSSLMODE: 'disable' } }).clientOptions().ssl).toEqual({ rejectUnauthorized: false, checkServerIdentity: expect.any(Function) });
    expect(read('host=db', { env: { PGSSLMODE: 'disable' } }).clientOptions().ssl).toBe(false);
    expect(read('host=db sslmode=verify-full sslrootcert=system').clientOptions().ssl).toEqual({ rejectUnauthorized: true });
  });

  it('GIVEN a mode or parameter jinbao cannot honour THEN it is refused with the fix', () => {
    expect(() => read('host=db sslmode=verify-full')).toThrow(
      '--state has sslmode=verify-full but names no root certificate to verify the server against; add sslrootcert=FILE (the CA that issued the server\'s certificate), set PGSSLROOTCERT, or use sslrootcert=system for a public CA',
    );
    expect(() => read('host=db sslmode=allow')).toThrow('--state has sslmode=allow, which first tries without encryption; use prefer, require, verify-ca or verify-full');
    expect(() => read('host=db sslmode=no-verify')).toThrow('--state has sslmode "no-verify"; want one of disable, prefer, require, verify-ca, verify-full (libpq\'s names)');
    expect(() => read('postgresql://db/x?sslmode=require&uselibpqcompat=true')).toThrow('--state sets uselibpqcompat, a node-postgres switch: jinbao always reads connection strings as libpq does; remove it');
    expect(() => read('host=db target_session_attrs=read-write')).toThrow(/^--state has the parameter "target_session_attrs", which jinbao does not use; want only host, port, dbname/);
    expect(() => read('postgresql://a:5432,b:5432/x')).toThrow('--state names several hosts; give one host per connection string; want postgresql://user@host:5432/database or "host=... port=... dbname=..."');
    expect(() => read('host=a,b')).toThrow('--state names several hosts (a,b); give one host per connection string');
    expect(() => read('host=db sslmode=require sslrootcert=system')).toThrow(/sslrootcert=system with sslmode=require/);
    expect(() => read('host=db sslcert=/c.crt sslmode=require')).toThrow('--state names a client certificate without its key (sslkey); give both');
    expect(() => read('host=db sslmode=require sslrootcert=/no/such/ca.crt').clientOptions()).toThrow('--state names the root certificate (sslrootcert of --state) /no/such/ca.crt, which cannot be read (ENOENT)');
    expect(() => read('host=db port=0')).toThrow('--state has port "0", which is not a TCP port (1-65535)');
  });
});

describe('a refused connection string, said in each language', () => {
  const refusal = (conn: string, opts: Partial<ConnectionOptions> = {}): ConnectionStringError => {
    try {
      pgConnection(conn, { source: '--state', env: {}, home: '/nonexistent', ...opts });
    } catch (err) {
      if (err instanceof ConnectionStringError) return err;
      throw err;
    }
    throw new Error(`${conn} was accepted`);
  };
  it.each([
    ['postgresql://u:secret@db/jinbao', /^--state 含有密码（.*）；jinbao 从不从连接字符串中读取密码：请删除它，并通过 PGPASSWORD 或 ~\/\.pgpass 文件/],
    ['postgresql://db/jinbao?sslmode=allow', /^--state 设置了 sslmode=allow/],
    ['host=db port=99999 dbname=jinbao', /^--state 端口“99999”不是 TCP 端口（1-65535）$/],
    ['postgresql://db/jinbao?sslmode=verify-full', /^--state 设置了 sslmode=verify-full，但没有指定用于验证服务器的根证书/],
    ['postgresql://db/jinbao?frobnicate=1', /^--state 含有 jinbao 不使用的参数“frobnicate”/],
  ])('GIVEN %s THEN the English message is unchanged and the Chinese one says the same', (conn, zh) => {
    const e = refusal(conn);
    expect(e.message).toBe(`--state ${e.problem}`);
    expect(e.localized).toBeDefined();
    expect(say(e.localized!, 'en')).toBe(e.message);
    expect(say(e.localized!, 'zh-CN')).toMatch(zh);
  });
});
