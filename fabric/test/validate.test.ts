import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseInventoryText, validateInventory } from '../load.js';
import { formatProblem } from '../problems.js';
import { agency, site, smallInventory } from './builders.js';

function problemsOf(inv: unknown): string[] {
  return validateInventory(inv, 'test').problems.map(formatProblem);
}

describe('inventory validation', () => {
  it('GIVEN a valid inventory THEN it builds a fabric with no problems', () => {
    const r = validateInventory(smallInventory(), 'test');
    expect(r.problems).toEqual([]);
    expect(r.fabric?.sites).toHaveLength(5);
  });

  it('GIVEN duplicate ids THEN it names both places', () => {
    const inv = smallInventory();
    inv.sites.push(site('440300', 'prefecture', { slug: 'other' }));
    expect(problemsOf(inv)).toContain('sites[5].id: duplicate site id "440300" (first used by sites[4])');
  });

  it('GIVEN an unknown parent THEN it suggests the closest id', () => {
    const inv = smallInventory();
    inv.sites[3]!.parent = '440001';
    expect(problemsOf(inv)).toContain('sites[3].parent: unknown site "440001", did you mean "440000"?');
  });

  it('GIVEN a child of the wrong tier THEN it says which tier it wants', () => {
    const inv = smallInventory();
    inv.sites[4]!.parent = '000000';
    expect(problemsOf(inv)).toContain('sites[4].parent: a prefecture\'s parent must be a province, got ministry "000000"');
  });

  it('GIVEN a DR site that does not exist or is the site itself THEN both are reported', () => {
    const inv = smallInventory();
    inv.sites[1]!.dr = { site: '110000' };
    inv.sites[2]!.dr = { site: '999999' };
    const problems = problemsOf(inv);
    expect(problems).toContain('sites[1].dr.site: a site cannot be its own disaster-recovery center ("110000")');
    expect(problems).toContain('sites[2].dr.site: unknown DR site "999999"');
  });

  it('GIVEN a malformed code THEN the schema message explains the format', () => {
    const inv = smallInventory();
    inv.sites[3]!.id = '4401';
    expect(problemsOf(inv)).toContain('sites[3].id: must be a six-digit GB/T 2260 code such as "440100"');
  });

  it('GIVEN a prefecture code that is not of the form PPCC00 THEN it is refused', () => {
    const inv = smallInventory();
    inv.sites[3]!.id = '440101';
    expect(problemsOf(inv)).toContain('sites[3].id: a prefecture\'s code has the form "PPCC00" (e.g. "440100"), got "440101"');
  });

  it('GIVEN negative or impossible counts THEN each is reported where it is', () => {
    const inv = smallInventory();
    inv.sites[0]!.staff = { total: -1, requiringCertificates: 0 };
    const problems = problemsOf(inv);
    expect(problems).toContain('sites[0].staff.total: must not be negative');

    const inv2 = smallInventory();
    inv2.sites[0]!.staff = { total: 10, requiringCertificates: 11 };
    inv2.sites[3]!.accessPlatforms![0]!.outlets.pharmacy = { total: 3, connected: 5 };
    inv2.sites[1]!.serviceAgencies = { total: 1, connected: 2 };
    expect(problemsOf(inv2)).toEqual([
      'sites[0].staff.requiringCertificates: 11 staff requiring certificates is more than the 10 staff in total',
      'sites[1].serviceAgencies.connected: connected 2 is more than the total 1',
      'sites[3].accessPlatforms[0].outlets.pharmacy.connected: connected 5 is more than the total 3',
    ]);
  });

  it('GIVEN overlapping pinned prefixes THEN the overlap is named with both keys', () => {
    const inv = smallInventory();
    inv.sites[1]!.addressing = { block: '10.8.0.0/14' };
    inv.sites[2]!.addressing = { block: '10.8.0.0/14' };
    expect(problemsOf(inv)).toContain(
      'sites[2].addressing.block: pinned prefix 10.8.0.0/14 (block:440000) overlaps 10.8.0.0/14 (block:110000); give one of them a free prefix or remove the pin',
    );
  });

  it('GIVEN a pinned prefix with host bits set THEN it suggests the canonical prefix', () => {
    const inv = smallInventory();
    inv.sites[3]!.accessPlatforms![0]!.prefix = '10.1.2.3/24';
    expect(problemsOf(inv)).toContain('sites[3].accessPlatforms[0].prefix: "10.1.2.3/24" has host bits set, did you mean "10.1.2.0/24"?');
  });

  it('GIVEN a pinned prefix outside the supernet THEN it is refused', () => {
    const inv = smallInventory();
    inv.sites[3]!.addressing = { dc: '192.168.0.0/24' };
    expect(problemsOf(inv)).toContain('sites[3].addressing.dc: pinned prefix 192.168.0.0/24 is outside the overlay supernet 10.0.0.0/8');
  });

  it('GIVEN an unknown field THEN it is named', () => {
    const inv = smallInventory() as unknown as { sites: Record<string, unknown>[] };
    inv.sites[0]!.colour = 'red';
    expect(problemsOf(inv)).toContain('sites[0]: unknown field "colour"; see docs/inventory.md for the fields');
  });

  it('GIVEN several semantic problems THEN every one is reported at once', () => {
    const inv = smallInventory();
    inv.sites[3]!.parent = '440001';
    inv.sites[1]!.dr = { site: '110000' };
    inv.sites.push(site('440300', 'prefecture', { slug: 'dup', accessPlatforms: [agency('440103')] }));
    expect(problemsOf(inv)).toHaveLength(4);
  });

  it('GIVEN a schema error and a broken reference in other sites THEN both are reported in one pass', () => {
    const inv = smallInventory();
    inv.sites[0]!.staff = { total: -1, requiringCertificates: 0 };
    inv.sites[3]!.parent = '440001';
    expect(problemsOf(inv)).toEqual([
      'sites[0].staff.total: must not be negative',
      'sites[3].parent: unknown site "440001", did you mean "440000"?',
    ]);
  });

  it('GIVEN a YAML syntax error THEN it reports the line and column', () => {
    const text = 'apiVersion: jinbao/v1\nkind: Inventory\nmetadata:\n  name: x\nsites:\n  - id: "000000"\n    tier: [ministry\n';
    const r = parseInventoryText(text, 'broken.yaml');
    expect(r.fabric).toBeUndefined();
    expect(formatProblem(r.problems[0]!)).toMatch(/^broken\.yaml:\d+:\d+: \(root\): YAML syntax error: /);
    expect(r.problems[0]!.location).toMatch(/^broken\.yaml:(7|8):/);
  });

  it('GIVEN a YAML file with a bad value THEN the problem carries its line number', () => {
    const inv = smallInventory();
    inv.sites[4]!.parent = '000000';
    const text = stringify(inv);
    const r = parseInventoryText(text, 'inv.yaml');
    const lines = text.split('\n');
    const siteLine = lines.findIndex((l) => l.includes('- id: "440300"'));
    const line = lines.findIndex((l, i) => i > siteLine && l.includes('parent:')) + 1;
    expect(r.problems[0]!.location).toBe(`inv.yaml:${line}:13`);
  });
});
