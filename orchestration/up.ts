/**
 * `jinbao up`: validate, allocate, then each feature's part in order, then the plan's targets.
 * Each stage calls its feature's operations and says in a few lines what it did.
 */
import { join, resolve } from 'node:path';
import { drillStatus } from '../dr-runbooks/operations/index.js';
import type { Fabric, Indicator } from '../fabric/index.js';
import { allocateAndRecord } from '../fabric/operations.js';
import type { Progress } from '../lib/context.js';
import { renderNationalWan } from '../network/operations.js';
import { DEMO_PASSPHRASE_WARNING } from '../pki/index.js';
import { ensureReplicaCertificates } from '../pki/operations.js';
import { synthesizeNation } from '../stacks/operations.js';
import { writePostureReport } from './compliance.js';
import type { OpsContext } from './context.js';
import { computeLiveKpis } from './live-facts.js';

/** One part of `jinbao up`, after the foundation's own (validate, allocate) and before the KPIs. */
export interface UpStage {
  readonly name: string;
  run(ctx: OpsContext, env: UpEnv): Promise<UpStageResult>;
}

export interface UpEnv {
  readonly fabric: Fabric;
  /** Root of everything `up` writes (`--out`, default jinbao.out/). */
  readonly outDir: string;
  /** Progress lines for long stages. */
  readonly note: Progress;
}

export interface UpStageResult {
  /** Short human lines for the summary. */
  readonly lines: readonly string[];
  /** Machine form for `up --json`. */
  readonly data: unknown;
}

export const pkiUpStage: UpStage = {
  name: 'pki',
  async run(ctx, env) {
    const outDir = join(env.outDir, 'pki', 'replica');
    const r = await ensureReplicaCertificates(ctx, env.fabric, { env: ctx.env, outDir, progress: env.note });
    const lines: string[] = [];
    if (r.demoKeyStore) lines.push(`pki: ${DEMO_PASSPHRASE_WARNING}`);
    if (r.hierarchyCreated) lines.push(`pki: CA hierarchy created (ecdsa-p256) in ${r.stateDir}`);
    if (r.replica === null) lines.push(`pki: hierarchy exists but ${r.passphraseEnv} is not set; DR replica certificates not checked`);
    else lines.push(`pki: ${r.replica.pairings} DR pairings, replica-mtls certificates ${r.replica.issued} issued, ${r.replica.kept} kept; files in ${r.replica.dir}`);
    return { lines, data: { hierarchyCreated: r.hierarchyCreated, demoKeyStore: r.demoKeyStore, replica: r.replica } };
  },
};

export const stacksUpStage: UpStage = {
  name: 'stacks',
  async run(ctx, env) {
    env.note(`synthesizing ${env.fabric.sites.length} site stacks`);
    const { outDir, result: r, seconds } = await synthesizeNation(await ctx.database(), env.fabric, env.outDir);
    return {
      lines: [
        `stacks: ${r.stacks} cdktf site stacks, ${r.resources} resources in ${outDir} (${r.rewritten.length} rewritten, ${r.unchanged.length} unchanged${r.removed.length ? `, ${r.removed.length} removed` : ''}) in ${seconds.toFixed(1)} s`,
      ],
      data: { outDir, stacks: r.stacks, resources: r.resources, rewritten: r.rewritten.length, unchanged: r.unchanged.length, removed: r.removed.length },
    };
  },
};

export const wanUpStage: UpStage = {
  name: 'wan',
  async run(ctx, env) {
    env.note('wan: rendering the national overlay');
    const { out, files, seconds, summary: s } = await renderNationalWan(ctx, env.fabric, env.outDir);
    return {
      lines: [`wan: ${s.nodes} nodes (${s.hubs} hubs), ${s.peers} peers, ${s.interfaces} interfaces, ${s.firewallRules} firewall rules, ${s.routers} routing daemons; ${files} files in ${out} (${seconds.toFixed(1)} s)`],
      data: { out, files, seconds, ...s },
    };
  },
};

