/**
 * Every benchmark, one after another, each in its own process: `npm run bench`.
 *
 *   npm run bench                          # all of them (≈ 15 min on 2 cores)
 *   npm run bench -- --list                # what each measures and against which baseline
 *   npm run bench -- --only pki,synth      # some of them
 *   npm run bench -- --runs 3              # samples per measurement (each benchmark has its default)
 *   npm run bench -- --smoke               # token sizes: proves they run, figures mean nothing
 *
 * Each benchmark prints human lines and ends with one JSON line; this runner collects those lines
 * and ends with a table of what ran, how long it took and whether it passed (exit 1 if one failed).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchArgumentError, parseRuns } from './lib.js';

export interface BenchEntry {
  readonly name: string;
  readonly measures: string;
  readonly baseline: string;
  /** Needs root (real PostgreSQL run as its own user, network namespaces). */
  readonly root: boolean;
  /** Takes --runs and --smoke (bench/lib.ts). */
  readonly standardArgs: boolean;
  /** Why it is left out of --smoke, if it is. */
  readonly notInSmoke?: string;
}

export const BENCHES: readonly BenchEntry[] = [
  { name: 'inventory', measures: 'load + validate + allocate the national inventory, built-in and from YAML (fresh processes, compiled code)', baseline: 'the same YAML parsed with the yaml package\'s document API', root: false, standardArgs: true },
  { name: 'synth', measures: 'whole-nation cdktf synthesis: cold, no-op, one site changed (fresh processes)', baseline: 'naive synthesis of the same stacks (whole-package provider import, one App, cdktf defaults)', root: false, standardArgs: true },
  { name: 'pki', measures: 'certificate issuance through the pipeline, one commit each and in group commits, per CA algorithm', baseline: 'raw signing with the same CA key, the same number of times; node-forge issuing the same number of RSA certificates', root: false, standardArgs: true },
  { name: 'pki-revocation', measures: 'full and delta CRLs over 1,000,000 revocations, revocation rate, the OCSP responder under load', baseline: 'a pkijs object-tree CRL over the same entries; the same revocations on an empty store; the responder with its cache off', root: false, standardArgs: true },
  { name: 'ocsp', measures: 'OCSP requests/s, p99 and CPU per answer through jinbao serve --workers N (cores): cached and nonce requests, with and without keep-alive, one CA and two', baseline: 'openssl ocsp -index -multi 2 in the same run: same CA, same signer, same requests, same client (wrk), in a private network namespace; also CPU per answer of each responder, and a bare Node HTTP server (fixed answer, one signature for nonce requests): the floor, the most any responder in Node reaches', root: true, standardArgs: true },
  { name: 'acme', measures: 'complete ACME orders (order, http-01 over loopback, finalize, download) over HTTPS with 1 and 16 concurrent in-process clients', baseline: 'pki issue\'s in-process rate: the same pipeline without the protocol, the same number of certificates', root: false, standardArgs: true },
  { name: 'cmp', measures: 'CMP ir round trips (ir with a one-time secret, certConf) over HTTPS with P-256 and SM2 requests', baseline: 'pki issue\'s in-process rate: the same pipeline (staff-auth, the same key type) without the protocol', root: false, standardArgs: true },
  { name: 'staff', measures: 'roster import + difference of a 100,000-row site roster (monthly: previous roster recorded) and its first import, embedded SQLite', baseline: 'decode and CSV split of the same file only (the floor of any import)', root: false, standardArgs: true },
  { name: 'staff-scale', measures: 'the staff KPI query, staff expiring --within 30d, jinbao kpi and jinbao report over 1,000,000 staff certificates (a roster of 100,000 at one site); real staff-auth issuance throughput', baseline: 'the same on the same store before its bulk fill (10,000 real certificates, the same roster); raw signing with the same CA key for issuance', root: false, standardArgs: true },
  { name: 'rate-limit-ipc', measures: 'an ACME rate-limit token taken through the cluster primary over IPC (serve --workers N), sequential and 16 in flight', baseline: 'the same take from buckets in the worker\'s own process (serve without --workers)', root: false, standardArgs: true },
  { name: 'comply', measures: 'the compliance catalogue over the national inventory after jinbao up; site-scoped controls in one national run', baseline: 'the same site-scoped controls over the same inputs, run once per site', root: false, standardArgs: true },
  { name: 'drill', measures: 'planned switchover and unplanned failover on the embedded PostgreSQL lab: RTO and RPO', baseline: 'the mechanical floor of each failover in the same runs (promotion plus the endpoint switch)', root: true, standardArgs: true },
  { name: 'state', measures: 'jinbao up with the state in PostgreSQL; state migrate of a SQLite store holding 100,000 certificates into PostgreSQL (fresh processes)', baseline: 'jinbao up on the embedded SQLite store in the same run', root: true, standardArgs: true, notInSmoke: 'runs jinbao up twice per sample (about a minute on 2 cores); run it with npx tsx bench/state.ts --smoke' },
  { name: 'wan', measures: 'WAN render for the nation, lab bring-up, failovers and overlay throughput', baseline: 'its own (see bench/wan.ts): render target, detection budget, raw veth underlay', root: true, standardArgs: false, notInSmoke: 'needs the WAN lab (network namespaces, wireguard-go); run it with npx tsx bench/wan.ts as root' },
];

