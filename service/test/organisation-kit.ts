/**
 * What the tests of a real `jinbao serve` process with operators share: a state and inventory in a
 * temporary directory, the CA hierarchy, a TLS certificate for 127.0.0.1, operators added with the
 * real CLI, the service started as a child process and stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { freePort, smallInventory, tempDir, waitUntil } from '../../testkit/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
export const PASS = 'correct horse battery staple';

/** An operator as `operator add` handed them over. */
export interface Person {
  readonly id: string;
  readonly p12: string;
  /** The PKCS#12 bundle's password. */
  readonly password: string;
  /** The service password (second factor). */
  readonly login: string;
  readonly serial: string;
  /** The file the service password was written to. */
  readonly loginFile: string;
}

/** The status code of a GET over HTTPS, trusting `ca`. */
export function httpsStatus(url: string, ca: string): Promise<number> {
  return new Promise((done, fail) =>
    request(url, { ca }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    })
      .on('error', fail)
      .end(),
  );
}

export interface Testbed {
  readonly dir: string;
  /** The global options naming the state and the inventory. */
  readonly g: readonly string[];
  /** The environment that holds the CA passphrase. */
  readonly env: Readonly<Record<string, string>>;
  readonly people: Record<string, Person>;
  port: number;
  /** The root CA certificate (PEM), once `init` ran; also in `dir/root.pem`. */
  root: string;
  /** What the running service printed on stdout. */
  stdout: string;
  serve: ChildProcess | undefined;
  url(): string;
  /** Inventory, `pki init`, the root's PEM; with `tls`, a server certificate in `dir/tls.pem` and `dir/tls.key`. */
  init(opts?: { readonly tls?: boolean }): Promise<void>;
  add(key: string, name: string, staffNumber: string, role: string, extra?: readonly string[]): Promise<Person>;
  /** Start `jinbao serve ARGS` and wait for `ready` on its stdout; `withPassphrase: false` leaves the passphrase out of its environment. */
  start(args: readonly string[], ready: string, opts?: { readonly withPassphrase?: boolean }): Promise<void>;
  stop(): Promise<void>;
  cleanup(): void;
}

export function testbed(prefix: string): Testbed {
  const { dir, cleanup } = tempDir(prefix);
  const inventory = join(dir, 'inventory.json');
  const g = ['--state', join(dir, 'state'), '--inventory', inventory];
  const env = { JINBAO_PKI_PASSPHRASE: PASS };
  const bed: Testbed = {
    dir,
    g,
    env,
    people: {},
    port: 0,
    root: '',
    stdout: '',
    serve: undefined,
    url: () => `https://127.0.0.1:${bed.port}`,
    async init(opts = {}) {
      writeFileSync(inventory, JSON.stringify(smallInventory()));
      expect((await runCli([...g, 'pki', 'init'], env)).code).toBe(0);
      bed.root = (await runCli([...g, 'pki', 'cas', '--pem', 'root'])).stdout;
      writeFileSync(join(dir, 'root.pem'), bed.root);
      if (opts.tls) {
        const tls = await runCli([...g, 'pki', 'issue', '--profile', 'server-tls', '--site', '000000', '--generate', '--subject', 'CN=localhost', '--dns', 'localhost', '--ip', '127.0.0.1', '--out', join(dir, 'tls'), '--json'], env);
        expect(tls.code).toBe(0);
        const serial = readdirSync(join(dir, 'tls')).find((f) => f.endsWith('.crt.pem'))!.replace('.crt.pem', '');
        writeFileSync(join(dir, 'tls.pem'), readFileSync(join(dir, 'tls', `${serial}.crt.pem`), 'utf8') + readFileSync(join(dir, 'tls', `${serial}.chain.pem`), 'utf8'));
        writeFileSync(join(dir, 'tls.key'), readFileSync(join(dir, 'tls', `${serial}.key.pem`), 'utf8'));
      }
      bed.port = await freePort();
    },
    async add(key, name, staffNumber, role, extra = []) {
      const r = await runCli([...g, 'operator', 'add', '--name', name, '--staff-number', staffNumber, '--role', role, '--out', join(dir, 'ops'), '--json', ...extra], env);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const a = JSON.parse(r.stdout) as { operator: { id: string; certificateSerial: string }; files: { p12: string; password: string; loginPassword: string } };
      const person = { id: a.operator.id, p12: a.files.p12, password: readFileSync(a.files.password, 'utf8').trim(), login: readFileSync(a.files.loginPassword, 'utf8').trim(), serial: a.operator.certificateSerial, loginFile: a.files.loginPassword };
      bed.people[key] = person;
      return person;
    },
    async start(args, ready, opts = {}) {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, ...(opts.withPassphrase === false ? {} : env) };
      if (opts.withPassphrase === false) delete childEnv.JINBAO_PKI_PASSPHRASE;
      const child = spawn(process.execPath, ['--import', 'tsx', 'bin/jinbao.ts', ...g, 'serve', ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      bed.serve = child;
      child.stdout!.on('data', (b: Buffer) => (bed.stdout += b.toString()));
      await waitUntil(() => bed.stdout.includes(ready), `jinbao serve to print "${ready}"`, { timeoutMs: 60_000 });
    },
    async stop() {
      const child = bed.serve;
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await waitUntil(() => child.exitCode !== null, 'jinbao serve to stop', { timeoutMs: 20_000 });
      }
    },
    cleanup,
  };
  return bed;
}
