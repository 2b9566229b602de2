import type { Command } from 'commander';
import { resolve } from 'node:path';
import { computeKpis } from '../../fabric/index.js';
import { json } from '../../lib/output.js';
import type { Runner } from '../cli.js';
import type { Context } from '../context.js';
import { gatherLiveFacts } from '../live.js';
import { UP_STAGES } from '../up-stages.js';
import { allocateAndRecord } from './ipam.js';
import { renderKpiTable } from './kpi.js';

export function register(program: Command, run: Runner): void {
  program
    .command('up')
    .description('the main job: validate the inventory, allocate addresses, build every output and report the targets')
    .option('--out <dir>', 'where generated outputs go', 'jinbao.out')
    .option('--json', 'machine-readable summary')
    .addHelpText(
      'after',
      '\nRuns on the built-in national inventory with embedded state unless --inventory / --state say otherwise.\n' +
        'Needs no servers and no root. Re-running is safe: allocations are kept, unchanged outputs are not rewritten.\n\n' +
        'Example:\n  $ jinbao up\n  $ jinbao --inventory national.yaml --state /var/lib/jinbao up --json',
    )
    .action(run<{ out: string; json?: boolean }>(up));
}

async function up(ctx: Context, opts: { out: string; json?: boolean }): Promise<void> {
  const started = performance.now();
  const quiet = opts.json === true;
  const say = (line: string) => {
    if (!quiet) ctx.out(line + '\n');
  };
  const note = (line: string) => {
    if (ctx.io.stderr.isTTY && !process.env.CI && !quiet) ctx.err(`  … ${line}\n`);
  };

  const fabric = ctx.fabric();
  const counts = {
    ministry: fabric.byTier('ministry').length,
    province: fabric.byTier('province').length,
    prefecture: fabric.byTier('prefecture').length,
    accessPlatforms: fabric.sites.reduce((n, s) => n + s.accessPlatforms.length, 0),
  };
  say(`inventory: ${ctx.inventorySource} — valid`);
  if (fabric.sampleData) say('  SAMPLE DATA: generated figures; only names and GB/T 2260 codes are real');
  say(`  ${counts.ministry} ministry, ${counts.province} provincial sites, ${counts.prefecture} prefectures, ${counts.accessPlatforms} county access platforms`);

  const ipam = allocateAndRecord(ctx, fabric);
  say(`addressing: ${ipam.ledger.size} prefixes (${ipam.added.length} new) from overlay ${fabric.inventory.addressing.overlay} and underlay ${fabric.inventory.addressing.underlay}; no overlaps`);
  say(`state: ${ctx.stateDir}`);

  const env = { fabric, outDir: resolve(opts.out), note };
  const stages: Record<string, unknown> = {};
  for (const stage of UP_STAGES) {
    const r = await stage.run(ctx, env);
    stages[stage.name] = r.data;
    for (const l of r.lines) say(l);
  }

  const kpis = computeKpis(fabric, gatherLiveFacts(ctx));
  const met = kpis.filter((k) => k.status === 'met').length;
  const notMet = kpis.filter((k) => k.status === 'not-met');
  const pending = kpis.filter((k) => k.status === 'needs').length;
  say(`\ntargets: ${met} met, ${notMet.length} not met, ${pending} need live state`);
  if (!quiet) ctx.out(renderKpiTable(kpis));
  say(`\ndone in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (quiet) {
    ctx.out(
      json({
        inventory: { source: ctx.inventorySource, sampleData: fabric.sampleData, counts },
        addressing: { prefixes: ipam.ledger.size, newlyAllocated: ipam.added.length },
        state: ctx.stateDir,
        stages,
        kpis,
      }),
    );
  }
}
