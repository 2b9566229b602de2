/**
 * The stacks' operations: a site's desired objects on the recorded addresses, and the whole nation
 * synthesized for `jinbao up`. The engines (cdktf, Pulumi, the deployer) load only when used.
 */
import { join } from 'node:path';
import { loadLedger, type Fabric } from '../fabric/index.js';
import { allocateAndRecord } from '../fabric/operations.js';
import type { Database } from '../lib/sql/index.js';
import { loadCdktfEngine } from './index.js';
import { renderSite, type RenderOptions } from './render/index.js';

/** A site's data-center objects, on the recorded addresses (recording new allocations). */
export async function siteObjects(db: Database, fabric: Fabric, site: string, render: RenderOptions = {}) {
  const { allocations } = await allocateAndRecord(db, fabric);
  return renderSite(fabric, fabric.site(site), allocations, render);
}

/** `jinbao up`'s stacks part: every site's cdktf stack into `<outDir>/cdktf.out`, rewriting only what changed. */
export async function synthesizeNation(db: Database, fabric: Fabric, outDir: string) {
  const { allocations } = fabric.allocate(await loadLedger(db));
  const { synthesizeCdktf } = await loadCdktfEngine();
  const dir = join(outDir, 'cdktf.out');
  const started = performance.now();
  const r = await synthesizeCdktf(fabric, allocations, { outDir: dir });
  return { outDir: dir, result: r, seconds: (performance.now() - started) / 1000 };
}
