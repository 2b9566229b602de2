/**
 * OCSP through `jinbao serve` against OpenSSL's own responder, in the same run, with the same
 * client (wrk), the same requests and the same signer:
 *  - OpenSSL: `openssl ocsp -index index.txt -CA infra.pem -rsigner infra.pem -rkey infra.key -multi 2 -timeout 1`
 *    (without -timeout a responder process waits forever on a connection the client left open),
 *    answering for the infrastructure CA and signing with that CA's own key (the service signs with
 *    each CA's own key too, RFC 6960 §2.6, so "same signer" is the CA key on both sides);
 *  - jinbao: `jinbao serve --workers N` (default: the cores), POST to /ocsp/infrastructure on its
 *    plain-HTTP listener; and the same spread over two CAs (infrastructure and ministry-staff).
 * A third server sets the floor: a Node HTTP server (the same cluster of --workers processes
 * accepting from the shared socket) that answers every request with fixed bytes the size of the
 * service's answer, and for nonce requests first signs the request with a P-256 key (one signature,
 * as the service makes). Nothing a Node responder does can cost less, so its ratio to OpenSSL is
 * the most any responder in Node reaches on this machine in the same run.
 * Each measured for cached answers (a request without nonce, written by `openssl ocsp -no_nonce`:
 * OpenSSL signs each one anyway, the service serves its cached answer) and for nonce requests (a
 * fresh 16-byte nonce per request: both sign every answer), with and without keep-alive
 * (`Connection: close` on every request). Samples interleaved; ratio = service / OpenSSL (medians).
 *
 * Figures per row: requests/s; wrk's p99 (from the request written to the answer read); and the CPU
 * time (user + system) per answer of the responder's processes and of the client. The client shares
 * the two cores with the responder, so requests/s also says how the two split the machine; CPU per
 * answer says what each responder costs, and is compared too (answers per CPU-second).
 *
 * The client is wrk (C, epoll): a Node client (autocannon) spent about 215 µs of CPU per
 * connection-per-request answer, more than either responder, which capped both near the same rate.
 *
 * OpenSSL's responder is started afresh for every sample and killed after it: OpenSSL 3.0's
 * `-multi` children spin at 100% CPU on `read() = 0` once a client closes an idle keep-alive
 * connection, stop answering, and take the cores the next sample needs.
 *
 * OpenSSL's responder binds every interface, so everything (both servers and the client) runs in
 * a private network namespace made here (`ip netns add`, loopback only) and removed afterwards:
 * needs root. Every child is stopped by its pid, also on failure.
 *
 *   npx tsc -p tsconfig.json && npx tsx bench/ocsp.ts    # 3 samples of 5 s, 4 connections, per configuration
 *   npx tsx bench/ocsp.ts --runs 5 --workers 2
 *   npx tsx bench/ocsp.ts --smoke                         # 1 s loads, proves the paths work
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BenchArgumentError, compare, describe, parseBenchArgs, report, stats, summarize } from './lib.js';

const ROOT = resolve(import.meta.dirname, '..');
const PASS = 'bench passphrase for a throwaway hierarchy';
const log = (line: string) => process.stdout.write(`${line}\n`);
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface LoadSpec {
  readonly base: string;
  /** Path per request kind; requests alternate over `targets`. */
  readonly targets: readonly { path: string; template: string; nonceAt: number }[];
  readonly nonce: boolean;
  readonly keepAlive: boolean;
  readonly seconds: number;
  readonly connections: number;
}

interface LoadResult {
  rps: number;
  /** wrk's latency percentiles, ms: from the request written to the answer read (not the TCP connect). */
  p50: number;
  p99: number;
  /** Connect, read, write and timeout errors. */
  errors: number;
  non2xx: number;
  total: number;
  /** CPU time (user + system) of the responder's processes per answer, µs; filled in by the caller. */
  serverCpuUs?: number;
  /** The load client's CPU time per answer, µs. */
  clientCpuUs?: number;
}

/** A Lua string literal holding `s` (a path). */
const luaString = (s: string) => `"${s.replace(/[\\"]/g, '\\$&')}"`;

