import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { inputError } from '../../lib/i18n/index.js';
import { parseChoice } from '../../lib/options.js';
import { json } from '../../lib/output.js';
import { progress } from '../../lib/progress.js';
import { allocateAndRecord } from '../../fabric/operations.js';
import { loadCdktfEngine, loadDeployer, loadPulumiEngine, objectRef as objectRefOf, parseBackend, pgSchemaName, splitPemBundle, type RenderOptions } from '../../stacks/index.js';
import { siteObjects } from '../../stacks/operations.js';
import { siteEabKeyIds } from '../../pki/acme/index.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import type { Runner } from '../runner.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function register(program: Command, run: Runner): void {
  program
    .command('manifests')
    .description("print a site's data-center objects (namespaces, quotas, network policies, RBAC, trust bundle) as kubectl takes them")
    .requiredOption('--site <id>', 'the site, by its six-digit code')
    .option('--format <format>', 'yaml or json', 'yaml')
    .option('--trust-bundle <file>', 'PEM file of public CA certificates for the trust-bundle ConfigMap')
    .option('--acme-url <url>', "the certificate service's https:// URL cert-manager enrolls against (default: https://pki.<ministry slug>.jinbao.internal)")
    .addHelpText(
      'after',
      '\nThe same objects the cdktf and Pulumi stacks declare, from the inventory only.\n\n' +
        'Examples:\n  $ jinbao manifests --site 440100 | kubectl apply --dry-run=server -f -\n  $ jinbao manifests --site 610000 --format json | jq \'.[].metadata.name\'',
    )
    .action(run<ManifestsOptions>(manifests));

  program
    .command('synth')
    .description('synthesize the sites\' data-center stacks: cdktf (Terraform JSON) or a prepared Pulumi stack')
    .option('--site <id>', 'only this site (repeatable); default: every site', collect)
    .option('--engine <engine>', 'cdktf or pulumi', 'cdktf')
    .option('--out <dir>', 'output folder; default: cdktf.out for cdktf, the Pulumi project (stacks/pulumi) for pulumi')
    .option('--backend <kind>', 'Terraform state backend: local or pg', 'local')
    .option('--backend-conn <conn>', 'PostgreSQL connection string for --backend pg, written into the stacks; refused if it holds a password (default: none, terraform reads PG_CONN_STR)')
    .option('--trust-bundle <file>', 'PEM file of public CA certificates for the trust-bundle ConfigMaps')
    .option('--acme-url <url>', "the certificate service's https:// URL cert-manager enrolls against (default: https://pki.<ministry slug>.jinbao.internal)")
    .option('--json', 'machine-readable summary')
    .addHelpText(
      'after',
      '\nIncremental: a site whose objects did not change is not rewritten. Nothing is written when any\n' +
        'selected site would render an invalid object.\n\n' +
        'State in PostgreSQL (--backend pg): each site gets its own schema, jinbao_site_<site>. No password is\n' +
        'ever written into a stack. Without --backend-conn the stacks hold no connection string at all: export\n' +
        'PG_CONN_STR (Terraform 1.5 or later) before terraform init, and the password in PGPASSWORD or ~/.pgpass.\n\n' +
        'Examples:\n' +
        '  $ jinbao synth                                      every site into cdktf.out/stacks/<site>/cdk.tf.json\n' +
        '  $ jinbao synth --site 440100 --site 440300\n' +
        '  $ jinbao synth --backend pg                         then: export PG_CONN_STR=postgres://tf@db.example/jinbao\n' +
        '  $ jinbao synth --backend pg --backend-conn postgres://tf@db.example/jinbao\n' +
        '  $ jinbao synth --engine pulumi --site 440100 && cd stacks/pulumi && pulumi up -s site-440100',
    )
    .action(run<SynthCommandOptions>(synth));

  const deployOptions = (c: Command) =>
    c
      .requiredOption('--site <id>', 'the site whose cluster this is')
      .requiredOption('--kubeconfig <file>', "kubeconfig of the site's cluster")
      .option('--context <name>', 'kubeconfig context; default: its current context')
      .option('--prune', 'delete objects that carry the site\'s labels but are no longer desired')
      .option('--trust-bundle <file>', 'PEM file of public CA certificates for the trust-bundle ConfigMaps')
      .option('--acme-url <url>', "the certificate service's https:// URL cert-manager enrolls against (default: https://pki.<ministry slug>.jinbao.internal)");

  deployOptions(program.command('plan'))
    .description("compare a site's desired objects with its cluster: what apply would create, change and delete")
    .option('--json', 'machine-readable plan')
    .addHelpText('after', '\nReads only. Example:\n  $ jinbao plan --site 440100 --kubeconfig ~/.kube/guangzhou.yaml')
    .action(run<DeployCommandOptions>(plan));

  deployOptions(program.command('apply'))
    .description("bring a site's cluster to its desired objects with server-side apply (field manager \"jinbao\")")
    .option('--dry-run', 'let the API server check every change without storing it')
    .option('--force-conflicts', "take over fields another field manager owns (otherwise such a conflict stops the apply)")
    .option('--json', 'machine-readable report')
    .addHelpText(
      'after',
      '\nPrints the plan, then applies it: namespaces and roles first. Stops at the first refusal and lists\n' +
        'what was applied and what was not; running it again resumes from the cluster\'s state.\n\n' +
        'Examples:\n  $ jinbao apply --site 440100 --kubeconfig ~/.kube/guangzhou.yaml --dry-run\n  $ jinbao apply --site 440100 --kubeconfig ~/.kube/guangzhou.yaml --prune',
    )
    .action(run<DeployCommandOptions>(apply));
}

