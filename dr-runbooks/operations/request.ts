import { sourceParam, type Fabric, type Site } from '../../fabric/index.js';
import { inputError } from '../../lib/i18n/index.js';
import { DR_MESSAGES } from '../messages.js';
import type { DrillRequest, ReplicationMode, Scenario, TargetKind } from '../model.js';
import { drillSteps } from '../runbook.js';
import { COMMANDS, pairProblemsFor, readPairFile, type PairConfig } from '../pg/pair-config.js';

/** A site with a DR pairing, and the site hosting its DR center. */
export function drSite(fabric: Fabric, id: string | undefined, source: string): { site: Site; dr: Site } {
  if (id === undefined) throw inputError(DR_MESSAGES, 'request.siteRequired');
  const site = fabric.findSite(id);
  if (!site) throw inputError(DR_MESSAGES, 'request.noSite', { site: id, source: sourceParam(source) });
  const dr = fabric.drCenterOf(site);
  if (!dr) throw inputError(DR_MESSAGES, 'request.noDr', { site: id, name: site.name, source: sourceParam(source) });
  return { site, dr };
}

/** What a drill request needs besides the inventory; options already parsed and checked. */
export interface DrillChoices {
  readonly site?: string;
  readonly target?: TargetKind;
  readonly scenario?: Scenario;
  /** Default: the site's objectives (sync when its RPO is 0). */
  readonly replication?: ReplicationMode;
  readonly probeRate?: number;
  readonly detectionMs?: number;
  readonly failback?: boolean;
}

/** The drill of a site's DR pairing, with the site's recovery objectives. */
export function buildDrillRequest(fabric: Fabric, inventorySource: string, c: DrillChoices): DrillRequest {
  const { site, dr } = drSite(fabric, c.site, inventorySource);
  const objectives = fabric.objectives(site);
  return {
    site: site.id,
    siteName: site.name,
    drSite: dr.id,
    target: c.target ?? 'pg-local',
    scenario: c.scenario ?? 'switchover',
    replication: c.replication ?? objectives.replication,
    probeRate: c.probeRate ?? 200,
    detectionMs: c.detectionMs ?? 1000,
    catchUpTimeoutMs: 15_000,
    warmupMs: 1_000,
    failback: c.failback !== false,
    objectives: { rtoSeconds: objectives.rtoSeconds, rpoSeconds: objectives.rpoSeconds },
  };
}

/** The pair file of a `pg` drill, checked for this drill (site, the commands its scenario needs). */
export function pairConfigFor(request: DrillRequest, file: string | undefined): PairConfig {
  if (file === undefined) {
    throw inputError(DR_MESSAGES, 'request.pairRequired');
  }
  const config = readPairFile(file);
  const problems = pairProblemsFor(config, request);
  if (problems.length > 0) throw inputError(DR_MESSAGES, problems.length === 1 ? 'pairFile.cannotRunOne' : 'pairFile.cannotRunMany', { file, n: problems.length }, { details: problems });
  return config;
}

export interface PlannedCommand {
  readonly command: string;
  readonly argv?: readonly string[];
  readonly usedBy: string;
}

/** Each operator command with the step that runs it (templates: {node} is filled in when the drill runs). */
export function commandsInPlan(config: PairConfig): PlannedCommand[] {
  return (Object.keys(COMMANDS) as (keyof typeof COMMANDS)[]).map((name) => ({
    command: name,
    ...(config.commands[name] ? { argv: config.commands[name]!.argv } : {}),
    usedBy: COMMANDS[name].usedBy,
  }));
}

export interface DrillPlan {
  readonly request: DrillRequest;
  readonly steps: readonly { name: string; description: string; rollback?: string }[];
  /** With target pg: the pair file the drill would use. */
  readonly config?: PairConfig;
}

/** The steps of a drill, touching nothing. */
export function planDrill(request: DrillRequest, pairFile: string | undefined): DrillPlan {
  const config = request.target === 'pg' ? pairConfigFor(request, pairFile) : undefined;
  const steps = drillSteps(request).map((s) => ({ name: s.name, description: s.description, ...(s.rollbackDescription ? { rollback: s.rollbackDescription } : {}) }));
  return { request, steps, ...(config ? { config } : {}) };
}
