import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MINIMAL_INVENTORY, parseInventoryText, validateInventory } from '../load.js';
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
    expect(problemsOf(inv)).toContain('sites[5].id: duplicate site id "440300", first used by sites[4]; give this site its own code or remove it');
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
    expect(problems).toContain('sites[1].dr.site: got "110000", the site itself, but a site cannot be its own disaster-recovery center; name another site');
    expect(problems).toContain('sites[2].dr.site: unknown DR site "999999"');
  });

  it('GIVEN a malformed code THEN the schema message explains the format', () => {
    const inv = smallInventory();
    inv.sites[3]!.id = '44AB00';
    expect(problemsOf(inv)).toEqual(['sites[3].id: "44AB00" is not a six-digit GB/T 2260 code (e.g. "440100")']);
  });

  it('GIVEN a prefecture code that is not of the form PPCC00 THEN it is refused', () => {
    const inv = smallInventory();
    inv.sites[3]!.id = '440101';
    expect(problemsOf(inv)).toContain('sites[3].id: got "440101", but a prefecture\'s code has the form "PPCC00" (e.g. "440100")');
  });

  it('GIVEN negative or impossible counts THEN each is reported where it is', () => {
    const inv = smallInventory();
    inv.sites[0]!.staff = { total: -1, requiringCertificates: 0 };
    const problems = problemsOf(inv);
    expect(problems).toContain('sites[0].staff.total: got -1, want at least 0');

    const inv2 = smallInventory();
    inv2.sites[0]!.staff = { total: 10, requiringCertificates: 11 };
    inv2.sites[3]!.accessPlatforms![0]!.outlets.pharmacy = { total: 3, connected: 5 };
    inv2.sites[1]!.serviceAgencies = { total: 1, connected: 2 };
    expect(problemsOf(inv2)).toEqual([
      'sites[0].staff.requiringCertificates: 11 staff requiring certificates is more than the 10 staff in total; lower it or raise staff.total',
      'sites[1].serviceAgencies.connected: connected 2 is more than the total 1; lower connected or raise total',
      'sites[3].accessPlatforms[0].outlets.pharmacy.connected: connected 5 is more than the total 3; lower connected or raise total',
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
    expect(problemsOf(inv)).toEqual(['sites[0].colour: unknown field "colour"; remove it (the fields are listed in docs/inventory.md, "Format")']);
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
      'sites[0].staff.total: got -1, want at least 0',
      'sites[3].parent: unknown site "440001", did you mean "440000"?',
    ]);
  });

  it('GIVEN a YAML syntax error THEN it reports the line and column', () => {
    const text = 'apiVersion: jinbao/v1\nkind: Inventory\nmetadata:\n  name: x\nsites:\n  - id: "000000"\n    tier: [ministry\n';
    const r = parseInventoryText(text, 'broken.yaml');
    expect(r.fabric).toBeUndefined();
    expect(formatProblem(r.problems[0]!)).toMatch(/^broken\.yaml:\d+:\d+: YAML syntax error: /);
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

  it('GIVEN an unknown field on a site THEN that site is still cross-checked: its unknown parent and duplicate slug are reported too', () => {
    const inv = smallInventory() as unknown as { sites: Record<string, unknown>[] };
    inv.sites[1]!.colour = 'red';
    inv.sites[1]!.parent = '990000';
    inv.sites[1]!.slug = 's440000';
    expect(problemsOf(inv)).toEqual([
      'sites[1].colour: unknown field "colour"; remove it (the fields are listed in docs/inventory.md, "Format")',
      'sites[1].parent: unknown site "990000"',
      'sites[2].slug: duplicate slug "s440000", first used by sites[1]; slugs name resources and must be unique',
    ]);
  });

  it('GIVEN a malformed field on a site THEN the problems of its other fields are still reported', () => {
    const inv = smallInventory() as unknown as { sites: Record<string, unknown>[] };
    inv.sites[3]!.dataCenter = { class: 'D', meetsStandard: true };
    inv.sites[3]!.staff = { total: 10, requiringCertificates: 11 };
    inv.sites[3]!.dr = { site: '440301' };
    expect(problemsOf(inv)).toEqual([
      'sites[3].dataCenter.class: got "D", want one of "A", "B", "C"',
      'sites[3].dr.site: unknown DR site "440301", did you mean "440300"?',
      'sites[3].staff.requiringCertificates: 11 staff requiring certificates is more than the 10 staff in total; lower it or raise staff.total',
    ]);
  });

  it('GIVEN a misspelt field or enum value THEN the close name is suggested', () => {
    const inv = smallInventory() as unknown as { sites: Record<string, unknown>[] };
    inv.sites[3]!.stafff = inv.sites[3]!.staff;
    delete inv.sites[3]!.staff;
    inv.sites[4]!.tier = 'prefectur';
    expect(problemsOf(inv)).toEqual([
      'sites[3].staff: is required: want a mapping of fields',
      'sites[3].stafff: unknown field "stafff", did you mean "staff"?',
      'sites[4].tier: got "prefectur", want one of "ministry", "province", "prefecture", did you mean "prefecture"?',
    ]);
  });

  it('GIVEN an id written as a YAML number THEN it says to quote it, and children naming it are not reported again', () => {
    const inv = smallInventory() as unknown as { sites: Record<string, unknown>[] };
    inv.sites[2]!.id = 440000;
    expect(problemsOf(inv)).toEqual(['sites[2].id: got the number 440000, want a string; quote it: "440000"']);
  });

  it('GIVEN wrong types and values out of range THEN each message shows the value it got', () => {
    const inv = smallInventory() as unknown as { apiVersion: unknown; sites: Record<string, unknown>[] };
    inv.apiVersion = 'jinbao/v2';
    inv.sites[0]!.backbone = 'yes';
    inv.sites[0]!.mlpsLevel = 7;
    inv.sites[0]!.name = '';
    inv.sites[1]!.slug = 'Beijing';
    expect(problemsOf(inv)).toEqual([
      'apiVersion: got "jinbao/v2", want "jinbao/v1"',
      'sites[0].name: got "", want a non-empty string',
      'sites[0].mlpsLevel: got 7, want at most 5',
      'sites[0].backbone: got "yes", want true or false',
      'sites[1].slug: "Beijing" is not a slug: 2-32 lowercase letters, digits or "-", starting with a letter (e.g. "guangzhou")',
    ]);
  });

  it('GIVEN a site copied whole under a second place THEN one problem names both places, with no cascade over its slug and counties', () => {
    const inv = smallInventory();
    inv.sites.push(structuredClone(inv.sites[3]!));
    expect(problemsOf(inv)).toEqual(['sites[5].id: duplicate site id "440100", first used by sites[3]; give this site its own code or remove it']);
  });

  it('GIVEN a prefecture given the id of a province THEN only the duplicate is reported, not the code form it implies', () => {
    const inv = smallInventory();
    inv.sites[3]!.id = '110000';
    expect(problemsOf(inv)).toEqual(['sites[3].id: duplicate site id "110000", first used by sites[1]; give this site its own code or remove it']);
  });

  it('GIVEN a duplicate in a YAML file THEN both places carry their line and column', () => {
    const inv = smallInventory();
    inv.sites.push(structuredClone(inv.sites[3]!));
    const text = stringify(inv);
    const lines = text.split('\n');
    const first = lines.findIndex((l) => l.includes('- id: "440100"')) + 1;
    const second = lines.findIndex((l, i) => i >= first && l.includes('- id: "440100"')) + 1;
    expect(parseInventoryText(text, 'inv.yaml').problems.map(formatProblem)).toEqual([
      `inv.yaml:${second}:9: sites[5].id: duplicate site id "440100", first used by sites[3] (inv.yaml:${first}:9); give this site its own code or remove it`,
    ]);
  });

  it('GIVEN an empty file THEN it says so and shows a minimal inventory, which is itself valid', () => {
    for (const text of ['', '# nothing yet\n']) {
      const r = parseInventoryText(text, 'empty.yaml');
      expect(r.problems.map(formatProblem)).toEqual([
        [
          'the inventory is empty; a minimal inventory (the ministry alone) is:',
          ...MINIMAL_INVENTORY.trimEnd().split('\n').map((l) => `      ${l}`),
          '    start from `jinbao inventory export` for the national one, see docs/inventory.md',
        ].join('\n'),
      ]);
    }
    expect(parseInventoryText(MINIMAL_INVENTORY, 'minimal.yaml').problems).toEqual([]);
  });

  it('GIVEN a document that is not a mapping THEN it says what it got', () => {
    expect(parseInventoryText('- a\n- b\n', 'list.yaml').problems.map(formatProblem)).toEqual([
      'got a list of 2, want a mapping with apiVersion, kind, metadata and sites (see docs/inventory.md, "Format")',
    ]);
  });

  it('GIVEN an unknown id far from every site THEN no suggestion is made; two equally close ids give none either', () => {
    const inv = smallInventory();
    inv.sites[0]!.dr = { site: '990000' };
    inv.sites[4]!.dr = { site: '440200' };
    expect(problemsOf(inv)).toEqual(['sites[0].dr.site: unknown DR site "990000"', 'sites[4].dr.site: unknown DR site "440200"']);
  });
});
