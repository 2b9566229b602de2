import type { Command } from 'commander';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import {
  DrillAbortedError,
  DrillHistory,
  drillSteps,
  executeDrill,
  LAB_TLS_LABEL,
  LabPair,
  labDir,
  labTlsSource,
  NODES,
  pairProblemsFor,
  PgLab,
  PgTools,
  readPairFile,
  RemotePair,
  sampleReplication,
  COMMANDS,
  REPLICATION_MODES,
  renderMarkdown,
  SCENARIOS,
  TARGETS,
  UNSIGNED_NOTE,
  verifyReport,
  type DrillReport,
  type DrillRequest,
  type DrPair,
  type EvidenceSigner,
  type EvidenceVerifier,
  type PairConfig,
  type ReplicationSample,
  type ReplicaTlsSource,
  type ReplicationMode,
  type Scenario,
  type TargetKind,
} from '../../dr-runbooks/index.js';
import type { Fabric, LiveFacts, Site } from '../../fabric/index.js';
import { ExitCode, InputError, JinbaoError } from '../../lib/errors.js';
import { json, table } from '../../lib/output.js';
import { caBundlePem, evidenceSigner, PkiStore, replicaTlsMaterial, resolvePassphrase, ROOT_CA_ID, toPem, verifyEvidence } from '../../pki/index.js';
import type { Runner } from '../cli.js';
import type { Context } from '../context.js';
import type { UpStage } from '../up-stages.js';

interface RequestOptions {
  site?: string;
  target?: string;
  pair?: string;
  scenario?: string;
  replication?: string;
  probeRate?: string;
  detectionMs?: string;
  failback?: boolean;
}

const TEACH_RUN = `
Target pg drills an existing primary/standby pair described by a pair file (--pair): connection
strings, the endpoint, and the operator's commands for crash, stop, start, fence, route, drain and
rejoin (docs/dr.md has an example). Roles are found from the servers.

A drill on the embedded lab (pg-local) creates, in the state directory, a PostgreSQL 15 primary (the
site's data center) and a streaming standby (its DR center) replicating over mutual TLS behind an
HAProxy endpoint, unless "drill lab up" already did. Servers the drill started are stopped by pid
when it ends. Needs root (servers run as the postgres user) and the Debian packages postgresql and haproxy.

RTO = failure (or fence) → first acknowledged probe write on the new primary.
RPO = acknowledged probe rows missing on the new primary (+ WAL bytes not received at promotion).

Examples:
  $ jinbao drill plan --site 440000 --target pg-local
  $ jinbao drill run --site 440000 --target pg-local                              planned switchover
  $ jinbao drill run --site 440000 --target pg-local --scenario failover          SIGKILL the primary
  $ jinbao drill run --site 440100 --target pg-local --scenario failover --replication async --probe-rate 500
  $ jinbao drill run --site 440000 --scenario failover --switch-back              then back to the original primary
  $ jinbao drill pair status --site 440000 --pair pairs/440000.yaml               an existing pair: ready?
  $ jinbao drill run --site 440000 --target pg --pair pairs/440000.yaml --scenario failover
  $ jinbao drill list
  $ jinbao drill report dr-20261127T001500Z-440000-1a2b --format md
  $ jinbao drill verify-report .jinbao/dr-reports/dr-20261127T001500Z-440000-1a2b.json

Exit codes: 0 passed, 2 refused or invalid input, 3 drill failed or aborted, 4 a needed tool is missing.`;

