import type { Command } from 'commander';
import { asActor, currentActor } from '../../lib/audit.js';
import { parseInteger } from '../../lib/options.js';
import { json, table } from '../../lib/output.js';
import { approvalChain, approvalPolicy, currentOperator, decideRequest, finishRequest, listRequests, setApprovalPolicy, showRequest, type ApprovalRequest } from '../../operators/index.js';
import { COMMAND_MESSAGES, type Context } from '../context.js';
import type { Runner } from '../runner.js';
import { inputError } from '../../lib/i18n/index.js';

export function register(program: Command, run: Runner): void {
  const ap = program
    .command('approvals')
    .description('dual control: CA-level and policy-level commands sent through the service wait for another administrator\'s approval');
  ap.command('list')
    .description('requests waiting for approval (--all: every request)')
    .option('--all', 'also approved, rejected, expired and executed requests')
    .option('--json', 'machine-readable output')
    .action(run<{ all?: boolean; json?: boolean }>(list));
  ap.command('show <id>')
    .description('one request: the command, its proposer, the decisions, the time limit')
    .option('--json', 'machine-readable output')
    .action(run<{ json?: boolean }>((ctx, o, args) => show(ctx, o, args[0]!)));
  ap.command('approve <id>')
    .description('approve a request (another operator of the required role and scope); the last approval runs the command in the service, as its proposer')
    .option('--json', 'machine-readable output')
    .action(run<{ json?: boolean }>((ctx, o, args) => decide(ctx, o, args[0]!, 'approve')));
  ap.command('reject <id>')
    .description('reject a request: it ends at once')
    .option('--reason <text>', 'why, for the audit log')
    .option('--json', 'machine-readable output')
    .action(run<{ reason?: string; json?: boolean }>((ctx, o, args) => decide(ctx, o, args[0]!, 'reject')));
  ap.command('request')
    .description('propose a command line for approval explicitly (client mode only)')
    .argument('<command...>', 'the command line to propose')
    .addHelpText('after', '\nExample:\n  $ jinbao --server https://pki.jinbao.internal:8443 --identity me.p12 approvals request -- pki replace-ca --ca province-440000-staff')
    .allowUnknownOption()
    .action(run<Record<string, never>>(requestLocally));
  ap.command('policy')
    .description('the approval policy: approvals needed besides the proposer and the time limit (changing it is itself dual-controlled)')
    .option('--approvers <m>', 'approvals needed from operators other than the proposer (1-9; 1 is dual control)')
    .option('--ttl <duration>', 'how long a request waits for its approvals: 90s, 30m, 24h, 7d')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nThrough the service, setting the policy becomes a request like any dual-controlled command.\n\nExamples:\n  $ jinbao approvals policy\n  $ jinbao --server https://pki.jinbao.internal:8443 --identity me.p12 approvals policy --approvers 2 --ttl 12h')
    .action(run<{ approvers?: string; ttl?: string; json?: boolean }>(policy));
}

function requestId(text: string): number {
  return parseInteger('request id', text, { min: 1, max: 2_147_483_647, what: 'number' });
}

function parseTtl(text: string): number {
  const m = /^([0-9]{1,6})(s|m|h|d)$/.exec(text);
  const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'] : 0;
  if (!m || seconds < 1 || seconds > 30 * 86_400) throw inputError(COMMAND_MESSAGES, 'approvals.err.ttl', { text });
  return seconds;
}

const COLUMNS = [
  { header: 'id', value: (r: ApprovalRequest) => r.id },
  { header: 'status', value: (r: ApprovalRequest) => r.status },
  { header: 'command', value: (r: ApprovalRequest) => r.command },
  { header: 'approvals', value: (r: ApprovalRequest) => `${r.decisions.filter((d) => d.decision === 'approve').length}/${r.approvalsNeeded}` },
  { header: 'proposer', value: (r: ApprovalRequest) => r.proposer.id },
  { header: 'scope', value: (r: ApprovalRequest) => r.scope ?? 'nation' },
  { header: 'expires', value: (r: ApprovalRequest) => r.expiresAt },
];

