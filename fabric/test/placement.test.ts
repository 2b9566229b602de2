import { describe, expect, it } from 'vitest';
import { Fabric } from '../fabric.js';
import { loadFabric } from '../load.js';
import { inventorySchema } from '../model.js';
import { site, smallInventory } from './builders.js';

describe('data placement policy', () => {
  const national = loadFabric();

  it('GIVEN a prefecture of an ordinary province THEN it hosts historical urban-employee insurance and the exchange', () => {
    expect(national.domains(national.site('440100'))).toEqual(['employee-insurance', 'exchange']);
  });

  it('GIVEN an ordinary province THEN it hosts employment, resident insurance, personnel, labor relations and cross-region data', () => {
    expect(national.domains(national.site('440000'))).toEqual(['employment', 'resident-insurance', 'personnel', 'labor-relations', 'cross-region', 'exchange']);
  });

  it('GIVEN the four municipalities THEN each centralizes every domain at province level', () => {
    for (const id of ['110000', '120000', '310000', '500000']) {
      const s = national.site(id);
      expect(national.centralized(s)).toBe(true);
      expect(national.domains(s)).toContain('employee-insurance');
    }
  });

  it('GIVEN a province flagged large-area / few-insured THEN its prefectures keep only the exchange', () => {
    const tibet = national.site('540000');
    expect(national.centralized(tibet)).toBe(true);
    expect(national.domains(national.site('540100'))).toEqual(['exchange']);
  });

  it('GIVEN the ministry THEN it hosts cross-region data, the national query service and basic pensions', () => {
    expect(national.domains(national.ministry)).toEqual(['cross-region', 'national-query', 'basic-pension', 'exchange']);
  });

  it('GIVEN an explicit domains list THEN it overrides the policy, keeping the exchange', () => {
    const inv = smallInventory();
    inv.sites[3] = site('440100', 'prefecture', { domains: ['employment'] });
    const { fabric } = Fabric.build(inventorySchema.parse(inv));
    expect(fabric!.domains(fabric!.site('440100'))).toEqual(['employment', 'exchange']);
  });
});
