import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { asActor } from '../lib/audit.js';
import { say } from '../lib/i18n/index.js';
import { ADMINISTRATOR_ROLES, asOperator, authorize, commandOf, dualControlOf, OPERATORS_MESSAGES, operatorByCertificate, proposeRequest, roleOf, type Acting, type Conflict, type Operator } from '../operators/index.js';
import type { OpsContext } from '../orchestration/index.js';
import { existingPki } from '../pki/operations.js';
import { appendAuditEntry } from './pki-port.js';

/**
 * Client mode's door: `POST /admin/run` with `{"argv": [...]}` runs one jinbao command line in the
 * service, as the operator whose client certificate (mutual TLS, chained to the jinbao root)
 * opened the connection — the same commands as the local CLI, on the service's state and with the
 * keys only the service holds. Before it runs: the certificate must belong to an active operator
 * and not be revoked, and the command must be among the operator's role's and inside its scope
 * (operators/permissions.ts). Every refusal is audited with who asked; what runs is audited by the
 * command itself, with the operator as its actor.
 */

/** How the service runs a command line (the CLI's own entry, injected: service/ does not import bin/). */
export type CommandLineRunner = (argv: readonly string[], io: { stdout: PassThrough; stderr: PassThrough; env: NodeJS.ProcessEnv }) => Promise<number>;

export interface AdminOptions {
  readonly ctx: OpsContext;
  readonly run: CommandLineRunner;
  /** What the commands run with: the service's state, inventory and passphrase variable. */
  readonly globalArgs: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** `jinbao seal`: lock the service again (drop the CA keys, wait for shares); absent when it did not start sealed. */
  readonly seal?: (actor: string) => Promise<void>;
}

/** The exit code of a command that became a request for approval (dual control): documented in docs/operators.md. */
export const PENDING_APPROVAL_EXIT = 5;

const MAX_BODY = 64 * 1024;

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The operator's identity as the audit log records it: who, which role and scope, which certificate. */
export function actorOf(o: Operator, subject: string): string {
  return `operator:${o.id} ${o.role}${o.scope ? `@${o.scope}` : ''} (${subject}, certificate ${o.certificateSerial})`;
}

