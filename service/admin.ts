import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { asActor } from '../lib/audit.js';
import { say } from '../lib/i18n/index.js';
import { ADMINISTRATOR_ROLES, asOperator, authenticate, authorize, commandOf, dualControlOf, login, logout, OPERATORS_MESSAGES, operatorByCertificate, proposeRequest, roleOf, type Acting, type AuthPolicy, type Conflict, type Operator, type Presented } from '../operators/index.js';
import type { OpsContext } from '../orchestration/index.js';
import { existingPki } from '../pki/operations.js';
import { appendAuditEntry } from './pki-port.js';

/**
 * Client mode's door: `POST /admin/run` with `{"argv": [...]}` runs one jinbao command line in the
 * service, as the operator whose client certificate (mutual TLS, chained to the jinbao root)
 * opened the connection — the same commands as the local CLI, on the service's state and with the
 * keys only the service holds. Before it runs: the certificate must belong to an active operator
 * and not be revoked, the request must carry the operator's second factor (password or session
 * from /admin/login), and the command must be among the operator's role's and inside its scope
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
  /** Failed-login limit and session timeouts (serve --max-failed-logins, --session-timeout, --session-lifetime). */
  readonly auth: AuthPolicy;
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

/** The second factor a request carries: `authorization: Bearer <session>` or the password (base64 of its UTF-8). */
function presentedBy(req: IncomingMessage): Presented {
  const auth = String(req.headers.authorization ?? '');
  if (/^Bearer [A-Za-z0-9_-]{16,200}$/.test(auth)) return { session: auth.slice('Bearer '.length) };
  const pw = req.headers['x-jinbao-operator-password'];
  if (typeof pw === 'string' && pw.length > 0 && pw.length < 4096) return { password: Buffer.from(pw, 'base64').toString('utf8') };
  return {};
}

const english = (reason: Conflict): string => say({ catalogue: OPERATORS_MESSAGES, key: reason.key, params: reason.params }, 'en');

/**
 * `POST /admin/run` (a command line), `/admin/login` (a session for the password) and
 * `/admin/logout`. Each first identifies the operator by the client certificate, then checks the
 * second factor (operators/authentication.ts), then — for a command — the role and scope.
 */
/** The parts of an `actorOf` text; undefined for other actors (a local user, the service itself). */
export function parseOperatorActor(actor: string): { id: string; role: string; scope: string | null; subject: string; certificateSerial: string } | undefined {
  const m = /^operator:(\S+) ([a-z-]+)(?:@(\S+))? \((.*), certificate ([0-9a-f]+)\)$/.exec(actor);
  return m ? { id: m[1]!, role: m[2]!, scope: m[3] ?? null, subject: m[4]!, certificateSerial: m[5]! } : undefined;
}

export async function handleAdmin(req: IncomingMessage, res: ServerResponse, o: AdminOptions, path = '/admin/run'): Promise<string | undefined> {
  const socket = req.socket as TLSSocket;
  const remote = socket.remoteAddress ?? '';
  const peer = socket.getPeerCertificate?.();
  const serial = peer && 'serialNumber' in peer && peer.serialNumber ? peer.serialNumber.toLowerCase().replace(/^0+(?=.)/, '') : undefined;
  const lang = String(req.headers['accept-language'] ?? '').startsWith('zh') ? 'zh-CN' : 'en';
  const answer = (status: number, reason: Conflict) => {
    reply(res, status, { error: lang === 'en' ? english(reason) : say({ catalogue: OPERATORS_MESSAGES, key: reason.key, params: reason.params }, lang), reason: reason.key, code: 2 });
    return reason.key;
  };
  const refuse = async (status: number, reason: Conflict, actor: string, argv?: readonly string[]) => {
    await appendAuditEntry(o.ctx, { action: 'serve.admin', outcome: 'refused', subject: argv ? commandOf(argv).command || '(none)' : '(none)', actor, details: { reason: english(reason), remote } });
    return answer(status, reason);
  };
  if (!['/admin/run', '/admin/login', '/admin/logout'].includes(path)) return void reply(res, 404, { error: `no ${path.slice(0, 100)}: want /admin/run, /admin/login or /admin/logout`, code: 2 });
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
  const caller = { operator, certificateSerial: serial, actor, remote };
  const presented = presentedBy(req);
  if (path === '/admin/login') {
    if (operator.status !== 'active') return refuse(403, { key: 'permission.inactive', params: { id: operator.id, role: operator.role, status: operator.status } }, actor, ['login']);
    const r = await login(o.ctx, { ...caller, command: 'login' }, 'password' in presented ? presented.password : undefined, o.auth, english);
    if (!r.ok) return answer(r.status, r.reason);
    return void reply(res, 200, { session: r.session, operator: { id: operator.id, role: operator.role, scope: operator.scope } });
  }
  if (path === '/admin/logout') {
    const r = await logout(o.ctx, { ...caller, command: 'logout' }, 'session' in presented ? presented.session : undefined, english);
    if (!r.ok) return answer(r.status, r.reason);
    return void reply(res, 200, { loggedOut: true, operator: { id: operator.id, role: operator.role, scope: operator.scope } });
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
  const auth = await authenticate(o.ctx, { ...caller, command: commandOf(argv).command || '(none)' }, presented, o.auth, english);
  if (!auth.ok) return answer(auth.status, auth.reason);
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
  const code = await asOperator(acting, () => asActor(actor, () => o.run([...o.globalArgs, ...argv], { stdout, stderr, env: { ...o.env } }), { remote }));
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