/**
 * wrk's script for a spec: POST the request bodies in turn (one path per target), with a fresh
 * 16-byte nonce at the end of each body when asked, and print the figures as one JSON line.
 */
function wrkScript(spec: LoadSpec): string {
  const targets = spec.targets.map((t) => `{ path = ${luaString(t.path)}, file = ${luaString(t.template)}, nonceAt = ${t.nonceAt} }`).join(',\n  ');
  return `-- written by bench/ocsp.ts
local targets = {
  ${targets}
}
for _, t in ipairs(targets) do
  local f = assert(io.open(t.file, "rb"))
  t.body = f:read("*a")
  f:close()
end
local nonce = ${spec.nonce ? 'true' : 'false'}
local headers = { ["Content-Type"] = "application/ocsp-request"${spec.keepAlive ? '' : ', ["Connection"] = "close"'} }
local i = 0
function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
function request()
  i = i + 1
  local t = targets[(i % #targets) + 1]
  local body = t.body
  if nonce then
    local b = {}
    for k = 1, 16 do b[k] = string.char(math.random(0, 255)) end
    body = t.body:sub(1, t.nonceAt) .. table.concat(b)
  end
  return wrk.format("POST", t.path, headers, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('JSON {"total":%d,"us":%d,"errors":%d,"non2xx":%d,"p50":%f,"p99":%f}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
`;
}

/**
 * One sample: wrk (one thread, \`connections\` connections) inside the namespace. wrk is written in
 * C on epoll: a connection per request costs it a fraction of what a Node client pays, so the two
 * shared cores go to the responders. Its CPU time is read from the shell that waited for it.
 */
async function runWrk(ns: string, dir: string, spec: LoadSpec, n: number): Promise<LoadResult> {
  const script = join(dir, `load-${n}.lua`);
  writeFileSync(script, wrkScript(spec));
  // cutime/cstime of the shell (fields 16 and 17 of its stat) are wrk's, once it is reaped
  const shell = 'wrk "$@"; echo "CPU $(cut -d" " -f16,17 /proc/$$/stat)"';
  const [c, a] = inNs(ns, 'bash', ['-c', shell, 'wrk', '-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '5s', '-s', script, spec.base]);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.stderr.on('data', (b: Buffer) => (text += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (spec.seconds + 60) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      code === 0 ? resolve(text) : reject(new Error(`wrk failed (exit ${code}):\n${text}`));
    });
  });
  const json = /^JSON (.*)$/m.exec(out);
  const cpu = /^CPU ([0-9]+) ([0-9]+)$/m.exec(out);
  if (!json || !cpu) throw new Error(`wrk printed no figures:\n${out}`);
  const r = JSON.parse(json[1]!) as { total: number; us: number; errors: number; non2xx: number; p50: number; p99: number };
  return {
    rps: r.us > 0 ? (r.total * 1e6) / r.us : 0,
    p50: r.p50,
    p99: r.p99,
    errors: r.errors,
    non2xx: r.non2xx,
    total: r.total,
    ...(r.total > 0 ? { clientCpuUs: (((Number(cpu[1]) + Number(cpu[2])) / CLOCK_TICKS) * 1e6) / r.total } : {}),
  };
}

function inNs(ns: string, cmd: string, args: string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, cmd, ...args]];
}

/** A server inside the namespace; its stderr (the service's access log: a line per request) goes to `logFile`, not through this process. */
function startChild(ns: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, children: ChildProcess[], logFile: string): { child: ChildProcess; out: () => string } {
  const [c, a] = inNs(ns, cmd, args);
  const fd = openSync(logFile, 'w');
  const child = spawn(c, a, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', fd] });
  closeSync(fd);
  children.push(child);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4096)));
  return { child, out: () => `${out}${readFileSync(logFile, 'utf8').slice(-4096)}` };
}

/**
 * CPU time (user + system, seconds) used so far by a process and every process below it: the live
 * ones from /proc, the exited and reaped ones through the root's cutime/cstime. The two cores are
 * shared by the client and the responder, so requests/s alone says how they split the machine;
 * CPU per answer says what each responder costs.
 */
