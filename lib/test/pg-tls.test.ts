import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainConnectError, settleTls } from '../pg-client.js';
import { pgConnection, type ConnectionOptions } from '../pg-conn.js';
import { postgresMissing, startPostgres, type PostgresServer } from './postgres-server.js';

const missing = postgresMissing();

/** Connect as jinbao does (read as libpq, TLS settled) and say whether the session is encrypted. */
async function session(url: string, opts: Partial<ConnectionOptions> = {}): Promise<{ user: string; ssl: boolean; tls: string }> {
  const conn = pgConnection(url, { source: 'the test', home: '/nonexistent', env: {}, ...opts });
  const { config, tls } = await settleTls(conn);
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new Error(explainConnectError(err, conn, 'the test'), { cause: err });
  } finally {
    // connect() failures leave nothing open; end() below is for the success path
  }
  try {
    const r = await client.query<{ user: string; ssl: boolean }>('SELECT current_user AS user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return { ...r.rows[0]!, tls };
  } finally {
    await client.end();
  }
}

describe.skipIf(missing !== undefined)(`connection strings mean what libpq says, against real PostgreSQL servers${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let tlsServer: PostgresServer;
  let plainServer: PostgresServer;

  beforeAll(async () => {
    [tlsServer, plainServer] = await Promise.all([
      startPostgres({
        tls: true,
        clientUsers: ['jinbao_state'],
        conf: [`listen_addresses = '127.0.0.1,127.0.0.2'`],
        hba: ['local all all trust', 'hostssl all jinbao_state 127.0.0.1/32 cert', 'hostssl all pw_user 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 trust', 'host all all 127.0.0.2/32 trust'],
      }),
      startPostgres(),
    ]);
    await tlsServer.sql("CREATE ROLE pw_user LOGIN PASSWORD 'Correct-Horse-9'");
  });
  afterAll(async () => {
    await Promise.all([tlsServer?.close(), plainServer?.close()]);
  });

  it('GIVEN a server with a private CA WHEN sslmode=require and no root certificate THEN the session is encrypted without verifying (plain node-postgres refuses it)', async () => {
    const url = tlsServer.url({ sslmode: 'require' });
    expect(await session(url)).toEqual({ user: 'postgres', ssl: true, tls: 'TLS, server not verified (sslmode=require and no root certificate)' });
    const raw = new pg.Client({ connectionString: url });
    raw.on('error', () => undefined);
    await expect(raw.connect()).rejects.toThrow(/self-signed certificate in certificate chain|unable to verify/);
  });

  it('GIVEN verify-ca and verify-full THEN the chain is verified against sslrootcert, and verify-full also checks the host name', async () => {
    const ca = tlsServer.tls!.caFile;
    expect(await session(tlsServer.url({ sslmode: 'verify-full', sslrootcert: ca }))).toMatchObject({ ssl: true, tls: `TLS, server verified against ${ca} (sslrootcert of the test), host name checked (sslmode=verify-full)` });
    // The certificate names 127.0.0.1 and localhost, not 127.0.0.2.
    const other = (mode: string) => tlsServer.url({ sslmode: mode, sslrootcert: ca }).replace('127.0.0.1', '127.0.0.2');
    expect(await session(other('verify-ca'))).toMatchObject({ ssl: true, tls: expect.stringContaining('host name not checked (sslmode=verify-ca)') });
    await expect(session(other('verify-full'))).rejects.toThrow(
      /^the test: TLS to 127\.0\.0\.2:\d+ failed: the server's certificate does not name the host connected to \(.*\); connect by a name the certificate carries, or use sslmode=verify-ca to check the chain only$/,
    );
    await expect(session(tlsServer.url({ sslmode: 'verify-ca', sslrootcert: tlsServer.tls!.otherCaFile }))).rejects.toThrow(
      new RegExp(`^the test: TLS to 127\\.0\\.0\\.1:\\d+ failed: the server's certificate chains to a root other than the one given \\(.*\\); give the CA that issued the server's certificate in sslrootcert \\(now ${tlsServer.tls!.otherCaFile} \\(sslrootcert of the test\\)\\)$`),
    );
  });

  it('GIVEN sslmode=require and a trust anchor jinbao knows (a pair file\'s tls.ca) THEN it verifies against it and says so', async () => {
    const url = tlsServer.url({ sslmode: 'require' });
    const anchor = (file: string) => ({ trustAnchor: { file, from: 'tls.ca of pair.yaml' } });
    expect(await session(url, anchor(tlsServer.tls!.caFile))).toMatchObject({ ssl: true, tls: `TLS, server verified against ${tlsServer.tls!.caFile} (tls.ca of pair.yaml), host name not checked (sslmode=require)` });
    await expect(session(url, anchor(tlsServer.tls!.otherCaFile))).rejects.toThrow(/failed: the server's certificate chains to a root other than the one given/);
    // A root certificate in the string wins over the anchor.
    expect(await session(tlsServer.url({ sslmode: 'require', sslrootcert: tlsServer.tls!.caFile }), anchor(tlsServer.tls!.otherCaFile))).toMatchObject({ ssl: true });
  });

  it('GIVEN sslmode=prefer (libpq\'s default) THEN TLS where the server offers it and plain where it does not; require against a server without TLS is refused', async () => {
    expect(await session(tlsServer.url())).toMatchObject({ ssl: true, tls: 'TLS, server not verified (sslmode=prefer and no root certificate)' });
    expect(await session(plainServer.url())).toMatchObject({ ssl: false, tls: 'no TLS (sslmode=prefer and the server offers none)' });
    expect(await session(plainServer.url({ sslmode: 'disable' }))).toMatchObject({ ssl: false, tls: 'no TLS (sslmode=disable)' });
    await expect(session(plainServer.url({ sslmode: 'require' }))).rejects.toThrow(
      new RegExp(`^the test: 127\\.0\\.0\\.1:${plainServer.port} offers no TLS but sslmode=require requires it; turn ssl on in its postgresql.conf, or use sslmode=prefer or disable$`),
    );
  });

  it('GIVEN a client certificate from the CA THEN it logs in without any password; PGPASSWORD works for a password role', async () => {
    const { cert, key } = tlsServer.tls!.clients.jinbao_state!;
    expect(await session(tlsServer.url({ user: 'jinbao_state', sslmode: 'verify-full', sslrootcert: tlsServer.tls!.caFile, sslcert: cert, sslkey: key }))).toMatchObject({ user: 'jinbao_state', ssl: true });
    // Through libpq's environment variables as well.
    expect(await session(tlsServer.url({ user: 'jinbao_state', sslmode: 'verify-full' }), { env: { PGSSLROOTCERT: tlsServer.tls!.caFile, PGSSLCERT: cert, PGSSLKEY: key } })).toMatchObject({ user: 'jinbao_state' });
    await expect(session(tlsServer.url({ user: 'jinbao_state', sslmode: 'require' }))).rejects.toThrow(/certificate/);
    const before = process.env.PGPASSWORD;
    process.env.PGPASSWORD = 'Correct-Horse-9';
    try {
      expect(await session(tlsServer.url({ user: 'pw_user', sslmode: 'require' }))).toMatchObject({ user: 'pw_user', ssl: true });
      process.env.PGPASSWORD = 'wrong';
      await expect(session(tlsServer.url({ user: 'pw_user', sslmode: 'require' }))).rejects.toThrow(
        /^the test: 127\.0\.0\.1:\d+ refused the login: password authentication failed for user "pw_user"; give the password in PGPASSWORD or a ~\/\.pgpass file \(mode 0600\), or log in with a client certificate/,
      );
    } finally {
      if (before === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = before;
    }
  });
});
