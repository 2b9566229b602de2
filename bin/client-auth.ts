import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { InputError } from '../lib/errors.js';
import { translator, type Lang } from '../lib/i18n/index.js';
import { COMMAND_MESSAGES, type Io } from './context.js';
import { makeDirs } from '../lib/dirs.js';

/**
 * Client mode's second factor: the operator's password (JINBAO_OPERATOR_PASSWORD, or asked for
 * without echo on a terminal) or a session from `jinbao login`, kept in a file only its owner reads
 * (mode 0600) under the user's config folder, one per service and identity bundle, or at
 * JINBAO_SESSION_FILE. The service binds the session to the certificate; the file alone opens
 * nothing.
 */

/** What the service answers (its JSON body). */
export interface ServiceAnswer {
  readonly status: number;
  readonly body: { code?: number; stdout?: string; stderr?: string; error?: string; reason?: string; session?: StoredSession; operator?: { id: string; role: string; scope: string | null } };
}

export type Post = (path: string, body: unknown, headers: Record<string, string>) => Promise<ServiceAnswer>;

interface StoredSession {
  readonly token: string;
  readonly expiresAt: string;
  readonly idleTimeoutSeconds: number;
}

/** Refusals after which the stored session is useless: the file goes. */
const DEAD_SESSION = new Set(['auth.sessionExpired', 'auth.sessionEnded', 'auth.unknownSession', 'auth.locked', 'auth.nowLocked', 'auth.noOpenSession']);

/** Ask on the terminal without echo; undefined when there is no terminal to ask on. */
export async function askHidden(io: Io, question: string): Promise<string | undefined> {
  const stdin = process.stdin;
  if (!stdin.isTTY || !io.stderr.isTTY) return undefined;
  io.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      const chars = [...chunk];
      for (const [i, ch] of chars.entries()) {
        if (ch === '\r' || ch === '\n') {
          finish();
          // what was typed ahead answers the next question
          const rest = chars.slice(i + 1).join('');
          if (rest) stdin.unshift(rest, 'utf8');
          return void resolve(value);
        }
        if (ch === '\u0003' || ch === '\u0004') return void (finish(), reject(new InputError('cancelled: nothing was sent')));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The identity bundle's password: JINBAO_IDENTITY_PASSPHRASE, else asked on the terminal. */
export async function identityPassphrase(io: Io, lang: Lang): Promise<string | undefined> {
  return io.env.JINBAO_IDENTITY_PASSPHRASE || (await askHidden(io, translator(lang, COMMAND_MESSAGES)('client.askIdentity')));
}

/** Where the session for this service and identity is kept. */
export function sessionFile(env: NodeJS.ProcessEnv, server: URL, pfx: Buffer): string {
  if (env.JINBAO_SESSION_FILE) return env.JINBAO_SESSION_FILE;
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  const key = createHash('sha256').update(`${server.origin}\n`).update(createHash('sha256').update(pfx).digest()).digest('hex').slice(0, 24);
  return join(config, 'jinbao', 'sessions', `${key}.json`);
}

function readSession(file: string): StoredSession | undefined {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as StoredSession;
    return typeof s.token === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

const passwordHeader = (password: string) => ({ 'x-jinbao-operator-password': Buffer.from(password, 'utf8').toString('base64') });

/**
 * The headers that carry the second factor of a command: the password when JINBAO_OPERATOR_PASSWORD
 * is set, else the stored session, else the password asked on the terminal; none without either
 * (the service then says how to log in).
 */
export async function secondFactor(io: Io, lang: Lang, file: string): Promise<Record<string, string>> {
  if (io.env.JINBAO_OPERATOR_PASSWORD) return passwordHeader(io.env.JINBAO_OPERATOR_PASSWORD);
  const session = readSession(file);
  if (session) return { authorization: `Bearer ${session.token}` };
  const asked = await askHidden(io, translator(lang, COMMAND_MESSAGES)('client.askPassword'));
  return asked ? passwordHeader(asked) : {};
}

/** After a refusal: a session the service no longer accepts is removed. */
export function forgetDeadSession(file: string, answer: ServiceAnswer): void {
  if (answer.body.reason && DEAD_SESSION.has(answer.body.reason)) rmSync(file, { force: true });
}

/** The command word of a client command line (`login`, `logout`, `pki`…), after global options. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--lang') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** `jinbao login` and `jinbao logout` in client mode; exit code. */
export async function sessionCommand(word: 'login' | 'logout', io: Io, lang: Lang, post: Post, file: string): Promise<number> {
  const msg = translator(lang, COMMAND_MESSAGES);
  if (word === 'login') {
    const password = io.env.JINBAO_OPERATOR_PASSWORD || (await askHidden(io, msg('client.askPassword')));
    if (!password) throw new InputError(translator('en', COMMAND_MESSAGES)('client.noPassword'), { localized: { catalogue: COMMAND_MESSAGES, key: 'client.noPassword' } });
    const answer = await post('/admin/login', {}, passwordHeader(password));
    if (answer.status !== 200 || !answer.body.session) return refused(io, answer);
    makeDirs(dirname(file), 0o700);
    writeFileSync(file, `${JSON.stringify(answer.body.session)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    const o = answer.body.operator!;
    const idle = answer.body.session.idleTimeoutSeconds;
    io.stdout.write(`${msg('client.loggedIn', { id: o.id, role: `${o.role}${o.scope ? `@${o.scope}` : ''}`, idle: idle % 60 === 0 ? `${idle / 60} min` : `${idle} s`, expires: answer.body.session.expiresAt, file })}\n`);
    return 0;
  }
  const session = readSession(file);
  if (!session) throw new InputError(translator('en', COMMAND_MESSAGES)('client.noSession', { file }), { localized: { catalogue: COMMAND_MESSAGES, key: 'client.noSession', params: { file } } });
  const answer = await post('/admin/logout', {}, { authorization: `Bearer ${session.token}` });
  rmSync(file, { force: true });
  if (answer.status !== 200) return refused(io, answer);
  io.stdout.write(`${msg('client.loggedOut', { id: answer.body.operator?.id ?? '?' })}\n`);
  return 0;
}

function refused(io: Io, answer: ServiceAnswer): number {
  io.stderr.write(`jinbao: ${answer.body.error ?? `the service answered ${answer.status}`}\n`);
  return answer.body.code ?? 2;
}

/**
 * `--out FILE` of `audit export` names a file on the operator's machine: taken off the command line
 * sent to the service, and what the service prints is written there.
 */
export function localOut(argv: readonly string[]): { argv: string[]; out?: string } {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-')) i += argv[i] === '--lang' ? 2 : 1;
  if (!(argv[i] === 'audit' && argv[i + 1] === 'export')) return { argv: [...argv] };
  const rest: string[] = [];
  let out: string | undefined;
  for (i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') out = argv[++i];
    else if (argv[i]!.startsWith('--out=')) out = argv[i]!.slice('--out='.length);
    else rest.push(argv[i]!);
  }
  return out === undefined ? { argv: rest } : { argv: rest, out };
}
