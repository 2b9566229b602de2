import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { buildPlan, labCut, labUp, requireLab, type LabJournal } from '../index.js';
import { smallFabric, smallInput } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'jinbao-wan-refusals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fabric = smallFabric();
const plan = buildPlan(fabric, fabric.allocate().allocations, { counties: false });

function journalIn(stateDir: string, status: LabJournal['status']): void {
  mkdirSync(join(stateDir, 'wan-lab'), { recursive: true });
  const j: LabJournal = { tag: 'jbfake', status, createdAt: '2026-11-27T00:00:00Z', nodes: [{ id: '000000', ns: 'jbfake-000000', idx: 0 }], carrier: 'jbfake-carrier', namespaces: [], processes: [], cuts: [] };
  writeFileSync(join(stateDir, 'wan-lab', 'lab.json'), JSON.stringify(j));
}

describe('WAN refusals', () => {
  it('GIVEN a lab already recorded WHEN another comes up THEN it refuses before creating anything', async () => {
    const state = join(dir, 'twice');
    journalIn(state, 'up');
    await expect(labUp({ stateDir: state }, plan, ['000000'], new Map())).rejects.toThrow(
      `a WAN lab (jbfake, up) is already recorded in ${join(state, 'wan-lab')}; remove it first with: jinbao wan down`,
    );
  });

  it('GIVEN a lab that did not finish coming up WHEN it is used THEN the message says to remove it', () => {
    const state = join(dir, 'half');
    journalIn(state, 'building');
    expect(() => requireLab(state)).toThrow(`the WAN lab jbfake in ${join(state, 'wan-lab')} did not finish coming up; remove it with: jinbao wan down`);
  });

  it('GIVEN a node outside the lab WHEN its line is cut THEN the lab\'s nodes are listed; a node without that uplink is named', async () => {
    const state = join(dir, 'cut');
    journalIn(state, 'up');
    await expect(labCut({ stateDir: state }, plan, '440100', 'primary')).rejects.toThrow('no WAN node "440100" in lab jbfake');
  });

  it('GIVEN no recorded check WHEN `wan check --last` runs THEN exit 2 saying how to make one', async () => {
    const state = join(dir, 'nocheck');
    const r = await runCli(['--state', state, 'wan', 'check', '--last']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`jinbao: no WAN check is recorded in ${state}; run one with: jinbao wan check\n`);
  });

  it('GIVEN underlay prefixes too small for a site and the DR center it hosts THEN the plan says which and how to fix it', () => {
    const input = smallInput();
    input.addressing = { overlay: '10.0.0.0/8', underlay: '172.16.0.0/12', lengths: { ministry: 14, province: 14, prefecture: 19, network: 24, underlay: 30 } };
    const small = smallFabric(input);
    const underlay = small.allocate().allocations.get('440000')!.underlay;
    expect(() => buildPlan(small, small.allocate().allocations)).toThrow(
      `underlay prefix ${underlay} of site 440000 has room for 1 endpoint(s), needs 2 (its own node and the DR centers it hosts); use addressing.lengths.underlay of 29 or shorter`,
    );
  });
});
