import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../testkit/index.js';

/** scripts/test-summary.mjs, the end of npm test, run on vitest reports written here. */
describe('the skipped-test list at the end of npm test', () => {
  const { dir, cleanup } = tempDir('jinbao-test-summary-');
  afterAll(cleanup);
  const tools = join(dir, 'optional-tools.txt');
  writeFileSync(tools, '# comment\nterraform  # not in Debian or npm\n');
  const test = (ancestorTitles: string[], title: string, status: string) => ({ ancestorTitles, title, status });
  const summarize = (tests: ReturnType<typeof test>[], strict: boolean, path = process.env.PATH) => {
    const report = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(report, JSON.stringify({ numPassedTests: tests.filter((t) => t.status === 'passed').length, numFailedTests: 0, testResults: [{ name: join(process.cwd(), 'x', 'a.test.ts'), assertionResults: tests }] }));
    const r = spawnSync(process.execPath, ['scripts/test-summary.mjs', report, tools, strict ? '1' : '0'], { encoding: 'utf8', env: { PATH: path } });
    return { code: r.status, out: r.stdout };
  };
  const skippedReal = test(['a real PostgreSQL'], 'promotes', 'skipped');
  const terraform = test(['the pg backend [needs terraform, not installed by the suite]'], 'applies', 'skipped');
  const passed = test(['pure'], 'works', 'passed');

  it('GIVEN no skipped test THEN only the summary line is printed and the run passes, strict or not', () => {
    expect(summarize([passed], true)).toEqual({ code: 0, out: '1 passed, 0 failed\n' });
  });

  it('GIVEN a skipped real-component test as root or in CI THEN it is listed by file and name and the run fails', () => {
    const r = summarize([passed, skippedReal], true);
    expect(r.code).toBe(1);
    expect(r.out).toContain('1 TEST(S) SKIPPED: THIS FAILS THE RUN');
    expect(r.out).toContain('  x/a.test.ts: a real PostgreSQL > promotes\n');
    expect(r.out.trimEnd().split('\n').pop()).toBe('1 passed, 1 failed, 1 skipped');
  });

  it('GIVEN the same skip as a non-root developer THEN it is listed prominently and the run passes', () => {
    const r = summarize([passed, skippedReal], false);
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 TEST(S) SKIPPED (their real component is missing here; as root or in CI this fails the run)');
    expect(r.out).toContain('  x/a.test.ts: a real PostgreSQL > promotes\n');
  });

  it('GIVEN a test marked as needing terraform WHEN terraform is absent THEN its skip is excused and named as such', () => {
    const r = summarize([passed, terraform], true, '/usr/bin:/bin');
    expect(r.code).toBe(0);
    expect(r.out).toContain('1 test(s) skipped because a tool the suite cannot install is absent');
    expect(r.out).toContain('terraform is not on the PATH; the suite cannot install it (scripts/optional-tools.txt)');
  });

  it('GIVEN a test marked as needing terraform WHEN terraform is on the PATH THEN its skip is not excused', () => {
    const bin = join(dir, 'bin');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'terraform'), '#!/bin/sh\n', { mode: 0o755 });
    const r = summarize([terraform], true, `${bin}:${process.env.PATH}`);
    expect(r.code).toBe(1);
    expect(r.out).toContain('x/a.test.ts: the pg backend [needs terraform, not installed by the suite] > applies');
  });

  it('GIVEN a marker naming a tool that is not listed as optional THEN the skip is not excused', () => {
    const r = summarize([test(['[needs postgresql, not installed by the suite]'], 'runs', 'skipped')], true, '/usr/bin:/bin');
    expect(r.code).toBe(1);
  });
});