async function list(ctx: Context, o: { all?: boolean; json?: boolean }): Promise<void> {
  const requests = await listRequests(ctx, { ...(o.all ? { all: true } : {}) });
  if (o.json) return void ctx.out(json(requests));
  if (requests.length === 0) return void ctx.out(`${ctx.t('approvals.none')}\n`);
  ctx.out(table(requests, COLUMNS));
}

async function show(ctx: Context, o: { json?: boolean }, id: string): Promise<void> {
  const r = await showRequest(ctx, requestId(id));
  if (o.json) return void ctx.out(json(r));
  ctx.out(`${ctx.t('approvals.show', { id: r.id, status: r.status, command: r.argv.join(' '), proposer: r.proposer.actor, needed: r.approvalsNeeded, role: r.requiredRole, scope: r.scope ?? 'nation', expiresAt: r.expiresAt })}\n`);
  for (const d of r.decisions) ctx.out(`  ${d.at}  ${d.decision}  ${d.actor}${d.reason ? `: ${d.reason}` : ''}\n`);
}

/**
 * Approve or reject. The last approval runs the command here, in the service, as its proposer
 * with the approval chain (every audit entry it records names both); its output is this command's.
 */
async function decide(ctx: Context, o: { reason?: string; json?: boolean }, id: string, decision: 'approve' | 'reject'): Promise<number> {
  const { request, ready } = await decideRequest(ctx, { id: requestId(id), by: currentOperator(), decision, ...(o.reason !== undefined ? { reason: o.reason } : {}) });
  if (!ready) {
    if (o.json) ctx.out(json({ id: request.id, status: request.status, approvals: request.decisions.filter((d) => d.decision === 'approve').length, needed: request.approvalsNeeded }));
    else ctx.out(`${ctx.t(decision === 'reject' ? 'approvals.rejected' : 'approvals.recorded', { id: request.id, approvals: request.decisions.filter((d) => d.decision === 'approve').length, needed: request.approvalsNeeded })}\n`);
    return 0;
  }
  if (!o.json) ctx.out(`${ctx.t('approvals.running', { id: request.id, command: request.argv.join(' ') })}\n`);
  // The approver reads the command's output: in their language, whatever the proposer's was.
  const globals = ['--state', ctx.state.kind === 'postgresql' ? ctx.state.url : ctx.state.dir, ...(ctx.inventoryFile !== undefined ? ['--inventory', ctx.inventoryFile] : []), '--lang', ctx.lang];
  const code = await asActor(request.proposer.actor, () => ctx.runCommandLine([...globals, ...request.argv], ctx.io), { approvalChain: approvalChain(request) });
  await finishRequest(ctx, request, code);
  return code;
}

async function requestLocally(): Promise<void> {
  throw inputError(COMMAND_MESSAGES, 'approvals.err.needIdentity');
}

async function policy(ctx: Context, o: { approvers?: string; ttl?: string; json?: boolean }): Promise<void> {
  const change = o.approvers !== undefined || o.ttl !== undefined;
  const approvers = o.approvers !== undefined ? parseInteger('--approvers', o.approvers, { min: 1, max: 9, what: 'number' }) : undefined;
  const ttlSeconds = o.ttl !== undefined ? parseTtl(o.ttl) : undefined;
  const p = change
    ? await setApprovalPolicy(ctx, { ...(approvers !== undefined ? { approvers } : {}), ...(ttlSeconds !== undefined ? { ttlSeconds } : {}), actor: currentActor() })
    : await approvalPolicy(ctx);
  if (o.json) return void ctx.out(json(p));
  ctx.out(`${ctx.t('approvals.policy', { approvers: p.approvers, ttl: p.ttlSeconds, setBy: p.setBy ?? '-', setAt: p.setAt ?? '-' })}\n`);
}
