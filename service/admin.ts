import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { asActor } from '../lib/audit.js';
import { say } from '../lib/i18n/index.js';
import { authorize, commandOf, OPERATORS_MESSAGES, operatorByCertificate, type Conflict, type Operator } from '../operators/index.js';
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
}

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
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (b: Buffer) => out.push(b));
  stderr.on('data', (b: Buffer) => err.push(b));
  const code = await asActor(actor, () => o.run([...o.globalArgs, ...argv], { stdout, stderr, env: { ...o.env } }));
  reply(res, 200, { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), operator: { id: operator.id, role: operator.role, scope: operator.scope } });
  return undefined;
}