export const drillUpStage: UpStage = {
  name: 'dr',
  async run(ctx, env) {
    const data = await drillStatus(ctx, env.fabric);
    const { sites, byTier } = data;
    const count = (p: (x: (typeof sites)[number]) => boolean) => sites.filter(p).length;
    const lines = [
      `dr: ${data.pairings} DR pairings (${byTier.ministry} ministry, ${byTier.province} provinces, ${byTier.prefecture} prefectures); drills: ${count((s) => s.status === 'passed within 90 days')} passed within 90 days, ${count((s) => s.status.startsWith('last drill'))} failing, ${count((s) => s.status === 'never drilled')} never drilled`,
      ...sites
        .filter((s) => s.lastRun)
        .slice(0, 3)
        .map((s) => `  ${s.site} ${s.name} → ${s.drSite}: ${s.status} (${s.lastRun})`),
    ];
    if (sites.every((s) => !s.lastRun) && sites[0]) lines.push(`  first drill: jinbao drill plan --site ${sites[0].site} --target pg-local`);
    return { lines, data };
  },
};

export const postureUpStage: UpStage = {
  name: 'posture',
  async run(ctx, env) {
    env.note('running the compliance catalogue and writing the posture report');
    const { file, report: r } = await writePostureReport(ctx, join(env.outDir, 'report'));
    const s = r.summary;
    return {
      lines: [
        `compliance: ${s.controls} controls — ${s.byStatus.pass} pass, ${s.byStatus.fail} fail, ${s.byStatus.manual} manual, ${s.byStatus['not-run']} not run; ${s.compliant ? 'compliant' : `not compliant (${s.bindingNotPassed.length} binding control(s) not passing: jinbao comply)`}`,
        `report: ${file}`,
      ],
      data: { file, compliant: s.compliant, byStatus: s.byStatus, bindingNotPassed: s.bindingNotPassed },
    };
  },
};

/** Every feature's stage, in the order `up` runs them. */
export const UP_STAGES: readonly UpStage[] = [pkiUpStage, stacksUpStage, wanUpStage, drillUpStage, postureUpStage];

export interface UpResult {
  readonly inventory: { source: string; sampleData: boolean; counts: { ministry: number; province: number; prefecture: number; accessPlatforms: number } };
  readonly addressing: { prefixes: number; newlyAllocated: number };
  readonly state: string;
  readonly stages: Record<string, unknown>;
  readonly kpis: Indicator[];
}

/**
 * Run `up`: `say` receives the summary lines as each part finishes, `note` the progress of long
 * stages. Returns the machine form.
 */
export async function runUp(ctx: OpsContext, opts: { outDir: string; say: Progress; note: Progress }): Promise<UpResult> {
  const { say } = opts;
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

  const db = await ctx.database();
  const ipam = await allocateAndRecord(db, fabric);
  say(`addressing: ${ipam.ledger.size} prefixes (${ipam.added.length} new) from overlay ${fabric.inventory.addressing.overlay} and underlay ${fabric.inventory.addressing.underlay}; no overlaps`);
  // The embedded store is named by its directory (as given), the shared one by its server and database.
  const state = db.dialect === 'sqlite' ? ctx.stateDir : db.where;
  say(`state: ${state}`);

  const env: UpEnv = { fabric, outDir: resolve(opts.outDir), note: opts.note };
  const stages: Record<string, unknown> = {};
  for (const stage of UP_STAGES) {
    const r = await stage.run(ctx, env);
    stages[stage.name] = r.data;
    for (const l of r.lines) say(l);
  }
  return {
    inventory: { source: ctx.inventorySource, sampleData: fabric.sampleData, counts },
    addressing: { prefixes: ipam.ledger.size, newlyAllocated: ipam.added.length },
    state,
    stages,
    kpis: await computeLiveKpis(ctx),
  };
}
