import { computeKpis, staffByProvince, type Fabric, type LiveFacts } from '../fabric/index.js';
import type { ComplianceInputs } from './inputs.js';

/** What the adapter can be given; each part is read from its feature's public API by the caller. */
export interface GatherSources {
  readonly fabric: Fabric;
  readonly live?: LiveFacts;
  readonly now?: Date;
  readonly parts?: Partial<Omit<ComplianceInputs, 'fabric' | 'now' | 'indicators' | 'staffByProvince' | 'missing'>>;
  readonly missing?: ComplianceInputs['missing'];
}

/** Assemble the checks' inputs: the indicators from the fabric and live facts, the rest as given. */
export function gatherInputs(src: GatherSources): ComplianceInputs {
  const staff = staffByProvince(src.fabric, src.live ?? {});
  return {
    fabric: src.fabric,
    now: src.now ?? new Date(),
    indicators: computeKpis(src.fabric, src.live ?? {}),
    ...(staff ? { staffByProvince: staff } : {}),
    ...src.parts,
    ...(src.missing ? { missing: src.missing } : {}),
  };
}
