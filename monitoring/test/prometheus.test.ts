import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, waitUntil } from '../../testkit/index.js';
import { renderMonitoring } from '../index.js';

const hasPrometheus = spawnSync('sh', ['-c', 'command -v prometheus'], { stdio: 'ignore' }).status === 0;
const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'jinbao-prom-'));
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const child of children) await stop(child);
  rmSync(dir, { recursive: true, force: true });
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Start `jinbao exporter --port 0` and read the URL it announces. */
async function startExporter(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bin', 'jinbao.ts'), '--state', join(dir, 'state'), 'exporter', '--port', '0'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exporter did not start in 30 s: ${err}`)), 30_000);
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /serving metrics at (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`exporter exited with ${code}: ${err}`)));
  });
}

async function query(promUrl: string, expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  if (!res.ok) return [];
  const body = (await res.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return body.data.result;
}

/**
 * Poll until the query answers (the first scrape is queryable only seconds after start); `ready`
 * waits past answers computed before the first scrape (a recording rule evaluated on no data).
 */
function poll(promUrl: string, expr: string, ready: (value: string) => boolean = () => true, deadlineMs = 45_000) {
  return waitUntil(
    async () => {
      const r = await query(promUrl, expr).catch(() => []);
      return r.length > 0 && ready(r[0]!.value[1]) ? r : undefined;
    },
    `a result for ${expr}`,
    { timeoutMs: deadlineMs, intervalMs: 500 },
  );
}

describe.skipIf(!hasPrometheus)('a real Prometheus scraping jinbao exporter (Debian package prometheus)', () => {
  it('GIVEN Prometheus with the rendered rules scraping the exporter WHEN it has scraped THEN the KPI, compliance metrics and recorded series come back', async () => {
    const exporter = await startExporter();
    const target = exporter.replace('http://', '');
    for (const [rel, text] of Object.entries(renderMonitoring())) if (rel.startsWith('rules/')) writeFileSync(join(dir, rel.slice(6)), text);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [jinbao-recording.rules.yml, jinbao-alerting.rules.yml]',
        `scrape_configs: [{ job_name: jinbao, static_configs: [{ targets: ["${target}"] }] }]`,
      ].join('\n') + '\n',
    );
    const port = await freePort();
    const prom = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], { cwd: dir, stdio: 'ignore' });
    children.push(prom);
    const promUrl = `http://127.0.0.1:${port}`;

    const kpi = await poll(promUrl, 'jinbao_kpi_met{indicator="dc-standard-prefecture"}');
    expect(kpi[0]!.value[1]).toBe('0');
    const compliant = await poll(promUrl, 'jinbao_compliance_compliant');
    expect(compliant[0]!.value[1]).toBe('0');
    const failing = await poll(promUrl, 'jinbao_compliance_control{control="PLAN-dc-standard-prefecture", status="fail"}');
    expect(failing[0]!.value[1]).toBe('1');
    const recorded = await poll(promUrl, 'jinbao:compliance_binding_failing:count', (v) => v !== '0');
    expect(Number(recorded[0]!.value[1])).toBeGreaterThan(0);
    const rpo = await poll(promUrl, 'jinbao_dr_rpo_objective_seconds{site="000000"}');
    expect(rpo[0]!.value[1]).toBe('0');
  }, 90_000);
});
