import { computeKpis, type Fabric, type LiveFacts } from '../fabric/index.js';
import type { ComplianceInputs } from './inputs.js';

/** What the adapter can be given; each part is read from its feature's public API by the caller. */
export interface GatherSources {
  readonly fabric: Fabric;
  readonly live?: LiveFacts;
  readonly now?: Date;
  readonly parts?: Partial<Omit<ComplianceInputs, 'fabric' | 'now' | 'indicators' | 'missing'>>;
  readonly missing?: ComplianceInputs['missing'];
}

/** Assemble the checks' inputs: the indicators from the fabric and live facts, the rest as given. */
export function gatherInputs(src: GatherSources): ComplianceInputs {
  return {
    fabric: src.fabric,
    now: src.now ?? new Date(),
    indicators: computeKpis(src.fabric, src.live ?? {}),
    ...src.parts,
    ...(src.missing ? { missing: src.missing } : {}),
  };
}
