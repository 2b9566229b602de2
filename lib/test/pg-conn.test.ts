import { describe, expect, it } from 'vitest';
import { hostAndPort, passwordIn, UnreadableConnectionString } from '../pg-conn.js';

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