export function register(program: Command, run: Runner): void {
  const drill = program.command('drill').description('disaster-recovery drills on real PostgreSQL replication: plan, run, abort, list, report, verify');
  drill.addHelpText('after', TEACH_RUN);
  const requestOptions = (c: Command) =>
    c
      .requiredOption('--site <id>', 'the site whose data center fails over to its DR center')
      .option('--target <target>', `where: ${TARGETS.join(' | ')} (pg-local: the embedded lab; pg: an existing pair described by --pair)`, 'pg-local')
      .option('--pair <file>', 'with --target pg: the pair file (connection strings and operator commands; see docs/dr.md)')
      .option('--scenario <scenario>', `${SCENARIOS.join(' | ')} (failover kills the primary with SIGKILL)`, 'switchover')
      .option('--replication <mode>', `${REPLICATION_MODES.join(' | ')}; default: the site's objectives (sync when its RPO is 0)`)
      .option('--probe-rate <n>', 'probe writes per second', '200')
      .option('--detection-ms <n>', 'failover: how long the primary must stay unreachable before it is declared failed', '1000')
      .option('--no-failback', 'leave the old primary fenced instead of rewinding it into a standby');

  requestOptions(drill.command('plan').description('print the steps of a drill without touching anything'))
    .option('--json', 'machine-readable output')
    .action(run<RequestOptions & { json?: boolean }>(plan));
  requestOptions(drill.command('run').description('run a drill and write its report (JSON and Markdown)'))
    .option('--out <dir>', 'where reports go; default: dr-reports/ in the state directory')
    .option('--lab-tls', 'pg-local: use lab-only openssl certificates even when the PKI is initialized (the report is then unsigned)')
    .option('--unsigned', 'pg: write an unsigned report even when the PKI is initialized')
    .option('--switch-back', 'after a passed drill, a planned switchover back so the original primary leads again (recorded as its own run)')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', TEACH_RUN)
    .action(run<RunOptions>(runDrill));
  drill
    .command('abort <run>')
    .description('stop a running drill; it runs its rollbacks')
    .addHelpText('after', '\nExample:\n  $ jinbao drill abort dr-20261127T001500Z-440000-1a2b')
    .action(run<Record<string, never>>(abort));
  drill
    .command('list')
    .description('drill history: result, RTO and RPO of every run')
    .option('--site <id>', 'one site only')
    .option('--json', 'machine-readable output')
    .action(run<{ site?: string; json?: boolean }>(list));
  drill
    .command('report <run>')
    .description("print a run's report")
    .option('--format <format>', 'md | json', 'md')
    .action(run<{ format: string }>(report));
  drill
    .command('verify-report <file>')
    .description("check a report file's digest and signature")
    .option('--root <pem>', 'trusted root CA certificate; default: the root of the PKI in the state directory')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExit code 0 when the digest and the signature check out, 3 otherwise (including unsigned reports).')
    .action(run<{ root?: string; json?: boolean }>(verify));

  const pair = drill.command('pair').description('an existing primary/standby pair (target pg): check its pair file and its state');
  pair
    .command('status')
    .description('roles, replication, lag, where the endpoint sends traffic, certificates; changes nothing')
    .requiredOption('--site <id>', 'the site')
    .requiredOption('--pair <file>', 'the pair file')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExit code 0 when the standby streams on the primary\'s timeline and the endpoint reaches the primary, 3 otherwise.\n\nExample:\n  $ jinbao drill pair status --site 440000 --pair pairs/440000.yaml')
    .action(run<{ site: string; pair: string; json?: boolean }>(pairStatus));

  const lab = drill.command('lab').description('the embedded DR lab of a site: up, down, status');
  lab
    .command('up')
    .description('create (or restart) the lab and leave it running')
    .requiredOption('--site <id>', 'the site')
    .option('--replication <mode>', `${REPLICATION_MODES.join(' | ')}; default: the site's objectives`)
    .option('--lab-tls', 'use lab-only openssl certificates even when the PKI is initialized')
    .action(run<{ site: string; replication?: string; labTls?: boolean }>(labUp));
  lab
    .command('down')
    .description('stop the lab (each process by its pid)')
    .requiredOption('--site <id>', 'the site')
    .option('--destroy', 'also delete the lab folder')
    .action(run<{ site: string; destroy?: boolean }>(labDown));
  lab
    .command('status')
    .description("the lab's processes, roles and replication")
    .requiredOption('--site <id>', 'the site')
    .option('--json', 'machine-readable output')
    .action(run<{ site: string; json?: boolean }>(labStatus));
}

function drSite(fabric: Fabric, id: string | undefined, source: string): { site: Site; dr: Site } {
  if (id === undefined) throw new InputError('--site is required: the site whose DR pairing to drill, e.g. --site 440000');
  const site = fabric.findSite(id);
  if (!site) throw new InputError(`no site "${id}" in ${source}; list the sites with: jinbao inventory show`);
  const dr = fabric.drCenterOf(site);
  if (!dr) throw new InputError(`site ${id} (${site.name}) has no DR pairing in ${source}; add sites[].dr with the site hosting its DR center, or pick a site that has one (jinbao up lists them)`);
  return { site, dr };
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new InputError(`${flag}: got "${value}", want one of ${allowed.join(', ')}`);
  return value as T;
}

function positiveInt(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InputError(`${flag}: got "${value}", want a whole number from 1 to ${max}`);
  return n;
}

export function buildRequest(ctx: Context, o: RequestOptions): DrillRequest {
  const fabric = ctx.fabric();
  const { site, dr } = drSite(fabric, o.site, ctx.inventorySource);
  const objectives = fabric.objectives(site);
  return {
    site: site.id,
    siteName: site.name,
    drSite: dr.id,
    target: oneOf<TargetKind>('--target', o.target ?? 'pg-local', TARGETS),
    scenario: oneOf<Scenario>('--scenario', o.scenario ?? 'switchover', SCENARIOS),
    replication: oneOf<ReplicationMode>('--replication', o.replication ?? objectives.replication, REPLICATION_MODES),
    probeRate: positiveInt('--probe-rate', o.probeRate ?? '200', 2000),
    detectionMs: positiveInt('--detection-ms', o.detectionMs ?? '1000', 60_000),
    catchUpTimeoutMs: 15_000,
    warmupMs: 1_000,
    failback: o.failback !== false,
    objectives: { rtoSeconds: objectives.rtoSeconds, rpoSeconds: objectives.rpoSeconds },
  };
}

