import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { renderJunit, renderSarif, renderTable } from '../formats/index.js';
import { runCatalogue } from '../runner.js';
import { compliantInputs, fakeTools } from './fixtures.js';
import { SARIF_210_SUBSET } from './sarif-schema.js';

// Both are CommonJS with a default export: under NodeNext the class is on .default.
const ajv = new AjvModule.default({ allErrors: true, strict: false });
addFormatsModule.default(ajv);
const validateSarif = ajv.compile(SARIF_210_SUBSET);

async function mixedReport() {
  const base = compliantInputs();
  // one fail (broken audit chain), one not-run (no WAN), one manual, the rest pass
  return runCatalogue({ ...base, audit: { verified: false, firstBroken: 'entry 3 <seq>', entries: 9, genesisRetained: true, appendOnly: true }, wan: undefined, missing: { wan: 'needs network & "wan"' } }, { tools: fakeTools([]) });
}

describe('SARIF output', () => {
  it('GIVEN a run with pass, fail, manual and not-run WHEN rendered as SARIF THEN it validates against the SARIF 2.1.0 schema', async () => {
    const sarif = renderSarif(await mixedReport(), { inventoryUri: 'national.yaml' });
    const ok = validateSarif(sarif);
    expect(validateSarif.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema check is not vacuous: a wrong level and a missing message are rejected', async () => {
    const sarif = renderSarif(await mixedReport()) as { runs: { results: Record<string, unknown>[] }[] };
    const broken = structuredClone(sarif);
    broken.runs[0]!.results[0]!.level = 'fatal';
    delete broken.runs[0]!.results[1]!.message;
    expect(validateSarif(broken)).toBe(false);
    expect(validateSarif.errors!.map((e) => e.instancePath)).toEqual(expect.arrayContaining(['/runs/0/results/0/level', '/runs/0/results/1']));
  });

  it('failures are alerts at their severity level; passes, manual and not-run carry level none with their kind', async () => {
    const sarif = renderSarif(await mixedReport()) as { runs: { results: { ruleId: string; kind: string; level: string; message: { text: string } }[] }[] };
    const byRule = (id: string) => sarif.runs[0]!.results.filter((r) => r.ruleId === id);
    expect(byRule('MLPS-AUD-01')).toEqual([expect.objectContaining({ kind: 'fail', level: 'error', message: { text: 'the audit chain is broken at entry 3 <seq>: a record was altered, removed or reordered' } })]);
    expect(byRule('MLPS-BND-01')).toEqual([expect.objectContaining({ kind: 'open', level: 'none', message: { text: 'needs network & "wan"' } })]);
    expect(byRule('MLPS-IAM-01')[0]).toMatchObject({ kind: 'review', level: 'none' });
    expect(byRule('MLPS-GRADE-01').every((r) => r.kind === 'pass' && r.level === 'none')).toBe(true);
  });
});

describe('JUnit output', () => {
  it('GIVEN a mixed run WHEN rendered as JUnit THEN counts match, failures and skips are marked and text is escaped', async () => {
    const report = await mixedReport();
    const xml = renderJunit(report);
    const failures = report.results.filter((r) => r.status === 'fail').length;
    const skipped = report.results.filter((r) => r.status === 'manual' || r.status === 'not-run').length;
    expect(xml).toContain(`<testsuite name="jinbao comply" tests="${report.results.length}" failures="${failures}" errors="0" skipped="${skipped}"`);
    expect(xml.match(/<testcase /g)).toHaveLength(report.results.length);
    expect(xml.match(/<failure /g)).toHaveLength(failures);
    expect(xml.match(/<skipped /g)).toHaveLength(skipped);
    expect(xml).toContain('<failure message="the audit chain is broken at entry 3 &lt;seq&gt;: a record was altered, removed or reordered" type="critical binding">');
    expect(xml).toContain('<skipped message="not-run: needs network &amp; &quot;wan&quot;"/>');
    expect(xml).not.toMatch(/<seq>/);
  });
});

describe('table output', () => {
  it('says which binding controls keep the run from being compliant', async () => {
    const text = renderTable(await mixedReport());
    expect(text).toMatch(/^MLPS-AUD-01 +FAIL +yes +critical/m);
    expect(text).toMatch(/^MLPS-BND-01 +NOT RUN +yes/m);
    expect(text).toContain('not compliant: binding control(s) not passing: MLPS-NET-02, MLPS-BND-01, MLPS-AUD-01, MLPS-MON-01');
  });
});
