import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { tempDir } from '../../testkit/index.js';
import { settleTls } from '../../lib/pg-client.js';
import { pgConnection } from '../../lib/pg-conn.js';
import { postgresMissing, startPostgres, type PostgresServer } from '../../lib/test/postgres-server.js';

const missing = postgresMissing();
const env = { JINBAO_PKI_PASSPHRASE: 'correct-horse-battery-staple' };
const CN = 'jinbao-state.000000.jinbao.internal';

/**
 * docs/state.md, followed as written: a client certificate for the state database from jinbao's own
 * infrastructure CA, and PostgreSQL's `cert` login mapping its CN to the role, with no password.
 */
describe.skipIf(missing !== undefined)(`a state-database login with a certificate from jinbao's infrastructure CA${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const tmp = tempDir('jinbao-db-client-');
  let server: PostgresServer | undefined;
  afterAll(async () => {
    await server?.close();
    tmp.cleanup();
  });

  it('GIVEN pki issue --profile replica-mtls for the role THEN PostgreSQL logs it in as jinbao_state over verified TLS, and refuses it for another role', async () => {
    const state = join(tmp.dir, 'state');
    const out = join(tmp.dir, 'db-client');
    expect((await runCli(['--state', state, 'pki', 'init', '--algorithm', 'ecdsa-p256'], env)).code).toBe(0);
    const issued = await runCli(['--state', state, 'pki', 'issue', '--profile', 'replica-mtls', '--site', '000000', '--generate', '--subject', `CN=${CN}`, '--dns', CN, '--out', out, '--json'], env);
    expect(issued.code).toBe(0);
    const files = (JSON.parse(issued.stdout) as { files: { certificate: string; chain: string; key: string } }).files;
    // The server trusts jinbao's CAs (the chain file: infrastructure CA and root) for client certificates.
    server = await startPostgres({
      tls: true,
      clientCaFile: files.chain,
      ident: [`jinbao_state_map  ${CN}  jinbao_state`],
      hba: ['local all all trust', 'hostssl all jinbao_state 127.0.0.1/32 cert map=jinbao_state_map', 'host all all 127.0.0.1/32 reject'],
    });
    await server.sql('CREATE ROLE jinbao_state LOGIN');
    await server.sql('CREATE DATABASE jinbao OWNER jinbao_state');
    const login = async (user: string) => {
      const conn = pgConnection(server!.url({ user, dbname: 'jinbao', sslmode: 'verify-full', sslrootcert: server!.tls!.caFile, sslcert: files.certificate, sslkey: files.key }), { source: '--state', env: {} });
      const client = new pg.Client((await settleTls(conn)).config);
      client.on('error', () => undefined);
      await client.connect();
      try {
        return (await client.query<{ user: string; ssl: boolean; cn: string }>('SELECT current_user AS user, ssl, client_dn AS cn FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0];
      } finally {
        await client.end();
      }
    };
    // pg_stat_ssl truncates the DN to 63 bytes.
    expect(await login('jinbao_state')).toEqual({ user: 'jinbao_state', ssl: true, cn: expect.stringMatching(/^\/C=CN\/O=.+\/CN=jinbao-state\./) });
    await server.sql('CREATE ROLE postgres_admin LOGIN');
    await expect(login('postgres_admin')).rejects.toThrow(/pg_hba\.conf|certificate authentication failed/);
    expect(readFileSync(files.key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });
});