async function plan(ctx: Context, o: RequestOptions & { json?: boolean }): Promise<void> {
  const request = buildRequest(ctx, o);
  const config = request.target === 'pg' ? pairConfigFor(request, o.pair) : undefined;
  const steps = drillSteps(request).map((s) => ({ name: s.name, description: s.description, ...(s.rollbackDescription ? { rollback: s.rollbackDescription } : {}) }));
  if (o.json) {
    ctx.out(json({ request, steps, ...(config ? { pair: { file: config.source, nodes: config.nodes.map((n) => ({ name: n.name, host: n.host, port: n.port })), commands: commandsInPlan(config) } } : {}) }));
    return;
  }
  ctx.out(`drill plan: ${request.scenario} of site ${request.site} ${request.siteName} to its DR center at ${request.drSite}, target ${request.target}, ${request.replication} replication\n`);
  ctx.out(`objectives: RTO ${request.objectives.rtoSeconds} s, RPO ${request.objectives.rpoSeconds === 0 ? '0 (no acknowledged write lost)' : `${request.objectives.rpoSeconds} s of data`}; probe ${request.probeRate} writes/s\n\n`);
  steps.forEach((s, i) => ctx.out(`${String(i + 1).padStart(2)}. ${s.name}: ${s.description}\n${s.rollback ? `    rollback: ${s.rollback}\n` : ''}`));
  if (config) {
    ctx.out(`\noperator commands from ${config.source} (roles are found when the drill starts: the node out of recovery is the primary):\n`);
    for (const c of commandsInPlan(config)) ctx.out(`  ${c.command.padEnd(9)} ${c.argv ? c.argv.join(' ') : '(not set)'}\n            ${c.usedBy}\n`);
  }
  ctx.out('\nnothing was changed; run it with: jinbao drill run ' + ['--site', request.site, '--target', request.target, ...(config ? ['--pair', config.source] : []), '--scenario', request.scenario].join(' ') + '\n');
}