export async function handleAdmin(req: IncomingMessage, res: ServerResponse, o: AdminOptions): Promise<string | undefined> {
  const socket = req.socket as TLSSocket;
  const remote = socket.remoteAddress ?? '';
  const peer = socket.getPeerCertificate?.();
  const serial = peer && 'serialNumber' in peer && peer.serialNumber ? peer.serialNumber.toLowerCase().replace(/^0+(?=.)/, '') : undefined;
  const lang = String(req.headers['accept-language'] ?? '').startsWith('zh') ? 'zh-CN' : 'en';
  const refuse = async (status: number, reason: Conflict, actor: string, argv?: readonly string[]) => {
    const en = say({ catalogue: OPERATORS_MESSAGES, key: reason.key, params: reason.params }, 'en');
    await appendAuditEntry(o.ctx, { action: 'serve.admin', outcome: 'refused', subject: argv ? commandOf(argv).command || '(none)' : '(none)', actor, details: { reason: en, remote } });
    reply(res, status, { error: lang === 'en' ? en : say({ catalogue: OPERATORS_MESSAGES, key: reason.key, params: reason.params }, lang), code: 2 });
    return reason.key;
  };
  if (!socket.authorized || !serial) return refuse(401, { key: 'permission.unauthenticated', params: { reason: String(socket.authorizationError ?? 'no client certificate') } }, `unauthenticated ${remote}`);
  const subject = peer.subject ? Object.entries(peer.subject).map(([k, v]) => `${k}=${String(v)}`).join(', ') : '';
  const operator = await operatorByCertificate(o.ctx, serial);
  if (!operator) return refuse(403, { key: 'permission.noCertificate', params: { serial } }, `certificate ${serial} (${subject})`);
  const actor = actorOf(operator, subject);
  const pki = await existingPki(o.ctx);
  const cert = await pki?.findCertificate(operator.certificateSerial);
  if (!cert || cert.status === 'revoked') return refuse(403, { key: 'permission.revoked', params: { serial } }, actor);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return void reply(res, 413, { error: `body too large: want at most ${MAX_BODY} bytes`, code: 2 });
    chunks.push(chunk);
  }
  let argv: unknown;
  try {
    argv = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { argv?: unknown }).argv;
  } catch {
    argv = undefined;
  }
  if (!Array.isArray(argv) || argv.length > 200 || !argv.every((a): a is string => typeof a === 'string' && a.length < 4096)) {
    return void reply(res, 400, { error: 'want a JSON body {"argv": ["pki", "list", ...]}', code: 2 });
  }
  const decision = authorize(o.ctx.fabric(), operator, argv);
  if ('refused' in decision) return refuse(403, decision.refused, actor, argv);
  const acting: Acting = { operator, actor };
  const say_ = (key: string, params: Record<string, string>) => say({ catalogue: OPERATORS_MESSAGES, key, params }, lang);
  const { rest } = commandOf(argv);

  if (decision.ok.command === 'seal') {
    if (!o.seal) return refuse(409, { key: 'seal.notSealable', params: {} }, actor, argv);
    await appendAuditEntry(o.ctx, { action: 'serve.seal', outcome: 'ok', subject: 'service', actor, details: { remote } });
    reply(res, 200, { code: 0, stdout: `${say_('seal.sealed', {})}\n`, stderr: '', operator: { id: operator.id, role: operator.role, scope: operator.scope } });
    // after the answer has left: the listener closes, the keys go, the sealed listener takes the port
    res.on('finish', () => void o.seal!(actor));
    return undefined;
  }

  // Dual control: a CA-level or policy-level command becomes a request (or is proposed explicitly).
  const explicit = decision.ok.command === 'approvals request';
  let proposed = argv;
  let site = decision.ok.site;
  if (explicit) {
    const after = rest.slice(2).filter((a, i) => !(i === 0 && a === '--'));
    const wantsJson = after[0] === '--json';
    proposed = wantsJson ? [...after.slice(1), '--json'] : after;
    if (proposed.length === 0) return refuse(400, { key: 'approvals.requestEmpty', params: {} }, actor, argv);
    const inner = authorize(o.ctx.fabric(), operator, proposed);
    if ('refused' in inner) return refuse(403, inner.refused, actor, proposed);
    site = inner.ok.site;
  }
  const target = commandOf(proposed);
  let control = dualControlOf(target.command, target.rest);
  if (control?.removes !== undefined) {
    const role = await roleOf(o.ctx, control.removes);
    if (role === undefined || !ADMINISTRATOR_ROLES.includes(role)) control = undefined;
  }
  if (control || explicit) {
    const c = control ?? { command: target.command, requiredRole: operator.role };
    if (operator.role !== c.requiredRole) return refuse(403, { key: 'approvals.proposerRole', params: { id: operator.id, role: operator.role, required: c.requiredRole, command: c.command } }, actor, proposed);
    const scope = operator.scope ?? (site !== undefined ? provinceOfSite(o, site) : null);
    const request = await proposeRequest(o.ctx, { by: acting, argv: target.rest, control: c, scope });
    const params = { id: String(request.id), command: request.command, needed: String(request.approvalsNeeded), role: request.requiredRole, expiresAt: request.expiresAt };
    const json = proposed.includes('--json');
    const stdout = json ? `${JSON.stringify({ pending: request.id, command: request.command, argv: request.argv, approvalsNeeded: request.approvalsNeeded, requiredRole: request.requiredRole, expiresAt: request.expiresAt })}\n` : `${say_('approvals.pending', params)}\n`;
    reply(res, 200, { code: PENDING_APPROVAL_EXIT, stdout, stderr: '', pending: request.id, operator: { id: operator.id, role: operator.role, scope: operator.scope } });
    return undefined;
  }

  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  const code = await asOperator(acting, () => asActor(actor, () => o.run([...o.globalArgs, ...argv], { stdout, stderr, env: { ...o.env } })));
  reply(res, 200, { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), operator: { id: operator.id, role: operator.role, scope: operator.scope } });
  return undefined;
}

/** The province a site lies in (itself for a province); null for the ministry. */
function provinceOfSite(o: AdminOptions, id: string): string | null {
  const fabric = o.ctx.fabric();
  let site = fabric.findSite(id);
  while (site && site.tier !== 'province') site = site.parent ? fabric.findSite(site.parent) : undefined;
  return site?.id ?? null;
}
