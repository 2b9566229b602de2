import { execFileSync } from 'node:child_process';
import { validateInventory, type Fabric, type InventoryInput } from '../../fabric/index.js';
import { agency as fabricAgency, site } from '../../testkit/index.js';

const agency = (code: string) => fabricAgency(code);

/** Ministry (DR in 440000), Guangdong (DR in 440300) with two prefectures and counties, Beijing with counties under the province. */
export function smallInput(): InventoryInput {
  return {
    apiVersion: 'jinbao/v1',
    kind: 'Inventory',
    metadata: { name: 'wan-small' },
    sites: [
      site('000000', 'ministry', { dr: { site: '440000' } }),
      site('110000', 'province', { accessPlatforms: [agency('110101')] }),
      site('440000', 'province', { dr: { site: '440300' } }),
      site('440100', 'prefecture', { accessPlatforms: [agency('440103'), agency('440104')] }),
      site('440300', 'prefecture', { accessPlatforms: [agency('440303')] }),
    ],
  };
}

export function smallFabric(input: InventoryInput = smallInput()): Fabric {
  const loaded = validateInventory(input, 'test');
  if (!loaded.fabric) throw new Error(JSON.stringify(loaded.problems));
  return loaded.fabric;
}

/** Real-component tests run as root (namespaces, TUN devices) with the tools installed. */
export const isRoot = process.getuid?.() === 0;

/** Whether a program is on the PATH. */
export function has(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$0"', bin]);
    return true;
  } catch {
    return false;
  }
}