/** The pair file of a `pg` drill, checked for this drill (site, the commands its scenario needs). */
function pairConfigFor(request: DrillRequest, file: string | undefined): PairConfig {
  if (file === undefined) {
    throw new InputError('--target pg needs --pair FILE: the pair file with the two connection strings, the endpoint and the operator commands (example in docs/dr.md); or drill the embedded lab with --target pg-local');
  }
  const config = readPairFile(file);
  const problems = pairProblemsFor(config, request);
  if (problems.length > 0) throw new InputError(`pair file ${file} cannot run this drill: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, { details: problems });
  return config;
}

/** Each operator command with the step that runs it (templates: {node} is filled in when the drill runs). */
function commandsInPlan(config: PairConfig): { command: string; argv?: readonly string[]; usedBy: string }[] {
  return (Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]).map((name) => ({
    command: name,
    ...(config.commands[name] ? { argv: config.commands[name]!.argv } : {}),
    usedBy: COMMANDS[name].usedBy,
  }));
}

/** The PKI store with an initialized hierarchy, or undefined. */
function existingPki(ctx: Context): PkiStore | undefined {
  const state = ctx.store();
  if (!state.versions()['pki']) return undefined;
  const pki = PkiStore.open(state);
  return pki.getCa(ROOT_CA_ID) ? pki : undefined;
}

export interface Evidence {
  readonly tls: ReplicaTlsSource;
  readonly signer?: EvidenceSigner;
  readonly notes: readonly string[];
}

/** Replica certificates and the report signer from the PKI when it is initialized and unlocked; lab-only otherwise. */
export async function evidenceSources(ctx: Context, site: string, forceLab: boolean, target: TargetKind = 'pg-local'): Promise<Evidence> {
  const pki = forceLab ? undefined : existingPki(ctx);
  if (!pki) return { tls: labTlsSource(), notes: [`replication TLS: ${LAB_TLS_LABEL}`, `report: ${UNSIGNED_NOTE}`] };
  let passphrase: string;
  try {
    passphrase = (await resolvePassphrase({ env: ctx.io.env, stateDir: ctx.stateDir })).passphrase;
  } catch (err) {
    throw new JinbaoError(`the PKI in ${ctx.stateDir} is initialized but locked: ${(err as Error).message}; or pass ${target === 'pg' ? '--unsigned for an unsigned report' : '--lab-tls to drill with lab-only certificates and an unsigned report'}`, { cause: err });
  }
  const fabric = ctx.fabric();
  const tls: ReplicaTlsSource = {
    label: 'replica-mtls certificates from the jinbao PKI (infrastructure CA)',
    async issue(req) {
      const servers = {} as Record<(typeof NODES)[number], { certPem: string; keyPem: string }>;
      for (const node of req.nodes) {
        const m = await replicaTlsMaterial(pki, fabric, { site, commonName: `${node}.dr-lab-${site}.jinbao.internal`, dnsNames: [`${node}.dr-lab-${site}.jinbao.internal`, 'localhost'], ipAddresses: ['127.0.0.1'], passphrase, validityDays: req.days, actor: 'jinbao drill' });
        servers[node] = { certPem: m.fullChainPem, keyPem: m.privateKeyPem };
      }
      const client = await replicaTlsMaterial(pki, fabric, { site, commonName: req.clientUser, passphrase, validityDays: req.days, actor: 'jinbao drill' });
      return { source: this.label, caPem: caBundlePem(pki), servers, client: { certPem: client.fullChainPem, keyPem: client.privateKeyPem } };
    },
  };
  const signerCommonName = `DR coordinator ${site}`;
  let pkiSigner: Awaited<ReturnType<typeof evidenceSigner>> | undefined;
  const signer: EvidenceSigner = {
    signer: `CN=${signerCommonName}`,
    async sign(data) {
      pkiSigner ??= await evidenceSigner(pki, fabric, { site, commonName: signerCommonName, passphrase, actor: 'jinbao drill' });
      return { scheme: 'jinbao-pki', value: await pkiSigner.sign(data) };
    },
  };
  return { tls, signer, notes: ['replication TLS: replica-mtls certificates from the jinbao PKI', `report: signed with an evidence-signing certificate (${signer.signer})`] };
}

/** Open the site's lab, creating or starting it; says what to stop afterwards. */
async function prepareLab(ctx: Context, site: string, replication: ReplicationMode, tls: ReplicaTlsSource): Promise<{ lab: PgLab; startedHere: boolean }> {
  const tools = new PgTools();
  tools.ensureInstalled();
  const dir = labDir(ctx.stateDir, site);
  if (!PgLab.exists(dir)) {
    ctx.err(`creating the DR lab for ${site} in ${dir} …\n`);
    const lab = await PgLab.create({ dir, site, replication, tls, tools, stateDir: ctx.stateDir });
    return { lab, startedHere: true };
  }
  const lab = PgLab.open(dir, tools);
  const wasRunning = lab.pid(lab.primary) !== undefined && lab.pid(lab.standby) !== undefined && lab.proxy.pid() !== undefined;
  if (!wasRunning) await lab.start();
  return { lab, startedHere: !wasRunning };
}

type RunOptions = RequestOptions & { out?: string; labTls?: boolean; unsigned?: boolean; switchBack?: boolean; json?: boolean };

async function runDrill(ctx: Context, o: RunOptions): Promise<number> {
  const request = buildRequest(ctx, o);
  if (o.labTls && request.target !== 'pg-local') throw new InputError('--lab-tls is for --target pg-local; an existing pair keeps its own certificates (use --unsigned for an unsigned report)');
  if (o.switchBack && !request.failback) throw new InputError('--switch-back needs the failback: drop --no-failback (the old primary must be a standby again before it can lead)');
  if (o.unsigned && request.target !== 'pg') throw new InputError('--unsigned is for --target pg; on the embedded lab, --lab-tls drills with lab-only certificates and an unsigned report');
  const history = new DrillHistory(ctx.store());
  if (request.target === 'pg') {
    const config = pairConfigFor(request, o.pair);
    const evidence: Evidence = o.unsigned ? { tls: labTlsSource(), notes: [`report: ${UNSIGNED_NOTE}`] } : await evidenceSources(ctx, request.site, false, 'pg');
    const pair = await RemotePair.open(config, { site: request.site });
    const tlsLabel = `operator-managed; the certificates the servers present are checked at preflight${config.tls.caFile ? ` against ${config.tls.caFile}` : ' (validity only: the pair file names no tls.ca)'}`;
    try {
      return await drive(ctx, o, request, history, { pair, lockName: `pg:${request.site}`, replicationTls: tlsLabel, evidence, notes: evidence.notes.filter((n) => n.startsWith('report:')) });
    } finally {
      await pair.close();
    }
  }
  const evidence = await evidenceSources(ctx, request.site, o.labTls === true);
  const { lab, startedHere } = await prepareLab(ctx, request.site, request.replication, evidence.tls);
  let exit: number;
  try {
    exit = await drive(ctx, o, request, history, { pair: new LabPair(lab), lockName: `pg-local:${request.site}`, replicationTls: lab.state.tlsSource, evidence, notes: evidence.notes });
  } finally {
    if (startedHere) await lab.stop();
  }
  if (startedHere && !o.json) ctx.out('lab servers this drill started were stopped; keep them running with: jinbao drill lab up --site ' + request.site + '\n');
  return exit;
}

/**
 * Run the drill on a pair (and, with --switch-back, a planned switchover back to the original
 * primary once it passed), write each report's files, print the outcome; the exit code says
 * whether every run passed.
 */
async function drive(
  ctx: Context,
  o: RunOptions,
  request: DrillRequest,
  history: DrillHistory,
  on: { pair: DrPair; lockName: string; replicationTls: string; evidence: Evidence; notes: readonly string[] },
): Promise<number> {
  const first = await runOnce(ctx, o, request, history, on);
  if (!o.switchBack) {
    if (o.json) ctx.out(json(first));
    return first.result === 'passed' ? ExitCode.ok : ExitCode.complianceFailed;
  }
  if (first.result !== 'passed') {
    if (o.json) ctx.out(json({ drill: first, switchBack: null }));
    else ctx.out(`no switch-back: the drill did not pass; the pair stays as the report says (check it before switching by hand)\n`);
    return ExitCode.complianceFailed;
  }
  if (!o.json) ctx.out(`\nswitch-back: a planned switchover ${on.pair.primary} → ${on.pair.standby}, so ${on.pair.standby} leads again\n`);
  const back = await runOnce(ctx, o, { ...request, scenario: 'switchover', failback: true }, history, on);
  if (o.json) ctx.out(json({ drill: first, switchBack: back }));
  return back.result === 'passed' ? ExitCode.ok : ExitCode.complianceFailed;
}

async function runOnce(
  ctx: Context,
  o: RunOptions,
  request: DrillRequest,
  history: DrillHistory,
  on: { pair: DrPair; lockName: string; replicationTls: string; evidence: Evidence; notes: readonly string[] },
): Promise<DrillReport> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new DrillAbortedError('interrupted (Ctrl-C)'));
  process.once('SIGINT', onSigint);
  let report: DrillReport;
  try {
    report = await executeDrill({
      request,
      pair: on.pair,
      history,
      lockName: on.lockName,
      replicationTls: on.replicationTls,
      ...(on.evidence.signer ? { signer: on.evidence.signer } : {}),
      signal: controller.signal,
      onStart: (id) => {
        if (!o.json) ctx.out(`drill ${id}: ${request.scenario} of ${request.site} → ${request.drSite} (${request.replication}, ${on.pair.primary} → ${on.pair.standby}); abort with: jinbao drill abort ${id}\n`);
      },
      onEvent: (e) => {
        if (o.json) return;
        if (e.type === 'step-finished') ctx.out(`  ${e.ok ? 'ok    ' : 'FAILED'} ${e.step}${e.detail ? `: ${e.detail}` : ''}\n`);
        if (e.type === 'rollback') ctx.out(`  ${e.ok ? 'rolled back' : 'ROLLBACK FAILED'} ${e.step}${e.detail ? `: ${e.detail}` : ''}\n`);
        if (e.type === 'note' && e.text.startsWith('operator command')) ctx.err(`    ${e.text}\n`);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  const outDir = resolve(o.out ?? join(ctx.stateDir, 'dr-reports'));
  mkdirSync(outDir, { recursive: true });
  const jsonFile = join(outDir, `${report.runId}.json`);
  writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(outDir, `${report.runId}.md`), renderMarkdown(report));
  if (!o.json) {
    const m = report.measured;
    ctx.out(`\n${report.result.toUpperCase()}: RTO ${m.rtoMs === undefined ? '—' : `${(m.rtoMs / 1000).toFixed(2)} s`} (objective ${request.objectives.rtoSeconds} s), RPO ${m.rpoRows ?? '—'} rows / ${m.rpoWalBytes ?? '?'} WAL bytes (objective ${request.objectives.rpoSeconds} s)\n`);
    for (const r of report.reasons) ctx.out(`  - ${r}\n`);
    for (const n of on.notes) ctx.out(`${n}\n`);
    ctx.out(`report: ${jsonFile} (and .md)\n`);
  }
  return report;
}

async function pairStatus(ctx: Context, o: { site: string; pair: string; json?: boolean }): Promise<number> {
  const request = buildRequest(ctx, { site: o.site, target: 'pg' });
  const config = readPairFile(o.pair);
  if (config.site !== undefined && config.site !== request.site) throw new InputError(`${config.source}: site: the file is for site ${config.site}, not ${request.site}`);
  const pair = await RemotePair.open(config, { site: request.site });
  try {
    const replication = await pair.replication();
    const mode = await pair.replicationMode().catch(() => undefined);
    const routed = await pair.traffic.current();
    const certificates = await pair.certificates(Date.now());
    const healthy = replication.streaming && routed === pair.primary;
    const status = { file: config.source, site: request.site, primary: pair.primary, standby: pair.standby, replicationMode: mode ?? null, replication, endpoint: { routesTo: routed ?? null }, certificates, healthy };
    if (o.json) ctx.out(json(status));
    else {
      ctx.out(`pair ${config.source} for site ${request.site}: primary ${pair.primary} (${pair.node(pair.primary).host}:${pair.node(pair.primary).port}), standby ${pair.standby} (${pair.node(pair.standby).host}:${pair.node(pair.standby).port})\n`);
      ctx.out(`replication: ${replication.detail}${mode ? `; ${mode}` : ''}${replication.replayDelaySeconds !== undefined ? `; replay lag ${replication.replayDelaySeconds.toFixed(3)} s, ${replication.replayLagBytes ?? 0} bytes` : ''}\n`);
      ctx.out(`endpoint: ${routed === undefined ? 'reaches no server' : `reaches ${routed}`}${routed !== undefined && routed !== pair.primary ? ' (NOT the primary)' : ''}\n`);
      for (const c of certificates) ctx.out(`certificate ${c.file}: ${c.problem ? `PROBLEM: ${c.problem}` : `valid until ${c.notAfter} (${c.subject})`}\n`);
      ctx.out(healthy ? 'ready for a drill: jinbao drill plan --site ' + request.site + ' --target pg --pair ' + config.source + '\n' : 'not ready for a drill: repair what is said above first\n');
    }
    return healthy ? ExitCode.ok : ExitCode.complianceFailed;
  } finally {
    await pair.close();
  }
}

async function abort(ctx: Context, _o: unknown, args: string[]): Promise<void> {
  const id = args[0]!;
  const r = new DrillHistory(ctx.store()).requestAbort(id);
  ctx.out(r === 'requested' ? `abort requested for ${id}; the drill runs its rollbacks and records the outcome (follow with: jinbao drill list)\n` : `${id} had no live process; marked aborted. Check the pair with: jinbao drill lab status --site ID (or jinbao drill pair status --site ID --pair FILE)\n`);
}

async function list(ctx: Context, o: { site?: string; json?: boolean }): Promise<void> {
  const runs = new DrillHistory(ctx.store()).list(o.site === undefined ? {} : { site: o.site });
  if (o.json) {
    ctx.out(json({ runs }));
    return;
  }
  if (runs.length === 0) {
    ctx.out('no drills recorded yet; plan one with: jinbao drill plan --site ID --target pg-local\n');
    return;
  }
  ctx.out(
    table(runs, [
      { header: 'run', value: (r) => r.id },
      { header: 'site', value: (r) => r.site },
      { header: 'scenario', value: (r) => r.scenario },
      { header: 'replication', value: (r) => r.replication },
      { header: 'result', value: (r) => r.result },
      { header: 'RTO', value: (r) => (r.rtoMs === undefined ? '—' : `${(r.rtoMs / 1000).toFixed(2)} s`), align: 'right' },
      { header: 'RPO rows', value: (r) => r.rpoRows ?? '—', align: 'right' },
      { header: 'finished', value: (r) => r.finishedAt ?? '' },
    ]),
  );
}

async function report(ctx: Context, o: { format: string }, args: string[]): Promise<void> {
  const format = oneOf('--format', o.format, ['md', 'json'] as const);
  const r = new DrillHistory(ctx.store()).report(args[0]!) as DrillReport;
  ctx.out(format === 'json' ? JSON.stringify(r, null, 2) + '\n' : renderMarkdown(r));
}

function pkiVerifier(ctx: Context, rootFile: string | undefined): EvidenceVerifier | undefined {
  let rootPem: string | undefined;
  let pki: PkiStore | undefined;
  if (rootFile !== undefined) {
    try {
      rootPem = readFileSync(rootFile, 'utf8');
    } catch (err) {
      throw new InputError(`--root: cannot read ${rootFile}: ${(err as Error).message}`, { cause: err });
    }
  } else {
    pki = existingPki(ctx);
    const root = pki?.getCa(ROOT_CA_ID);
    if (root) rootPem = toPem(root.der);
  }
  if (rootPem === undefined) return undefined;
  const trust = { rootPem, ...(pki ? { pki } : {}) };
  return {
    async verify(data, signature) {
      if (signature.scheme !== 'jinbao-pki') return { ok: false, problem: `got signature scheme "${signature.scheme}", want "jinbao-pki"` };
      const v = verifyEvidence(data, signature.value as Parameters<typeof verifyEvidence>[1], trust);
      return { ok: v.ok, ...(v.signer ? { signer: `${v.signer.subject} (serial ${v.signer.serial})` } : {}), ...(v.reason ? { problem: v.reason } : {}) };
    },
  };
}

async function verify(ctx: Context, o: { root?: string; json?: boolean }, args: string[]): Promise<number> {
  const file = args[0]!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the report ${file}: ${(err as Error).message}`, { cause: err });
  }
  const v = await verifyReport(text, pkiVerifier(ctx, o.root));
  if (o.json) ctx.out(json({ file, ...v }));
  else {
    ctx.out(`${file}: ${v.ok ? 'VALID' : 'NOT VERIFIED'}; digest ${v.digestOk ? 'matches' : 'DOES NOT MATCH'}; ${v.signed ? `signed${v.signer ? ` by ${v.signer}` : ''}` : 'unsigned'}\n`);
    for (const p of v.problems) ctx.out(`  - ${p}\n`);
  }
  return v.ok ? ExitCode.ok : ExitCode.complianceFailed;
}

