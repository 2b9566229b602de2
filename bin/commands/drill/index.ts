import type { Command } from 'commander';
import { REPLICATION_MODES, SCENARIOS, TARGETS } from '../../../dr-runbooks/index.js';
import type { Runner } from '../../runner.js';
import { abort, list, report, verify } from './history.js';
import { labDown, labStatus, labUp } from './lab.js';
import { pairStatus } from './pair.js';
import { plan } from './plan.js';
import type { RequestOptions } from './request.js';
import { runDrill, type RunOptions } from './run.js';

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

