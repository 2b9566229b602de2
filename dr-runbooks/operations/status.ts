import { readFileSync } from 'node:fs';
import { inputError } from '../../lib/i18n/index.js';
import { DR_MESSAGES } from '../messages.js';
import type { StateAccess } from '../../lib/context.js';
import type { EvidenceVerifier } from '../evidence.js';
import { DrillHistory } from '../history.js';
import { LabPair } from '../pg/lab-pair.js';
import { NODES, PgLab, labDir } from '../pg/lab.js';
import { readPairFile } from '../pg/pair-config.js';
import { RemotePair } from '../pg/remote-pair.js';
import { verifyReport, type DrillReport } from '../report.js';

/** An existing pair's roles, replication, lag, where its endpoint sends traffic and its certificates; changes nothing. */
export async function pairStatus(site: string, pairFile: string) {
  const config = readPairFile(pairFile);
  if (config.site !== undefined && config.site !== site) throw inputError(DR_MESSAGES, 'pairFile.otherSite', { source: config.source, fileSite: config.site, site });
  const pair = await RemotePair.open(config, { site });
  try {
    const replication = await pair.replication();
    const mode = await pair.replicationMode().catch(() => undefined);
    const routed = await pair.traffic.current();
    const certificates = await pair.certificates(Date.now());
    const healthy = replication.streaming && routed === pair.primary;
    const node = (n: typeof pair.primary) => ({ host: pair.node(n).host, port: pair.node(n).port });
    return {
      status: { file: config.source, site, primary: pair.primary, standby: pair.standby, replicationMode: mode ?? null, replication, endpoint: { routesTo: routed ?? null }, connections: pair.connectionSecurity, certificates, healthy },
      nodes: { primary: node(pair.primary), standby: node(pair.standby) },
    };
  } finally {
    await pair.close();
  }
}

/** The embedded lab's processes, roles and replication. */
export async function labStatus(stateDir: string, site: string) {
  const lab = PgLab.open(labDir(stateDir, site));
  const nodes = NODES.map((n) => ({ node: n, role: n === lab.primary ? 'primary' : 'standby', port: lab.state.ports[n], pid: lab.pid(n) ?? null, fenced: lab.hasStandbySignal(n) && n === lab.primary }));
  const replication = lab.pid(lab.primary) !== undefined ? await new LabPair(lab).replication().catch((e: Error) => ({ streaming: false, detail: e.message })) : { streaming: false, detail: 'primary not running' };
  return { dir: lab.dir, site: lab.state.site, replicationMode: lab.state.replication, endpoint: { port: lab.state.proxyPort, pid: lab.proxy.pid() ?? null }, nodes, replication, tls: lab.state.tlsSource };
}

/** Stop the embedded lab (each process by its pid) and, with `destroy`, delete its folder. */
export async function stopLab(stateDir: string, site: string, destroy: boolean): Promise<{ dir: string; stopped: readonly string[] }> {
  const dir = labDir(stateDir, site);
  const lab = PgLab.open(dir);
  const { stopped } = await lab.stop();
  if (destroy) await lab.destroy();
  return { dir, stopped };
}

/** The state's drill history (its tables created on first use). */
export async function drillHistory(state: StateAccess): Promise<DrillHistory> {
  return DrillHistory.open(await state.database());
}

/** Ask a running drill to stop (it runs its rollbacks); a drill with no live process is marked aborted. */
export async function abortDrill(state: StateAccess, runId: string) {
  return (await drillHistory(state)).requestAbort(runId);
}

export async function listDrills(state: StateAccess, site?: string) {
  return (await drillHistory(state)).list(site === undefined ? {} : { site });
}

export async function drillReport(state: StateAccess, runId: string): Promise<DrillReport> {
  return (await (await drillHistory(state)).report(runId)) as DrillReport;
}

/** Check a report file's digest and, with a verifier (asked for once the file is read), its signature. */
export async function verifyReportFile(file: string, verifier: () => EvidenceVerifier | undefined | Promise<EvidenceVerifier | undefined>) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? inputError(DR_MESSAGES, 'report.noSuchFile', { file }, { cause: err }) : inputError(DR_MESSAGES, 'report.cannotRead', { file, reason: (err as Error).message }, { cause: err });
  }
  return verifyReport(text, await verifier());
}