async function labUp(ctx: Context, o: { site: string; replication?: string; labTls?: boolean }): Promise<void> {
  const request = buildRequest(ctx, { site: o.site, ...(o.replication ? { replication: o.replication } : {}) });
  const evidence = await evidenceSources(ctx, request.site, o.labTls === true);
  const { lab, startedHere } = await prepareLab(ctx, request.site, request.replication, evidence.tls);
  ctx.out(`${startedHere ? 'started' : 'already running'}: DR lab for ${request.site} in ${lab.dir}\n`);
  ctx.out(`  primary ${lab.primary} (127.0.0.1:${lab.state.ports[lab.primary]}), standby ${lab.standby} (127.0.0.1:${lab.state.ports[lab.standby]}), endpoint 127.0.0.1:${lab.state.proxyPort}\n`);
  ctx.out(`  replication TLS: ${lab.state.tlsSource}\n  stop it with: jinbao drill lab down --site ${request.site}\n`);
}

async function labDown(ctx: Context, o: { site: string; destroy?: boolean }): Promise<void> {
  const dir = labDir(ctx.stateDir, o.site);
  const lab = PgLab.open(dir);
  const { stopped } = await lab.stop();
  if (o.destroy) await lab.destroy();
  ctx.out(`${stopped.length > 0 ? `stopped ${stopped.join(', ')}` : 'nothing was running'}${o.destroy ? `; removed ${dir}` : ''}\n`);
}