interface DeployCommandOptions {
  readonly site: string;
  readonly kubeconfig: string;
  readonly context?: string;
  readonly prune?: boolean;
  readonly dryRun?: boolean;
  readonly forceConflicts?: boolean;
  readonly trustBundle?: string;
  readonly acmeUrl?: string;
  readonly json?: boolean;
}

async function planFor(ctx: Context, opts: DeployCommandOptions) {
  const fabric = ctx.fabric();
  requireSite(ctx, opts.site);
  const render = await renderOptions(ctx, opts);
  const objects = await siteObjects(await ctx.database(), fabric, opts.site, render);
  const deployer = await loadDeployer();
  const cluster = deployer.connectCluster(opts.kubeconfig, opts.context);
  return { deployer, cluster, plan: await deployer.planSite(cluster, opts.site, objects) };
}

async function plan(ctx: Context, opts: DeployCommandOptions): Promise<void> {
  const { deployer, plan: p } = await planFor(ctx, opts);
  if (opts.json) return void ctx.out(json({ ...p, changes: p.changes.map((c) => ({ action: c.action, ref: objectRefOf(c.object), ...(c.action === 'update' ? { fields: c.fields } : {}) })) }));
  ctx.out(deployer.formatPlan(p, { prune: opts.prune ?? false, lang: ctx.lang }));
}

async function apply(ctx: Context, opts: DeployCommandOptions): Promise<void> {
  const { deployer, cluster, plan: p } = await planFor(ctx, opts);
  if (!opts.json) ctx.out(deployer.formatPlan(p, { prune: opts.prune ?? false, lang: ctx.lang }));
  const report = await deployer.applyPlan(cluster, p, { dryRun: opts.dryRun ?? false, prune: opts.prune ?? false, forceConflicts: opts.forceConflicts ?? false });
  if (opts.json) return void ctx.out(json({ site: p.site, server: p.server, ...report }));
  const mode = report.dryRun ? 'dryRun' : 'done';
  ctx.out(ctx.t(`stacks.apply.${mode}`, { count: report.applied.length }));
  if (report.pruned.length) ctx.out(ctx.t(`stacks.apply.${mode}Pruned`, { count: report.pruned.length }));
  ctx.out(report.unchecked.length ? `${ctx.t('stacks.apply.unchecked', { count: report.unchecked.length })}\n` : '\n');
}

interface ManifestsOptions {
  readonly site: string;
  readonly format: string;
  readonly trustBundle?: string;
  readonly acmeUrl?: string;
}

interface SynthCommandOptions {
  readonly site?: string[];
  readonly engine: string;
  readonly out?: string;
  readonly backend: string;
  readonly backendConn?: string;
  readonly trustBundle?: string;
  readonly acmeUrl?: string;
  readonly json?: boolean;
}

