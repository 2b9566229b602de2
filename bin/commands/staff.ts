import type { Command } from 'commander';
import { json } from '../../lib/output.js';
import { importRoster, rosterTemplate, type RosterDiff } from '../../staff/index.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  const staff = program.command('staff').description('staff certificates from HR rosters: import, sync with the certificate store, enroll joiners');
  staff
    .command('template')
    .description('print the header of a roster CSV file')
    .option('--nation', 'the header of a whole-nation roster (with a site column)')
    .addHelpText(
      'after',
      '\nColumns: staff_number, name, identity_code (GB 11643), insurance_number (may be empty), department, email (may be empty),\n' +
        'status (active or left); a whole-nation roster starts with site. Files are UTF-8 CSV. docs/staff.md has the details.\n\n' +
        'Examples:\n  $ jinbao staff template > 440100.csv\n  $ jinbao staff template --nation > nation.csv',
    )
    .action(run<{ nation?: boolean }>(template));
  staff
    .command('import')
    .description("record a site's roster (or a whole-nation roster) and print joiners, leavers and changes since the last import")
    .argument('<file>', 'roster CSV file (UTF-8)')
    .option('--site <id>', "the site whose roster the file is; without it the file is a whole-nation roster with a site column")
    .option('--dry-run', 'validate and show the difference; record nothing')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nEvery row is checked (staff number, identity code check character, duplicates, site); any problem refuses the whole\n' +
        'file with each problem and its line, exit 2, nothing recorded. Identity codes are kept hashed and masked, never printed.\n\n' +
        'Examples:\n  $ jinbao staff import --site 440100 440100.csv --dry-run\n  $ jinbao staff import nation.csv --json',
    )
    .action(run<{ site?: string; dryRun?: boolean; json?: boolean }>(importCommand));
}

async function template(ctx: Context, opts: { nation?: boolean }): Promise<void> {
  ctx.out(rosterTemplate(opts.nation === true));
}

/** People listed per kind and site; --json lists all. */
const LISTED = 20;

async function importCommand(ctx: Context, opts: { site?: string; dryRun?: boolean; json?: boolean }, args: readonly string[]): Promise<void> {
  const fabric = ctx.fabric();
  const result = await importRoster(ctx, fabric, { file: args[0]!, ...(opts.site !== undefined ? { site: opts.site } : {}), dryRun: opts.dryRun === true });
  if (opts.json) {
    ctx.out(json(result));
    return;
  }
  ctx.out(`${ctx.t(result.applied ? 'staff.import.applied' : 'staff.import.dryRun', { file: result.file, rows: result.rows, sites: result.sites.length })}\n`);
  for (const d of result.sites) ctx.out(renderDiff(ctx, d));
}

function renderDiff(ctx: Context, d: RosterDiff): string {
  const lines = [ctx.t(d.first ? 'staff.import.siteFirst' : 'staff.import.site', { site: d.site, total: d.total, joiners: d.joiners.length, leavers: d.leavers.length, changed: d.changed.length, unchanged: d.unchanged })];
  const list = <T>(items: readonly T[], line: (x: T) => string) => {
    for (const x of items.slice(0, LISTED)) lines.push(`  ${line(x)}`);
    if (items.length > LISTED) lines.push(`  ${ctx.t('staff.import.more', { n: items.length - LISTED })}`);
  };
  list(d.joiners, (p) => `+ ${p.staffNumber} ${p.name}`);
  list(d.leavers, (p) => `- ${p.staffNumber} ${p.name}`);
  list(d.changed, (c) => `~ ${c.staffNumber} ${c.name}: ${c.fields.join(', ')}${c.previousNumber ? ` (${ctx.t('staff.import.was', { number: c.previousNumber })})` : ''}`);
  return `${lines.join('\n')}\n`;
}