const here = fileURLToPath(new URL('.', import.meta.url));

function usage(): string {
  return 'usage: npm run bench -- [--list] [--only NAME,...] [--runs N] [--smoke]';
}

interface Options {
  readonly list: boolean;
  readonly only?: readonly string[];
  readonly runs?: number;
  readonly smoke: boolean;
}

export function parseRunnerArgs(argv: readonly string[]): Options {
  let list = false;
  let smoke = false;
  let only: string[] | undefined;
  let runs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--list') list = true;
    else if (a === '--smoke') smoke = true;
    else if (a === '--runs' || a.startsWith('--runs=')) runs = parseRuns(a === '--runs' ? argv[++i] : a.slice('--runs='.length));
    else if (a === '--only' || a.startsWith('--only=')) {
      const value = a === '--only' ? argv[++i] : a.slice('--only='.length);
      only = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = only.filter((n) => !BENCHES.some((b) => b.name === n));
      if (only.length === 0 || unknown.length) throw new BenchArgumentError(`--only: got "${value ?? ''}", want benchmark names from ${BENCHES.map((b) => b.name).join(', ')}`);
    } else throw new BenchArgumentError(`unknown argument: got "${a}"; ${usage()}`);
  }
  return { list, smoke, ...(only ? { only } : {}), ...(runs !== undefined ? { runs } : {}) };
}

function listing(): string {
  return BENCHES.map(
    (b) => `${b.name}${b.root ? ' (root)' : ''}\n  measures: ${b.measures}\n  baseline: ${b.baseline}\n  run alone: npx tsx bench/${b.name}.ts${b.standardArgs ? ' [--runs N] [--smoke]' : ''}${b.notInSmoke ? `\n  not in --smoke: ${b.notInSmoke}` : ''}`,
  ).join('\n');
}

function runOne(b: BenchEntry, o: Options): Promise<{ code: number; seconds: number; json?: string }> {
  const args = [join(here, `${b.name}.ts`), ...(b.standardArgs && o.runs !== undefined ? ['--runs', String(o.runs)] : []), ...(b.standardArgs && o.smoke ? ['--smoke'] : [])];
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let last = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      last = (last + chunk.toString('utf8')).split('\n').slice(-2).join('\n');
    });
    child.on('close', (code) => {
      const line = last.trim().split('\n').pop() ?? '';
      resolve({ code: code ?? 1, seconds: (performance.now() - t0) / 1000, ...(line.startsWith('{') ? { json: line } : {}) });
    });
  });
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseRunnerArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof BenchArgumentError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  if (o.list) {
    process.stdout.write(`${listing()}\n`);
    return 0;
  }
  const root = process.getuid?.() === 0;
  const rows: { name: string; status: string; seconds?: number }[] = [];
  for (const b of BENCHES) {
    if (o.only && !o.only.includes(b.name)) continue;
    if (o.smoke && b.notInSmoke) {
      rows.push({ name: b.name, status: `not run: ${b.notInSmoke}` });
      continue;
    }
    if (b.root && !root) {
      rows.push({ name: b.name, status: 'not run: needs root' });
      continue;
    }
    process.stdout.write(`\n=== bench/${b.name}.ts — baseline: ${b.baseline}\n`);
    const r = await runOne(b, o);
    rows.push({ name: b.name, status: r.code === 0 ? (r.json ? 'ok' : 'ok (no JSON summary line)') : `FAILED (exit ${r.code})`, seconds: r.seconds });
  }
  process.stdout.write('\nbenchmark        time      result\n');
  for (const r of rows) process.stdout.write(`${r.name.padEnd(17)}${(r.seconds === undefined ? '—' : `${r.seconds.toFixed(0)} s`).padEnd(10)}${r.status}\n`);
  return rows.some((r) => r.status.startsWith('FAILED')) ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = await main();
