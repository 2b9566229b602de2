import { execFile, spawnSync } from 'node:child_process';
import { freePort } from '../../testkit/index.js';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A real PostgreSQL 15 server for a test suite: initdb in a fresh folder under /tmp, its own Unix
 * socket folder and loopback port, optionally TLS with a private CA (and client certificates from
 * it), stopped by its pid and removed by `close()`. Shared by every test that needs a database.
 *
 *   const pg = await startPostgres({ tls: true });
 *   afterAll(() => pg.close());
 *   pg.url({ user: 'postgres', sslmode: 'verify-full', sslrootcert: pg.tls!.caFile })
 *
 * As root the server runs as the `postgres` user (PostgreSQL refuses root), so the folder is
 * opened for traversal and its files are chowned; otherwise it runs as the current user.
 */

const run = promisify(execFile);
export const PG_BIN = process.env.JINBAO_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;

/** Why the fixture cannot run here, or undefined when it can (use with describe.skipIf). */
export function postgresMissing(): string | undefined {
  if (!existsSync(join(PG_BIN, 'pg_ctl'))) return `PostgreSQL 15 server tools are not in ${PG_BIN} (apt-get install --no-install-recommends postgresql)`;
  if (asRoot && spawnSync('id', ['-u', 'postgres']).status !== 0) return 'there is no postgres user to run the server as';
  if (spawnSync('openssl', ['version']).status !== 0) return 'openssl is not installed';
  return undefined;
}

export interface PostgresOptions {
  /** Serve TLS with a server certificate from a private CA made for this server. @default false */
  readonly tls?: boolean;
  /** pg_hba.conf lines. @default local and loopback connections trusted (and, with TLS, `cert` logins for `clientUsers`) */
  readonly hba?: readonly string[];
  /** Roles to create (LOGIN), each with a client certificate when `tls` is on. @default [] */
  readonly clientUsers?: readonly string[];
  /** With `tls`: the CA bundle client certificates must chain to (ssl_ca_file). @default the private CA */
  readonly clientCaFile?: string;
  /** pg_ident.conf lines (for `cert ... map=NAME` in hba). */
  readonly ident?: readonly string[];
  /** Extra postgresql.conf lines. */
  readonly conf?: readonly string[];
  /** Folder name prefix under /tmp. @default 'jinbao-pg-' */
  readonly prefix?: string;
}

export interface TlsFiles {
  readonly caFile: string;
  /** A CA that did not issue anything here: a wrong trust anchor. */
  readonly otherCaFile: string;
  readonly serverCert: string;
  /** Client certificate and key per role in `clientUsers`. */
  readonly clients: Readonly<Record<string, { readonly cert: string; readonly key: string }>>;
}

export interface PostgresServer {
  readonly dir: string;
  readonly port: number;
  readonly socketDir: string;
  readonly dataDir: string;
  readonly superuser: 'postgres';
  readonly tls?: TlsFiles;
  /** A postgresql:// URI to this server over TCP on 127.0.0.1 with the given libpq parameters. */
  url(params?: Readonly<Record<string, string>> & { readonly user?: string; readonly dbname?: string }): string;
  /** Run SQL as the superuser over the Unix socket (psql); returns its unaligned output. */
  sql(query: string, dbname?: string): Promise<string>;
  /** The postmaster's pid, when it runs. */
  pid(): number | undefined;
  /** Fast shutdown (clients are disconnected, committed work is on disk). */
  stop(): Promise<void>;
  /** SIGKILL the postmaster and its children at once, as a crashed machine would. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Stop everything and remove the folder. */
  close(): Promise<void>;
}