function treeCpuSeconds(root: number): number {
  const parent = new Map<number, number>();
  const own = new Map<number, number>();
  let reaped = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // the command name may hold spaces and parentheses: the fields start after the last ')'
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    parent.set(pid, Number(f[1]));
    own.set(pid, Number(f[11]) + Number(f[12]));
    if (pid === root) reaped = Number(f[13]) + Number(f[14]);
  }
  if (!own.has(root)) throw new Error(`process ${root} is gone: no CPU figure for it`);
  let ticks = reaped;
  for (const [pid, t] of own) {
    let p: number | undefined = pid;
    for (let depth = 0; p !== undefined && p > 1 && depth < 64; depth++) {
      if (p === root) {
        ticks += t;
        break;
      }
      p = parent.get(p);
    }
  }
  return ticks / CLOCK_TICKS;
}

/** Stop every process left in the namespace (the servers and any child they forked), by pid. */
async function stopNamespace(ns: string): Promise<void> {
  const pids = () => spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    const until = Date.now() + 15_000;
    while (pids().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    if (pids().length === 0) return;
  }
}

/**
 * Kill OpenSSL's responder and the children it forked, and wait until it is gone. `-multi` makes
 * the responder the leader of its own process group (setpgid; which is also why it must not be
 * started detached: a session leader cannot do that, and it exits silently), so the group is
 * exactly the responder and its children (`ip netns exec` execs the command in place).
 */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  for (const target of [-child.pid, child.pid]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // no such group yet, or already gone
    }
  }
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
}

