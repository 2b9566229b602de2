/**
 * `jinbao up`: validate, allocate, then each feature's part in order, then the plan's targets.
 * Each stage calls its feature's operations and says in a few lines what it did.
 */
import { join, resolve } from 'node:path';
import { drillStatus } from '../dr-runbooks/operations/index.js';
import type { Fabric, Indicator } from '../fabric/index.js';
import { allocateAndRecord } from '../fabric/operations.js';
import type { Progress } from '../lib/context.js';
import { translator, type Lang, type Translate } from '../lib/i18n/index.js';
import { renderNationalWan } from '../network/operations.js';
import { ensureReplicaCertificates } from '../pki/operations.js';
import { synthesizeNation } from '../stacks/operations.js';
import { writePostureReport } from './compliance.js';
import type { OpsContext } from './context.js';
import { computeLiveKpis } from './live-facts.js';
import { ORCHESTRATION } from './messages.js';

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
  /** The language of the human lines and progress notes. @default 'en' */
  readonly lang?: Lang;
}

/** The stage's words in the language `env` asks for. */
function words(env: UpEnv): Translate {
  return translator(env.lang ?? 'en', ORCHESTRATION);
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
    const t = words(env);
    const outDir = join(env.outDir, 'pki', 'replica');
    const r = await ensureReplicaCertificates(ctx, env.fabric, { env: ctx.env, outDir, progress: env.note });
    const lines: string[] = [];
    if (r.demoKeyStore) lines.push(t('up.pki.demo'));
    if (r.hierarchyCreated) lines.push(t('up.pki.created', { dir: r.stateDir }));
    if (r.replica === null) lines.push(t('up.pki.noPassphrase', { env: r.passphraseEnv }));
    else lines.push(t('up.pki.replica', { pairings: r.replica.pairings, issued: r.replica.issued, kept: r.replica.kept, dir: r.replica.dir }));
    return { lines, data: { hierarchyCreated: r.hierarchyCreated, demoKeyStore: r.demoKeyStore, replica: r.replica } };
  },
};

export const stacksUpStage: UpStage = {
  name: 'stacks',
  async run(ctx, env) {
    const t = words(env);
    env.note(t('up.stacks.progress', { sites: env.fabric.sites.length }));
    const { outDir, result: r, seconds } = await synthesizeNation(await ctx.database(), env.fabric, env.outDir);
    return {
      lines: [
        t('up.stacks.done', { stacks: r.stacks, resources: r.resources, dir: outDir, rewritten: r.rewritten.length, unchanged: r.unchanged.length, removed: r.removed.length ? t('up.stacks.removed', { count: r.removed.length }) : '', seconds: seconds.toFixed(1) }),
      ],
      data: { outDir, stacks: r.stacks, resources: r.resources, rewritten: r.rewritten.length, unchanged: r.unchanged.length, removed: r.removed.length },
    };
  },
};

export const wanUpStage: UpStage = {
  name: 'wan',
  async run(ctx, env) {
    const t = words(env);
    env.note(t('up.wan.progress'));
    const { out, files, seconds, summary: s } = await renderNationalWan(ctx, env.fabric, env.outDir);
    return {
      lines: [t('up.wan.done', { nodes: s.nodes, hubs: s.hubs, peers: s.peers, interfaces: s.interfaces, rules: s.firewallRules, routers: s.routers, files, dir: out, seconds: seconds.toFixed(1) })],
      data: { out, files, seconds, ...s },
    };
  },
};

export const drillUpStage: UpStage = {
  name: 'dr',
  async run(ctx, env) {
    const t = words(env);
    const data = await drillStatus(ctx, env.fabric);
    const { sites, byTier } = data;
    const count = (p: (x: (typeof sites)[number]) => boolean) => sites.filter(p).length;
    const lines = [
      t('up.dr.summary', { pairings: data.pairings, ministry: byTier.ministry, provinces: byTier.province, prefectures: byTier.prefecture, passed: count((s) => s.status === 'passed within 90 days'), failing: count((s) => s.status.startsWith('last drill')), never: count((s) => s.status === 'never drilled') }),
      ...sites
        .filter((s) => s.lastRun)
        .slice(0, 3)
        .map((s) => t('up.dr.site', { site: s.site, name: s.name, drSite: s.drSite, status: s.status, lastRun: s.lastRun ?? '' })),
    ];
    if (sites.every((s) => !s.lastRun) && sites[0]) lines.push(t('up.dr.first', { site: sites[0].site }));
    return { lines, data };
  },
};

export const postureUpStage: UpStage = {
  name: 'posture',
  async run(ctx, env) {
    const t = words(env);
    env.note(t('up.posture.progress'));
    const { file, report: r } = await writePostureReport(ctx, join(env.outDir, 'report'));
    const s = r.summary;
    return {
      lines: [
        t('up.posture.summary', { controls: s.controls, pass: s.byStatus.pass, fail: s.byStatus.fail, manual: s.byStatus.manual, notRun: s.byStatus['not-run'], verdict: s.compliant ? t('up.posture.compliant') : t('up.posture.notCompliant', { count: s.bindingNotPassed.length }) }),
        t('up.posture.report', { file }),
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
export async function runUp(ctx: OpsContext, opts: { outDir: string; say: Progress; note: Progress; lang?: Lang }): Promise<UpResult> {
  const { say } = opts;
  const t = translator(opts.lang ?? 'en', ORCHESTRATION);
  const fabric = ctx.fabric();
  const counts = {
    ministry: fabric.byTier('ministry').length,
    province: fabric.byTier('province').length,
    prefecture: fabric.byTier('prefecture').length,
    accessPlatforms: fabric.sites.reduce((n, s) => n + s.accessPlatforms.length, 0),
  };
  say(t('up.inventory', { source: ctx.builtInInventory ? t('up.builtIn') : ctx.inventorySource }));
  if (fabric.sampleData) say(t('up.sample'));
  say(t('up.counts', { ministry: counts.ministry, provinces: counts.province, prefectures: counts.prefecture, platforms: counts.accessPlatforms }));

  const db = await ctx.database();
  const ipam = await allocateAndRecord(db, fabric);
  say(t('up.addressing', { prefixes: ipam.ledger.size, added: ipam.added.length, overlay: fabric.inventory.addressing.overlay, underlay: fabric.inventory.addressing.underlay }));
  // The embedded store is named by its directory (as given), the shared one by its server and database.
  const state = db.dialect === 'sqlite' ? ctx.stateDir : db.where;
  say(t('up.state', { dir: state }));

  const env: UpEnv = { fabric, outDir: resolve(opts.outDir), note: opts.note, lang: opts.lang ?? 'en' };
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
