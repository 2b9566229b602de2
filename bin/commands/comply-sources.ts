import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatherInputs, type ComplianceInputs, type Inspects } from '../../compliance/index.js';
import type { Context } from '../context.js';
import { gatherLiveFacts } from '../live.js';
import { writeMonitoring } from './monitoring.js';

/**
 * The thin adapter between the features' public APIs and the compliance checks: reads each
 * feature's state, maps it to the checks' typed inputs, and says why a part is missing.
 */
export async function gatherCompliance(ctx: Context): Promise<{ inputs: ComplianceInputs; cleanup: () => void }> {
  const fabric = ctx.fabric();
  const hasState = existsSync(join(ctx.stateDir, 'jinbao.db'));
  if (hasState) ctx.store(); // a corrupt or newer store is refused here, before any check runs
  const noState = `no state store in ${ctx.stateDir}: run jinbao up first (or pass --state)`;
  const missing: Partial<Record<Inspects, string>> = {
    stacks: 'needs stacks: this build has no stack synthesizer (stacks/) to read',
    pki: hasState ? 'needs pki: this build has no PKI (pki/) to read' : noState,
    audit: hasState ? 'needs the audit log: this build has no audit chain (lib/audit.ts) to verify' : noState,
    drills: hasState ? 'needs dr-runbooks: this build has no drill history to read' : noState,
    wan: 'needs network: this build has no WAN overlay plan (network/) to read',
  };
  const cleanups: (() => void)[] = [];
  const rulesDir = mkdtempSync(join(tmpdir(), 'jinbao-rules-'));
  cleanups.push(() => rmSync(rulesDir, { recursive: true, force: true }));
  const ruleFiles = writeMonitoring(rulesDir).filter((f) => f.endsWith('.rules.yml'));
  const parts = { monitoring: { ruleFiles } };
  const inputs = gatherInputs({ fabric, live: hasState ? gatherLiveFacts(ctx) : {}, parts, missing });
  return { inputs, cleanup: () => cleanups.forEach((c) => c()) };
}