async function waitFor(what: string, test: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!test()) {
    if (Date.now() > until) throw new Error(`${what} did not happen within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


/** openssl ocsp as a relying party inside the namespace: the answer must verify and say `good`. */
function probe(ns: string, o: { url: string; issuer: string; cert: string; root: string; nonce: boolean }): void {
  const [c, a] = inNs(ns, 'openssl', ['ocsp', '-issuer', o.issuer, '-cert', o.cert, '-url', o.url, '-CAfile', o.root, '-verify_other', o.issuer, ...(o.nonce ? [] : ['-no_nonce'])]);
  const r = spawnSync(c, a, { encoding: 'utf8', timeout: 30_000 });
  const text = `${r.stdout}${r.stderr}`;
  if (!text.includes('Response verify OK') || !/: good/.test(text)) throw new Error(`${o.url} answered wrongly:\n${text}`);
}

/**
 * A request written by openssl: with its default nonce (16 bytes, the last bytes of the request,
 * replaced per request by the client) or with `-no_nonce` (identical bytes every time, as browsers
 * and RFC 5019 clients send, so a responder may answer from its cache).
 */
function request(dir: string, name: string, issuer: string, cert: string, nonce: boolean): { template: string; nonceAt: number } {
  const file = join(dir, `${name}${nonce ? '' : '-no-nonce'}.req`);
  execFileSync('openssl', ['ocsp', '-issuer', issuer, '-cert', cert, '-reqout', file, ...(nonce ? [] : ['-no_nonce'])]);
  const der = readFileSync(file);
  return { template: file, nonceAt: nonce ? der.length - 16 : -1 };
}

/** OpenSSL's CA database line for a valid certificate. */
function indexLine(notAfter: Date, serial: string, subject: string): string {
  const t = notAfter.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return `V\t${t}Z\t\t${serial.toUpperCase()}\tunknown\t/${subject.split(/,\s*/).join('/')}\n`;
}

/**
 * The floor server (an ES module run by node): --workers processes sharing the listening socket
 * as `jinbao serve` does (SCHED_NONE), reading each request whole and answering with the bytes
 * of `body`; on /sign it first signs the request with `key` and puts the signature at the end
 * of the answer.
 */
const FLOOR_SERVER = `// written by bench/ocsp.ts
import cluster from 'node:cluster';
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
const [workers, port, bodyFile, keyFile] = process.argv.slice(2);
if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < Number(workers); i++) cluster.fork();
} else {
  const body = readFileSync(bodyFile);
  const key = createPrivateKey(readFileSync(keyFile));
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let answer = body;
      if (req.url === '/sign') {
        const signature = sign('sha256', Buffer.concat(chunks), key);
        answer = Buffer.concat([body.subarray(0, Math.max(0, body.length - signature.length)), signature]);
      }
      res.writeHead(200, { 'content-type': 'application/ocsp-response', 'content-length': answer.length });
      res.end(answer);
    });
  });
  server.keepAliveTimeout = 5000;
  server.listen(Number(port), '127.0.0.1');
}
`;

/** True once something in the namespace accepts connections on `port`. */
function listening(ns: string, port: number): boolean {
  const [c, a] = inNs(ns, 'bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]);
  return spawnSync(c, a, { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

async function main(): Promise<void> {
  // Imported here, not at the top: the load client runs this file too and must start fast.
  const { LocalOpsContext } = await import('../orchestration/index.js');
  const { initHierarchy, Issuer, PkiStore, toPem } = await import('../pki/index.js');
  const { smallInventory } = await import('../testkit/index.js');
  const argv = process.argv.slice(2);
  const workersAt = argv.indexOf('--workers');
  const workersText = workersAt >= 0 ? argv.splice(workersAt, 2)[1] : String(availableParallelism());
  const workers = /^[0-9]+$/.test(workersText ?? '') ? Number(workersText) : NaN;
  if (!(workers >= 1 && workers <= 64)) {
    process.stderr.write(`--workers: got "${workersText ?? ''}", want a whole number from 1 to 64\n`);
    process.exit(2);
  }
  let args: ReturnType<typeof parseBenchArgs>;
  try {
    args = parseBenchArgs(argv, { runs: 3, smokeRuns: 1 });
  } catch (err) {
    if (!(err instanceof BenchArgumentError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  const SECONDS = args.smoke ? 1 : 5;
  // OpenSSL's responder serves one connection per process at a time: more connections than its
  // processes leave the rest waiting (a run with 16 got no answer from it within 5 s).
  const CONNECTIONS = args.smoke ? 2 : 4;
  if (process.getuid?.() !== 0) throw new Error('bench/ocsp.ts needs root: OpenSSL\'s responder binds every interface, so it runs in a private network namespace');
  const jinbao = join(ROOT, 'dist', 'bin', 'jinbao.js');
  if (!existsSync(jinbao)) throw new Error('dist/bin/jinbao.js is missing: run npx tsc -p tsconfig.json first');
  const dir = mkdtempSync(join(tmpdir(), 'jinbao-bench-ocsp-'));
  const ns = `jinbao-ocsp-${process.pid}`;
  const children: ChildProcess[] = [];
  const load = { before: loadavg().map((x) => +x.toFixed(2)), after: [] as number[] };
  const summary: Record<string, unknown> = { bench: 'ocsp', runs: args.runs, smoke: args.smoke, workers, seconds: SECONDS, connections: CONNECTIONS, machine: { cores: availableParallelism(), node: process.version } };
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const state = join(dir, 'state');
    const inventory = join(dir, 'inventory.json');
    writeFileSync(inventory, JSON.stringify(smallInventory()));
    const servePort = 9443;
    const httpPort = 9080;
    const opensslPort = 9081;
    const floorPort = 9082;
    const ctx = new LocalOpsContext({ stateDir: state, inventory });
    const f: Record<string, string> = {};
    try {
      const pki = await PkiStore.open(await ctx.database(), state);
      await initHierarchy(pki, { algorithm: 'ecdsa-p256', passphrase: PASS, distributionBase: `http://127.0.0.1:${httpPort}` });
      const issuer = new Issuer(pki, ctx.fabric(), PASS);
      const server = await issuer.issue({ profile: 'server-tls', site: '440100', generate: { subject: 'CN=app.440100.jinbao.internal' }, dns: ['app.440100.jinbao.internal'] });
      const staff = await issuer.issue({ profile: 'ocsp-signing', site: '000000', caId: 'ministry-staff', generate: { subject: 'CN=OCSP ministry-staff' } });
      const infra = (await pki.getCa('infrastructure'))!;
      const write = (name: string, text: string | Buffer) => {
        f[name] = join(dir, name);
        writeFileSync(f[name]!, text, { mode: 0o600 });
      };
      write('root.pem', toPem(server.chainDer[server.chainDer.length - 1]!));
      write('infra.pem', toPem(infra.der));
      write('infra.key', (await pki.keyPem(infra.keyRef))!);
      write('staff-ca.pem', toPem(staff.chainDer[0]!));
      write('server.pem', toPem(server.certificateDer));
      write('staff.pem', toPem(staff.certificateDer));
      write('index.txt', indexLine(server.record.notAfter, server.record.serial, server.record.subject));
    } finally {
      await ctx.close();
    }
    const env = { JINBAO_PKI_PASSPHRASE: PASS };
    const serve = startChild(ns, process.execPath, [jinbao, '--state', state, '--inventory', inventory, 'serve', '--workers', String(workers), '--listen', `127.0.0.1:${servePort}`, '--http-listen', `127.0.0.1:${httpPort}`], env, children, join(dir, 'serve.log'));
    await waitFor('jinbao serve listening', () => serve.out().includes('listening on') || serve.child.exitCode !== null, 120_000);
    if (serve.child.exitCode !== null) throw new Error(`jinbao serve exited: ${serve.out()}`);

    const jinbaoBase = `http://127.0.0.1:${httpPort}`;
    const opensslBase = `http://127.0.0.1:${opensslPort}`;
    const opensslArgs = ['ocsp', '-index', f['index.txt']!, '-port', String(opensslPort), '-CA', f['infra.pem']!, '-rsigner', f['infra.pem']!, '-rkey', f['infra.key']!, '-passin', 'env:JINBAO_PKI_PASSPHRASE', '-multi', '2', '-nmin', '60', '-ignore_err', '-timeout', '1'];
    /** A fresh OpenSSL responder, answering (it prints nothing when it listens with -multi: ask until it answers). */
    const startOpenssl = async () => {
      const ossl = startChild(ns, 'openssl', opensslArgs, env, children, join(dir, 'openssl.log'));
      await waitFor('openssl ocsp answering', () => {
        try {
          probe(ns, { url: opensslBase, issuer: f['infra.pem']!, cert: f['server.pem']!, root: f['root.pem']!, nonce: false });
          return true;
        } catch {
          if (ossl.child.exitCode !== null) throw new Error(`openssl ocsp exited: ${ossl.out()}`);
          return false;
        }
      }, 30_000);
      return ossl;
    };
    const req = {
      infra: { cached: request(dir, 'infra', f['infra.pem']!, f['server.pem']!, false), nonce: request(dir, 'infra', f['infra.pem']!, f['server.pem']!, true) },
      staff: { cached: request(dir, 'staff', f['staff-ca.pem']!, f['staff.pem']!, false), nonce: request(dir, 'staff', f['staff-ca.pem']!, f['staff.pem']!, true) },
    };
    const first = await startOpenssl();
    for (const nonce of [false, true]) {
      probe(ns, { url: opensslBase, issuer: f['infra.pem']!, cert: f['server.pem']!, root: f['root.pem']!, nonce });
      probe(ns, { url: `${jinbaoBase}/ocsp/infrastructure`, issuer: f['infra.pem']!, cert: f['server.pem']!, root: f['root.pem']!, nonce });
      probe(ns, { url: `${jinbaoBase}/ocsp/ministry-staff`, issuer: f['staff-ca.pem']!, cert: f['staff.pem']!, root: f['root.pem']!, nonce });
    }
    await stopGroup(first.child);
    // The floor answers with bytes the size of the service's cached answer, fetched here.
    const [fc, fa] = inNs(ns, 'openssl', ['ocsp', '-reqin', req.infra.cached.template, '-url', `${jinbaoBase}/ocsp/infrastructure`, '-respout', join(dir, 'answer.der'), '-noverify']);
    execFileSync(fc, fa, { stdio: 'ignore', timeout: 30_000 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, 'floor.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(join(dir, 'floor.mjs'), FLOOR_SERVER);
    const floor = startChild(ns, process.execPath, [join(dir, 'floor.mjs'), String(workers), String(floorPort), join(dir, 'answer.der'), join(dir, 'floor.key')], {}, children, join(dir, 'floor.log'));
    await waitFor('the floor server listening', () => listening(ns, floorPort) || floor.child.exitCode !== null, 30_000);
    if (floor.child.exitCode !== null) throw new Error(`the floor server exited: ${floor.out()}`);
    const floorBase = `http://127.0.0.1:${floorPort}`;
    log(`answers verified by openssl ocsp (both responders, with and without nonce); jinbao serve --workers ${workers}, openssl ocsp -multi 2; ${CONNECTIONS} connections, ${SECONDS} s per sample`);

    const kinds = [
      { name: 'cached (no nonce)', nonce: false },
      { name: 'nonce (signed per request)', nonce: true },
    ] as const;
    const configs: { key: string; base: string; targets: LoadSpec['targets']; nonce: boolean; keepAlive: boolean }[] = [];
    for (const k of kinds) {
      const infraReq = k.nonce ? req.infra.nonce : req.infra.cached;
      const staffReq = k.nonce ? req.staff.nonce : req.staff.cached;
      const one = [{ path: '/ocsp/infrastructure', ...infraReq }];
      const two = [{ path: '/ocsp/infrastructure', ...infraReq }, { path: '/ocsp/ministry-staff', ...staffReq }];
      for (const keepAlive of [true, false]) {
        const tag = `${k.name}, ${keepAlive ? 'keep-alive' : 'no keep-alive'}`;
        configs.push({ key: `openssl | ${tag}`, base: opensslBase, targets: [{ path: '/', ...infraReq }], nonce: k.nonce, keepAlive });
        configs.push({ key: `jinbao | ${tag}`, base: jinbaoBase, targets: one, nonce: k.nonce, keepAlive });
        configs.push({ key: `jinbao, two CAs | ${tag}`, base: jinbaoBase, targets: two, nonce: k.nonce, keepAlive });
        configs.push({ key: `node floor | ${tag}`, base: floorBase, targets: [{ path: k.nonce ? '/sign' : '/fixed', ...infraReq }], nonce: k.nonce, keepAlive });
      }
    }
    let n = 0;
    const runLoad = (spec: LoadSpec) => runWrk(ns, dir, spec, n++);
    // Warm-up, not measured: the JIT of every worker, the answer caches (OpenSSL's responder is
    // started afresh per sample: nothing of it to warm).
    for (const c of configs.filter((x) => x.keepAlive && x.base !== opensslBase)) await runLoad({ base: c.base, targets: c.targets, nonce: c.nonce, keepAlive: true, seconds: 1, connections: CONNECTIONS });
    const samples = new Map<string, LoadResult[]>(configs.map((c) => [c.key, []]));
    for (let run = 0; run < args.runs; run++) {
      for (const c of configs) {
        const ossl = c.base === opensslBase ? await startOpenssl() : undefined;
        try {
          const server = ossl ? ossl.child.pid! : c.base === floorBase ? floor.child.pid! : serve.child.pid!;
          const before = treeCpuSeconds(server);
          const r = await runLoad({ base: c.base, targets: c.targets, nonce: c.nonce, keepAlive: c.keepAlive, seconds: SECONDS, connections: CONNECTIONS });
          if (r.total > 0) r.serverCpuUs = ((treeCpuSeconds(server) - before) * 1e6) / r.total;
          // Every answer must be a 200: a responder refusing fast is not a fast responder.
          if (r.non2xx > 0) throw new Error(`${c.key}: ${r.non2xx} of ${r.total} answers were not 2xx; the responder's log ends:\n${(ossl ?? (c.base === floorBase ? floor : serve)).out().slice(-2000)}`);
          samples.get(c.key)!.push(r);
        } finally {
          if (ossl) await stopGroup(ossl.child);
        }
      }
    }
    load.after = loadavg().map((x) => +x.toFixed(2));
    const rows: Record<string, unknown> = {};
    for (const c of configs) {
      const l = samples.get(c.key)!;
      const bad = l.reduce((a, x) => a + x.errors + x.non2xx, 0);
      const latency = stats(l.map((x) => x.p99));
      const serverCpu = stats(l.map((x) => x.serverCpuUs ?? NaN));
      const clientCpu = stats(l.map((x) => x.clientCpuUs ?? NaN));
      log(`${c.key}: ${describe(stats(l.map((x) => x.rps)), 'req/s', 0)}, p99 ${describe(latency, 'ms', 1)}, CPU per answer: responder ${describe(serverCpu, 'µs', 0)}, client ${describe(clientCpu, 'µs', 0)}; ${bad} errors or non-2xx of ${l.reduce((a, x) => a + x.total, 0)}`);
      rows[c.key] = { rps: stats(l.map((x) => x.rps)), p99Ms: latency, responderCpuUsPerAnswer: serverCpu, clientCpuUsPerAnswer: clientCpu, errorsOrNon2xx: bad };
    }
    const ratios: Record<string, unknown> = {};
    const efficiency: Record<string, unknown> = {};
    const floors: Record<string, unknown> = {};
    const invalid: string[] = [];
    for (const k of kinds) {
      for (const keepAlive of [true, false]) {
        const tag = `${k.name}, ${keepAlive ? 'keep-alive' : 'no keep-alive'}`;
        const cmp = compare({
          subject: `jinbao serve --workers ${workers}, ${tag}`,
          baseline: 'openssl ocsp -multi 2, same CA, same signer, same requests, same client',
          unit: 'req/s',
          work: `${SECONDS} s, ${CONNECTIONS} connections`,
          subjectSamples: samples.get(`jinbao | ${tag}`)!.map((x) => x.rps),
          baselineSamples: samples.get(`openssl | ${tag}`)!.map((x) => x.rps),
        });
        log(report(cmp, 0));
        ratios[tag] = summarize(cmp);
        // Answers per CPU-second of the responder: what each costs, whoever wins the shared cores.
        const perCpu = (l: LoadResult[]) => l.map((x) => (x.serverCpuUs ? 1e6 / x.serverCpuUs : NaN));
        const eff = compare({
          subject: `jinbao serve --workers ${workers}, ${tag}`,
          baseline: 'openssl ocsp -multi 2',
          unit: 'answers per CPU-second of the responder',
          work: `${SECONDS} s, ${CONNECTIONS} connections`,
          subjectSamples: perCpu(samples.get(`jinbao | ${tag}`)!),
          baselineSamples: perCpu(samples.get(`openssl | ${tag}`)!),
        });
        log(report(eff, 0));
        efficiency[tag] = summarize(eff);
        if (!(cmp.baselineStats.median > 0)) {
          invalid.push(tag);
          continue;
        }
        // The most a responder in Node reaches here: what it costs to answer at all.
        const floorCmp = compare({
          subject: `node floor (a Node HTTP server, --workers ${workers}, fixed answer${k.nonce ? ' plus one P-256 signature' : ''}), ${tag}`,
          baseline: 'openssl ocsp -multi 2, same CA, same signer, same requests, same client',
          unit: 'req/s',
          work: `${SECONDS} s, ${CONNECTIONS} connections`,
          subjectSamples: samples.get(`node floor | ${tag}`)!.map((x) => x.rps),
          baselineSamples: samples.get(`openssl | ${tag}`)!.map((x) => x.rps),
        });
        log(report(floorCmp, 0));
        floors[tag] = summarize(floorCmp);
      }
    }
    log(`load average before ${load.before.join(' ')}, after ${load.after.join(' ')} (${availableParallelism()} cores; target ≥ 1.5x OpenSSL for cached and nonce requests)`);
    Object.assign(summary, { loadAverage: load, results: rows, ratios, efficiency, floor: floors });
    if (invalid.length) {
      const why = `OpenSSL's responder answered no request for: ${invalid.join('; ')}: no comparison in this run`;
      // A smoke run proves the paths (both responders verified above); OpenSSL's -multi responder
      // sometimes stalls a whole 1 s sample, which says nothing about jinbao.
      if (!args.smoke) throw new Error(why);
      log(`note: ${why}`);
      Object.assign(summary, { noComparison: invalid });
    }
  } finally {
    await stopNamespace(ns);
    for (const c of children) {
      c.stdin?.destroy();
      c.stdout?.destroy();
    }
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

await main();
