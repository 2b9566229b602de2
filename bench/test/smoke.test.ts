import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BenchArgumentError, compare, parseBenchArgs, parseRuns, stats } from '../lib.js';
import { BENCHES, parseRunnerArgs } from '../run.js';

/**
 * Every benchmark in its --smoke size, so none of them can rot unnoticed: each must run to the end
 * and print its JSON summary naming its baseline. The figures of a smoke run mean nothing.
 * bench/wan.ts needs the WAN lab (root, namespaces) and is listed by the runner, not run here.
 */

/** Run a benchmark; asynchronously, so the test worker keeps answering vitest while it runs. */
function bench(args: readonly string[], timeout = 400_000): Promise<{ code: number | null; stdout: string; stderr: string; json?: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const last = stdout.trim().split('\n').pop() ?? '';
      resolve({ code, stdout, stderr: Buffer.concat(err).toString('utf8'), ...(last.startsWith('{') ? { json: JSON.parse(last) as Record<string, unknown> } : {}) });
    });
  });
}

/** Every comparison in a summary (objects with subject, baseline and ratio), found at any depth. */
function comparisons(value: unknown): { baseline: string; ratio: number; subjectStats: { n: number; median: number } }[] {
  if (value === null || typeof value !== 'object') return [];
  const v = value as Record<string, unknown>;
  if (typeof v.baseline === 'string' && typeof v.ratio === 'number') return [v as never];
  return Object.values(v).flatMap(comparisons);
}

const root = process.getuid?.() === 0;

describe('the benchmarks, each in its smoke size', () => {
  it.each(['inventory', 'synth', 'pki', 'pki-revocation', 'acme', 'cmp', 'staff', 'staff-scale', 'comply', 'rate-limit-ipc'])('bench/%s.ts --smoke runs to the end and compares with a named baseline', async (name) => {
    if (name === 'inventory') expect(existsSync('dist/fabric/index.js'), 'bench/inventory.ts measures dist/: run npm run build').toBe(true);
    const r = await bench([`bench/${name}.ts`, '--smoke']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ bench: name, smoke: true });
    const found = comparisons(r.json);
    expect(found.length).toBeGreaterThan(0);
    for (const c of found) {
      expect(c.baseline.length).toBeGreaterThan(10);
      expect(Number.isFinite(c.ratio) && c.ratio > 0).toBe(true);
    }
  }, 400_000);

  it.skipIf(!root)('bench/drill.ts --smoke runs one switchover and one failover on the embedded lab (root, postgresql)', async () => {
    const r = await bench(['bench/drill.ts', '--smoke']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ bench: 'drill', smoke: true, runs: 1 });
    expect(comparisons(r.json)).toHaveLength(2);
  }, 400_000);

  it.skipIf(!root)('bench/ocsp.ts --smoke verifies both responders with openssl ocsp, loads them in a private namespace and compares with OpenSSL (root)', async () => {
    const r = await bench(['bench/ocsp.ts', '--smoke'], 600_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ bench: 'ocsp', smoke: true, runs: 1 });
    // four kinds, each compared three times (the service's requests/s and answers per CPU-second,
    // the Node floor's requests/s); a kind where OpenSSL's responder stalled has no ratio and is
    // named in noComparison instead
    expect(comparisons(r.json).length + 3 * ((r.json as { noComparison?: string[] }).noComparison?.length ?? 0)).toBe(12);
    expect(Object.keys((r.json as { floor: object }).floor).length + ((r.json as { noComparison?: string[] }).noComparison?.length ?? 0)).toBe(4);
    expect(r.stdout).toContain('answers verified by openssl ocsp');
  }, 620_000);

  it('npm run bench -- --list names every benchmark, its baseline, and why wan is not in the smoke runs', async () => {
    const r = await bench(['bench/run.ts', '--list'], 60_000);
    expect(r.code, r.stderr).toBe(0);
    for (const b of BENCHES) {
      expect(existsSync(`bench/${b.name}.ts`)).toBe(true);
      expect(r.stdout).toContain(`\n  baseline: ${b.baseline}\n`);
    }
    expect(BENCHES.map((b) => b.name)).toEqual(['inventory', 'synth', 'pki', 'pki-revocation', 'ocsp', 'acme', 'cmp', 'staff', 'staff-scale', 'rate-limit-ipc', 'comply', 'drill', 'state', 'wan']);
    expect(r.stdout).toContain('not in --smoke: needs the WAN lab');
  });
});

describe('benchmark arguments', () => {
  it.each([
    ['0x10', '--runs: got "0x10", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5'],
    ['1e3', '--runs: got "1e3", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5'],
    ['2.5', '--runs: got "2.5", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5'],
    ['-3', '--runs: got "-3", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5'],
    ['0', '--runs: got "0", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5'],
    ['1001', '--runs: got "1001", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5'],
    [' 5', '--runs: got " 5", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5'],
    ['', '--runs: got "", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5'],
  ])('GIVEN --runs %j THEN it is refused with what it got', (value, message) => {
    expect(() => parseRuns(value)).toThrow(new BenchArgumentError(message));
  });

  it('GIVEN decimal digits THEN they are the run count; --smoke has its own default; unknown flags are refused', () => {
    expect(parseBenchArgs(['--runs', '7'], { runs: 5 })).toMatchObject({ runs: 7, smoke: false });
    expect(parseBenchArgs(['--runs=007'], { runs: 5 })).toMatchObject({ runs: 7 });
    expect(parseBenchArgs(['--smoke'], { runs: 5, smokeRuns: 1 })).toMatchObject({ runs: 1, smoke: true });
    expect(() => parseBenchArgs(['--runs'], { runs: 5 })).toThrow('--runs: got nothing, want a whole number of runs from 1 to 1000, e.g. --runs 5');
    expect(() => parseBenchArgs(['--fast'], { runs: 5 })).toThrow('unknown argument: got "--fast", want --runs N or --smoke');
    expect(parseBenchArgs(['--quick'], { runs: 3 }, ['--quick']).flags.has('--quick')).toBe(true);
  });

  it('GIVEN a bad --runs on a benchmark or the runner THEN it exits 2 with the message and measures nothing', async () => {
    const direct = await bench(['bench/pki.ts', '--runs', '0x10'], 60_000);
    expect(direct.code).toBe(2);
    expect(direct.stderr).toBe('--runs: got "0x10", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5\n');
    const runner = await bench(['bench/run.ts', '--runs', '1e3'], 60_000);
    expect(runner.code).toBe(2);
    expect(runner.stderr).toBe('--runs: got "1e3", want a whole number of runs from 1 to 1000 in decimal digits, e.g. --runs 5\n');
    expect(() => parseRunnerArgs(['--only', 'pki,nope'])).toThrow('--only: got "pki,nope", want benchmark names from inventory, synth, pki, pki-revocation, ocsp, acme, cmp, staff, staff-scale, rate-limit-ipc, comply, drill, state, wan');
  });

  it('median, range and spread of samples; a comparison is the ratio of the medians', () => {
    expect(stats([3, 1, 2])).toEqual({ n: 3, median: 2, min: 1, max: 3, spreadPct: 100 });
    expect(stats([4, 1, 2, 3])).toMatchObject({ median: 2.5, min: 1, max: 4 });
    expect(compare({ subject: 's', baseline: 'b', unit: 'ms', work: 'w', subjectSamples: [10, 30, 20], baselineSamples: [40, 40, 41] }).ratio).toBe(0.5);
  });
});