async function labStatus(ctx: Context, o: { site: string; json?: boolean }): Promise<void> {
  const lab = PgLab.open(labDir(ctx.stateDir, o.site));
  const nodes = NODES.map((n) => ({ node: n, role: n === lab.primary ? 'primary' : 'standby', port: lab.state.ports[n], pid: lab.pid(n) ?? null, fenced: lab.hasStandbySignal(n) && n === lab.primary }));
  const replication = lab.pid(lab.primary) !== undefined ? await new LabPair(lab).replication().catch((e: Error) => ({ streaming: false, detail: e.message })) : { streaming: false, detail: 'primary not running' };
  const status = { dir: lab.dir, site: lab.state.site, replicationMode: lab.state.replication, endpoint: { port: lab.state.proxyPort, pid: lab.proxy.pid() ?? null }, nodes, replication, tls: lab.state.tlsSource };
  if (o.json) {
    ctx.out(json(status));
    return;
  }
  ctx.out(`DR lab ${status.site} in ${status.dir}: ${status.replicationMode} replication, endpoint 127.0.0.1:${status.endpoint.port} (${status.endpoint.pid ? `pid ${status.endpoint.pid}` : 'stopped'})\n`);
  ctx.out(table(nodes, [
    { header: 'node', value: (n) => n.node },
    { header: 'role', value: (n) => n.role },
    { header: 'port', value: (n) => n.port, align: 'right' },
    { header: 'pid', value: (n) => n.pid ?? 'stopped' },
  ]));
  ctx.out(`replication: ${replication.detail}\n`);
}