export async function startPostgres(opts: PostgresOptions = {}): Promise<PostgresServer> {
  const dir = mkdtempSync(join('/tmp', opts.prefix ?? 'jinbao-pg-'));
  chmodSync(dir, 0o711);
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  const logFile = join(dir, 'server.log');
  mkdirSync(socketDir, { mode: 0o700 });
  const ids = asRoot ? postgresIds() : undefined;
  const own = (p: string) => ids && chownSync(p, ids.uid, ids.gid);
  const tool = (name: string, args: readonly string[]) => (asRoot ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, name), ...args]) : run(join(PG_BIN, name), [...args]));
  const port = await freePort();
  let tls: TlsFiles | undefined;
  try {
    own(socketDir);
    own(dir);
    const clientUsers = opts.clientUsers ?? [];
    if (opts.tls) tls = makeTls(join(dir, 'tls'), clientUsers, own);
    // A copy the server's user can read, wherever the caller keeps the bundle.
    const clientCa = opts.tls && opts.clientCaFile ? join(dir, 'tls', 'client-ca.pem') : undefined;
    if (clientCa) copyFileSync(opts.clientCaFile!, clientCa);
    await tool('initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    const conf = [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${socketDir}'`,
      `max_connections = 60`,
      `shared_buffers = '32MB'`,
      `fsync = on`,
      ...(tls ? [`ssl = on`, `ssl_cert_file = '${tls.serverCert}'`, `ssl_key_file = '${join(dir, 'tls', 'server.key')}'`, `ssl_ca_file = '${clientCa ?? tls.caFile}'`] : []),
      ...(opts.conf ?? []),
    ];
    writeFileSync(join(dataDir, 'postgresql.conf'), conf.join('\n') + '\n');
    const hba = opts.hba ?? [
      'local all all trust',
      ...(tls ? clientUsers.map((u) => `hostssl all ${u} 127.0.0.1/32 cert`) : []),
      'host all all 127.0.0.1/32 trust',
    ];
    writeFileSync(join(dataDir, 'pg_hba.conf'), hba.join('\n') + '\n');
    writeFileSync(join(dataDir, 'pg_ident.conf'), (opts.ident ?? []).join('\n') + '\n');
    for (const f of ['postgresql.conf', 'pg_hba.conf', 'pg_ident.conf']) own(join(dataDir, f));
    const server: PostgresServer = {
      dir,
      port,
      socketDir,
      dataDir,
      superuser: 'postgres',
      ...(tls ? { tls } : {}),
      url(params = {}) {
        const { user = 'postgres', dbname = 'postgres', ...rest } = params;
        const query = new URLSearchParams(rest as Record<string, string>).toString();
        return `postgresql://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(dbname)}${query ? `?${query}` : ''}`;
      },
      async sql(query, dbname = 'postgres') {
        const args = ['-h', socketDir, '-p', String(port), '-U', 'postgres', '-d', dbname, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query];
        const r = asRoot ? await run('runuser', ['-u', 'postgres', '--', 'psql', ...args]) : await run('psql', args);
        return r.stdout.trim();
      },
      pid() {
        const file = join(dataDir, 'postmaster.pid');
        if (!existsSync(file)) return undefined;
        const pid = Number.parseInt(readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
        return Number.isFinite(pid) && alive(pid) ? pid : undefined;
      },
      async stop() {
        if (server.pid() === undefined) return;
        await tool('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60']);
      },
      async kill() {
        const pid = server.pid();
        if (pid === undefined) return;
        const children = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
        for (const p of [pid, ...children]) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        const deadline = Date.now() + 15_000;
        while ([pid, ...children].some(alive)) {
          if (Date.now() > deadline) throw new Error(`PostgreSQL processes still alive 15 s after SIGKILL: ${[pid, ...children].filter(alive).join(', ')}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        // The lock files name a dead process that may stay a zombie until init reaps it, which
        // PostgreSQL would take for a live server ("Is another postmaster running?").
        rmSync(join(dataDir, 'postmaster.pid'), { force: true });
        rmSync(join(socketDir, `.s.PGSQL.${port}.lock`), { force: true });
        rmSync(join(socketDir, `.s.PGSQL.${port}`), { force: true });
      },
      async start() {
        if (server.pid() !== undefined) return;
        try {
          await tool('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
        } catch (err) {
          const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-5).join('\n') : '';
          throw new Error(`PostgreSQL in ${dataDir} did not start: ${(err as Error).message}\n${log}`, { cause: err });
        }
      },
      async close() {
        await server.stop().catch(() => server.kill());
        rmSync(dir, { recursive: true, force: true });
      },
    };
    await server.start();
    for (const u of clientUsers) await server.sql(`CREATE ROLE "${u}" LOGIN`);
    return server;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A private CA, a server certificate for 127.0.0.1 and localhost, client certificates, and an unrelated CA. */
function makeTls(dir: string, clients: readonly string[], own: (p: string) => void): TlsFiles {
  mkdirSync(dir, { mode: 0o755 });
  const openssl = (args: readonly string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['ca', 'other-ca']) openssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=jinbao test ${ca}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const leaf = (name: string, cn: string, ext: readonly string[]) => {
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    writeFileSync(join(dir, `${name}.ext`), ext.join('\n') + '\n');
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
    chmodSync(join(dir, `${name}.key`), 0o600);
  };
  leaf('server', 'localhost', ['subjectAltName=DNS:localhost,IP:127.0.0.1', 'extendedKeyUsage=serverAuth']);
  own(join(dir, 'server.key'));
  const out: Record<string, { cert: string; key: string }> = {};
  for (const u of clients) {
    leaf(`client-${u}`, u, ['extendedKeyUsage=clientAuth']);
    out[u] = { cert: join(dir, `client-${u}.crt`), key: join(dir, `client-${u}.key`) };
  }
  return { caFile: join(dir, 'ca.crt'), otherCaFile: join(dir, 'other-ca.crt'), serverCert: join(dir, 'server.crt'), clients: out };
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('there is no postgres user (apt-get install --no-install-recommends postgresql)');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

