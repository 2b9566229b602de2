import type { Command } from 'commander';
import { readExporterPairs } from '../../dr-runbooks/operations/index.js';
import { parseInteger, TCP_PORT } from '../../lib/options.js';
import { startExporter } from '../../monitoring/index.js';
import { exporterRegistry } from '../../orchestration/index.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  program
    .command('exporter')
    .description('serve Prometheus metrics (inventory, KPIs and every feature\'s state) at /metrics')
    .requiredOption('--port <port>', 'TCP port (0 picks a free one)')
    .option('--host <host>', 'address to bind; keep it on loopback unless a firewall protects it', '127.0.0.1')
    .option('--dr-pair <file>', 'a DR pair file (repeatable): its standby\'s streaming and replay lag are sampled at each scrape; running embedded labs are sampled too', collect, [] as string[])
    .addHelpText(
      'after',
      '\nExamples:\n  $ jinbao exporter --port 9464\n  $ curl -s 127.0.0.1:9464/metrics | grep jinbao_kpi\n  $ jinbao exporter --port 9464 --dr-pair pairs/440000.yaml --dr-pair pairs/110000.yaml',
    )
    .action(run<{ port: string; host: string; drPair: string[] }>(exporter));
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function exporter(ctx: Context, opts: { port: string; host: string; drPair: string[] }): Promise<void> {
  const port = parseInteger('--port', opts.port, TCP_PORT);
  ctx.fabric(); // refuse to serve an invalid inventory
  const pairs = readExporterPairs(opts.drPair);
  const registry = exporterRegistry(ctx, pairs);
  const server = await startExporter(registry, { port, host: opts.host });
  ctx.err(`${ctx.t('exporter.serving', { url: server.url })}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
}
