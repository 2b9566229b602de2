/**
 * The cdktf app entry (cdktf.json `app`): `cdktf synth` / `cdktf deploy <site>` run this. It
 * synthesizes every site of the inventory (JINBAO_INVENTORY, default the built-in national one),
 * addressed from the state store's IPAM ledger (JINBAO_STATE, default .jinbao/) like every jinbao
 * command, into the folder the CLI asks for (CDKTF_OUTDIR), incrementally, like `jinbao synth`.
 */
import { loadFabric, loadLedger } from '../../fabric/index.js';
import { openDatabase } from '../../lib/sql/index.js';
import { resolveStateDir } from '../../lib/state.js';
import { synthesizeCdktf } from './synth.js';

const fabric = loadFabric(process.env.JINBAO_INVENTORY);
const db = await openDatabase(resolveStateDir(undefined));
try {
  const result = await synthesizeCdktf(fabric, fabric.allocate(await loadLedger(db)).allocations, { outDir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });
  process.stderr.write(`${result.stacks} site stacks (${result.rewritten.length} rewritten, ${result.unchanged.length} unchanged)\n`);
} finally {
  await db.close();
}