/** KPI fact: sites with a passed drill against their real pair within 90 days; absent (needs live state) until one such drill finished. */
export function drillLiveFacts(ctx: Context): Partial<LiveFacts> {
  if (!ctx.hasStore()) return {};
  const store = ctx.store();
  if (!store.versions()['dr']) return {};
  const real = new DrillHistory(store).realPairDrills();
  return real.finished > 0 ? { recentPassedDrills: real.recentPassed } : {};
}

/** Last RTO, RPO, result and age of each site's latest drill, computed at scrape time. */
export function registerDrillMetrics(registry: Registry, ctx: Context): void {
  const registers = [registry];
  const latest = () => {
    const store = ctx.store();
    return store.versions()['dr'] ? new DrillHistory(store).latestPerSite() : [];
  };
  new Gauge({
    name: 'jinbao_dr_last_rto_seconds',
    help: "Measured RTO of the site's latest drill: failure (or fence) to the first acknowledged write on the new primary.",
    labelNames: ['site', 'scenario'],
    registers,
    collect() {
      this.reset();
      for (const r of latest()) if (r.rtoMs !== undefined) this.set({ site: r.site, scenario: r.scenario }, r.rtoMs / 1000);
    },
  });
  new Gauge({
    name: 'jinbao_dr_last_rpo_rows',
    help: "Acknowledged probe rows missing on the new primary in the site's latest drill.",
    labelNames: ['site', 'scenario'],
    registers,
    collect() {
      this.reset();
      for (const r of latest()) if (r.rpoRows !== undefined) this.set({ site: r.site, scenario: r.scenario }, r.rpoRows);
    },
  });
  new Gauge({
    name: 'jinbao_dr_last_passed',
    help: "1 when the site's latest drill passed, 0 when it failed or was aborted.",
    labelNames: ['site', 'result'],
    registers,
    collect() {
      this.reset();
      for (const r of latest()) this.set({ site: r.site, result: r.result }, r.result === 'passed' ? 1 : 0);
    },
  });
  new Gauge({
    name: 'jinbao_dr_last_drill_age_seconds',
    help: "Seconds since the site's latest drill finished.",
    labelNames: ['site'],
    registers,
    collect() {
      this.reset();
      const now = Date.now();
      for (const r of latest()) if (r.finishedAt) this.set({ site: r.site }, Math.max(0, (now - Date.parse(r.finishedAt)) / 1000));
    },
  });
}

