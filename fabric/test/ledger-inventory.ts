import type { InventoryInput } from '../model.js';
import { agency, site, smallInventory } from './builders.js';

/**
 * The small inventory plus province `province` (e.g. "120000") with `prefectures` prefectures, each
 * with a county: what an operator whose inventory is ahead of the others' allocates.
 */
export function growingInventory(province: string, prefectures: number): InventoryInput {
  const inv = smallInventory();
  const p = province.slice(0, 2);
  inv.sites.push(site(province, 'province', { accessPlatforms: [agency(`${p}9001`)] }));
  for (let i = 1; i <= prefectures; i++) {
    const id = `${p}${String(i).padStart(2, '0')}00`;
    inv.sites.push(site(id, 'prefecture', { accessPlatforms: [agency(`${id.slice(0, 4)}01`)] }));
  }
  return inv;
}
