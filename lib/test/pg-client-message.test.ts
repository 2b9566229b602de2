import { describe, expect, it } from 'vitest';
import { say } from '../i18n/index.js';
import { connectErrorMessage, explainConnectError } from '../pg-client.js';
import type { PgConnection } from '../pg-conn.js';

const conn = { source: '--state', host: 'db.example', port: 5432, socket: false, sslmode: 'verify-full', root: { file: '/etc/jinbao/root.pem', from: 'sslrootcert' }, tls: 'TLS', negotiate: false } as unknown as PgConnection;
const failure = (code: string | undefined, message: string) => Object.assign(new Error(message), code ? { code } : {});

describe('a state-database connection failure, said in each language', () => {
  it('GIVEN an expired server certificate, a server without TLS, a refused login and another error THEN the English is explainConnectError\'s and the Chinese names the same facts', () => {
    const expired = connectErrorMessage(failure('CERT_HAS_EXPIRED', 'certificate has expired'), conn, '--state');
    expect(say(expired, 'en')).toBe(explainConnectError(failure('CERT_HAS_EXPIRED', 'certificate has expired'), conn, '--state'));
    expect(say(expired, 'en')).toBe("--state: TLS to db.example:5432 failed: the server's certificate has expired (certificate has expired); give the CA that issued the server's certificate in sslrootcert (now /etc/jinbao/root.pem (sslrootcert))");
    expect(say(expired, 'zh-CN')).toBe('--state：到 db.example:5432 的 TLS 连接失败：服务器证书已过期（certificate has expired）；请在 sslrootcert 中给出签发服务器证书的 CA（当前为 /etc/jinbao/root.pem (sslrootcert)）');
    const noTls = connectErrorMessage(failure(undefined, 'The server does not support SSL connections'), conn);
    expect(say(noTls, 'zh-CN')).toBe('db.example:5432 不提供 TLS，但 sslmode=verify-full 要求 TLS；请在其 postgresql.conf 中打开 ssl，或使用 sslmode=prefer 或 disable');
    expect(say(connectErrorMessage(failure('28P01', 'password authentication failed'), conn), 'zh-CN')).toMatch(/^db\.example:5432 拒绝登录：password authentication failed；通过 PGPASSWORD 或 ~\/\.pgpass 文件/);
    expect(say(connectErrorMessage(failure('ECONNREFUSED', 'connect ECONNREFUSED'), conn, 'x'), 'zh-CN')).toBe('x：connect ECONNREFUSED');
  });
});