/**
 * Replication of the pairs given to the exporter (pair files) and of the running embedded labs,
 * sampled once per scrape: standby streaming (1/0), replay lag in seconds and bytes per site.
 */
export function registerReplicationMetrics(registry: Registry, ctx: Context, pairs: readonly PairConfig[]): void {
  const registers = [registry];
  let cached: { at: number; samples: Promise<ReplicationSample[]> } | undefined;
  // The three gauges are collected one after the other in a scrape: they share one sample.
  const samples = () => {
    const now = performance.now();
    if (!cached || now - cached.at > 2_000) cached = { at: now, samples: sampleReplication({ stateDir: ctx.stateDir, pairs }) };
    return cached.samples;
  };
  new Gauge({
    name: 'jinbao_dr_standby_streaming',
    help: "1 when the site's DR standby streams from its primary on the primary's timeline, 0 when not (or a node does not answer).",
    labelNames: ['site'],
    registers,
    async collect() {
      this.reset();
      for (const s of await samples()) this.set({ site: s.site }, s.streaming ? 1 : 0);
    },
  });
  new Gauge({
    name: 'jinbao_dr_replication_lag_seconds',
    help: "Replay lag of the site's streaming DR standby: age of the newest replayed transaction while WAL waits to be replayed, 0 when caught up.",
    labelNames: ['site'],
    registers,
    async collect() {
      this.reset();
      for (const s of await samples()) if (s.lagSeconds !== undefined) this.set({ site: s.site }, s.lagSeconds);
    },
  });
  new Gauge({
    name: 'jinbao_dr_replication_lag_bytes',
    help: "WAL the site's streaming DR standby has not replayed yet (primary's current position minus the standby's replay position), bytes.",
    labelNames: ['site'],
    registers,
    async collect() {
      this.reset();
      for (const s of await samples()) if (s.lagBytes !== undefined) this.set({ site: s.site }, s.lagBytes);
    },
  });
}

/** Pair files for the exporter: each must name its site. */
export function readExporterPairs(files: readonly string[]): PairConfig[] {
  const configs = files.map((f) => readPairFile(f));
  const problems = configs.filter((c) => c.site === undefined).map((c) => `${c.source}: site: is required for the exporter (it labels the metrics); add site: "ID"`);
  const seen = new Map<string, string>();
  for (const c of configs) {
    if (c.site === undefined) continue;
    const other = seen.get(c.site);
    if (other) problems.push(`${c.source}: site: ${c.site} is also the site of ${other}; give each site one pair file`);
    seen.set(c.site, c.source);
  }
  if (problems.length > 0) throw new InputError(`--dr-pair: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, { details: problems });
  return configs;
}

/** `jinbao up`: DR pairings and drill status per site, from the inventory and the history (starts nothing). */
export const drillUpStage: UpStage = {
  name: 'dr',
  async run(ctx, env) {
    const fabric = env.fabric;
    const paired = fabric.sites.filter((s) => s.dr !== undefined);
    const store = ctx.store();
    const history = store.versions()['dr'] ? new DrillHistory(store) : undefined;
    const latest = new Map((history?.latestPerSite() ?? []).map((r) => [r.site, r]));
    const recent = history?.recentPassed() ?? new Set<string>();
    const byTier = { ministry: 0, province: 0, prefecture: 0 };
    for (const s of paired) byTier[s.tier] += 1;
    const sites = paired.map((s) => {
      const last = latest.get(s.id);
      const status = last === undefined ? 'never drilled' : recent.has(s.id) ? 'passed within 90 days' : last.result === 'passed' ? 'passed, over 90 days ago' : `last drill ${last.result}`;
      return { site: s.id, name: s.name, tier: s.tier, drSite: s.dr!.site, objectives: fabric.objectives(s), status, ...(last ? { lastRun: last.id, lastResult: last.result, lastRtoMs: last.rtoMs, lastRpoRows: last.rpoRows } : {}) };
    });
    const count = (p: (x: (typeof sites)[number]) => boolean) => sites.filter(p).length;
    const lines = [
      `dr: ${paired.length} DR pairings (${byTier.ministry} ministry, ${byTier.province} provinces, ${byTier.prefecture} prefectures); drills: ${count((s) => s.status === 'passed within 90 days')} passed within 90 days, ${count((s) => s.status.startsWith('last drill'))} failing, ${count((s) => s.status === 'never drilled')} never drilled`,
      ...sites
        .filter((s) => s.lastRun)
        .slice(0, 3)
        .map((s) => `  ${s.site} ${s.name} → ${s.drSite}: ${s.status} (${s.lastRun})`),
    ];
    if (sites.every((s) => !s.lastRun) && sites[0]) lines.push(`  first drill: jinbao drill plan --site ${sites[0].site} --target pg-local`);
    return { lines, data: { pairings: paired.length, byTier, sites } };
  },
};