/** --trust-bundle, --acme-url and the EAB key ids recorded in the state (`jinbao acme eab create --site ID`). */
async function renderOptions(ctx: Context, opts: { readonly trustBundle?: string; readonly acmeUrl?: string }): Promise<RenderOptions> {
  const certificateService = { eabKeyIds: await siteEabKeyIds(ctx), ...(opts.acmeUrl !== undefined ? { publicUrl: opts.acmeUrl } : {}) };
  if (opts.trustBundle === undefined) return { certificateService };
  let text: string;
  try {
    text = readFileSync(opts.trustBundle, 'utf8');
  } catch (err) {
    throw inputError(COMMAND_MESSAGES, 'stacks.trustBundleUnreadable', { file: opts.trustBundle, reason: (err as Error).message }, { cause: err });
  }
  return { trustBundle: splitPemBundle(text, opts.trustBundle), certificateService };
}

function requireSite(ctx: Context, id: string): void {
  if (!ctx.fabric().has(id)) throw inputError(COMMAND_MESSAGES, 'stacks.noSite', { site: id, source: ctx.inventorySourceText });
}

async function manifests(ctx: Context, opts: ManifestsOptions): Promise<void> {
  const fabric = ctx.fabric();
  const format = parseChoice('--format', opts.format, ['yaml', 'json'] as const);
  requireSite(ctx, opts.site);
  const objects = await siteObjects(await ctx.database(), fabric, opts.site, await renderOptions(ctx, opts));
  if (format === 'json') ctx.out(json(objects));
  else ctx.out(objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join(''));
}

async function synth(ctx: Context, opts: SynthCommandOptions): Promise<void> {
  const fabric = ctx.fabric();
  const engine = parseChoice('--engine', opts.engine, ['cdktf', 'pulumi'] as const);
  for (const id of opts.site ?? []) requireSite(ctx, id);
  const render = await renderOptions(ctx, opts);
  if (engine === 'pulumi') {
    if (opts.backend !== 'local' || opts.backendConn !== undefined) throw inputError(COMMAND_MESSAGES, 'stacks.pulumiBackend');
    if (!opts.site) throw inputError(COMMAND_MESSAGES, 'stacks.pulumiSites');
    const { allocations } = await allocateAndRecord(await ctx.database(), fabric);
    const { preparePulumi } = await loadPulumiEngine();
    const prepared = preparePulumi(fabric, allocations, { sites: opts.site, render, ...(opts.out ? { dir: resolve(opts.out) } : {}) });
    if (opts.json) return void ctx.out(json({ engine: 'pulumi', stacks: prepared }));
    for (const p of prepared) ctx.out(`${ctx.t('stacks.pulumiPrepared', { stack: p.stack, resources: p.resources, file: p.configFile })}\n`);
    ctx.out(`${ctx.t('stacks.pulumiNext', { command: `cd ${resolve(prepared[0]!.configFile, '..')} && pulumi up --stack ${prepared[0]!.stack}` })}\n`);
    return;
  }
  const backend = parseBackend(opts.backend, opts.backendConn);
  const { allocations } = await allocateAndRecord(await ctx.database(), fabric);
  const { synthesizeCdktf } = await loadCdktfEngine();
  const outDir = resolve(opts.out ?? 'cdktf.out');
  const bar = progress(ctx.io.stderr, opts.site?.length ?? fabric.sites.length, ctx.t('stacks.synthesizing'));
  const result = await synthesizeCdktf(fabric, allocations, {
    outDir,
    backend,
    render,
    ...(opts.site ? { sites: opts.site } : {}),
    onProgress: (done) => bar.update(done),
  });
  bar.done();
  if (opts.json) return void ctx.out(json({ engine: 'cdktf', ...result }));
  ctx.out(
    ctx.t('stacks.synthesized', { stacks: result.stacks, dir: outDir, synthesized: result.rewritten.length + result.unchanged.length, resources: result.resources, rewritten: result.rewritten.length, unchanged: result.unchanged.length }) +
      (result.removed.length ? ctx.t('stacks.removed', { count: result.removed.length }) : '') +
      '\n',
  );
  const deploy = ctx.t('stacks.deploy', { command: `cd ${join(outDir, 'stacks', result.rewritten[0] ?? result.unchanged[0] ?? '<site>')} && terraform init && terraform apply` });
  if (backend.kind === 'local') return void ctx.out(`${ctx.t('stacks.backendLocal', { deploy })}\n`);
  ctx.out(`${ctx.t('stacks.backendPg', { schema: pgSchemaName('<site>'), deploy })}\n`);
  ctx.out(`  ${backend.connStr === undefined ? ctx.t('stacks.pgNoConn') : ctx.t('stacks.pgConn')}\n`);
}
