import { ExitCode, JinbaoError } from '../lib/errors.js';
import type { StateStore } from '../lib/state.js';
import type { Fabric } from './fabric.js';
import type { IpamResult } from './ipam.js';
import { loadLedger, saveLedger } from './ipam-ledger.js';

/**
 * Allocate every prefix with the stored ledger and record the new allocations, so re-running never
 * renumbers. Used by `ipam`, `up`, the WAN renderer and the stacks.
 */
export function allocateAndRecord(store: StateStore, fabric: Fabric): IpamResult & { recorded: number } {
  const result = fabric.allocate(loadLedger(store));
  if (result.problems.length > 0) {
    throw new JinbaoError(`address allocation failed: ${result.problems.length} problem(s)`, {
      exitCode: ExitCode.invalidInput,
      details: result.problems.map((p) => p.message),
    });
  }
  const recorded = saveLedger(store, result.ledger);
  return { ...result, recorded };
}
