import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import forge from 'node-forge';
import { ExitCode } from '../lib/errors.js';
import { inputError, type Lang } from '../lib/i18n/index.js';
import { commandWord, forgetDeadSession, identityPassphrase, localOut, secondFactor, sessionCommand, sessionFile, type Post, type ServiceAnswer } from './client-auth.js';
import type { Io } from './context.js';
import { CLI } from './help.js';
import { callJson, serverUrl } from './https.js';

/**
 * Client mode: `jinbao --server URL --identity FILE.p12 <command ...>` sends the command line to the
 * service, which authenticates the operator by the certificate (mutual TLS), checks the role and
 * scope, runs it on its state with the keys only it holds, and sends back what the command printed
 * and its exit code. Nothing runs locally.
 */

const CLIENT_OPTIONS = ['--server', '--identity', '--server-ca'] as const;

function take(argv: readonly string[]): { rest: string[]; values: Partial<Record<(typeof CLIENT_OPTIONS)[number], string>> } {
  const rest: string[] = [];
  const values: Partial<Record<(typeof CLIENT_OPTIONS)[number], string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const name = CLIENT_OPTIONS.find((o) => a === o || a.startsWith(`${o}=`));
    if (!name) {
      rest.push(a);
      continue;
    }
    values[name] = a === name ? argv[++i] : a.slice(name.length + 1);
  }
  return { rest, values };
}

function readFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw inputError(CLI, 'client.err.read', { flag, file, why: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
  }
}

/** The self-signed certificate in the bundle (the jinbao root), as PEM; undefined when the bundle has none. */
function rootOf(p12: Buffer, password: string): string | undefined {
  let parsed: forge.pkcs12.Pkcs12Pfx;
  try {
    parsed = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(p12.toString('binary')), password);
  } catch (err) {
    throw inputError(CLI, 'client.err.bundle', { why: (err as Error).message });
  }
  const bagType = forge.pki.oids.certBag!;
  const bags: forge.pkcs12.Bag[] = parsed.getBags({ bagType })[bagType] ?? [];
  // forge reads RSA certificates only; the DER of the others is in the bag's asn1 (EC, SM2)
  const certs = bags.flatMap((b) => {
    const der = b.cert ? forge.asn1.toDer(forge.pki.certificateToAsn1(b.cert)) : b.asn1 ? forge.asn1.toDer(b.asn1) : undefined;
    return der ? [new X509Certificate(Buffer.from(der.getBytes(), 'binary'))] : [];
  });
  return certs.find((c) => c.issuer === c.subject && c.ca)?.toString();
}

export async function runRemote(argv: readonly string[], io: Io, lang: Lang): Promise<number> {
  const { rest, values } = take(argv);
  if (!values['--server']) throw inputError(CLI, 'client.err.noServer');
  if (!values['--identity']) throw inputError(CLI, 'client.err.noIdentity');
  const base = serverUrl(values['--server'], 'https://pki.jinbao.internal:8443');
  const pfx = readFile('--identity', values['--identity']);
  const passphrase = await identityPassphrase(io, lang);
  if (!passphrase) throw inputError(CLI, 'client.err.noPassphrase');
  const ca = values['--server-ca'] !== undefined ? readFile('--server-ca', values['--server-ca']).toString('utf8') : rootOf(pfx, passphrase);
  const post: Post = (path, body, headers) =>
    callJson<ServiceAnswer['body']>(new URL(path, base), { body, pfx, passphrase, ...(ca ? { ca } : {}), headers: { 'accept-language': lang, ...headers }, timeoutMs: 600_000, what: 'a command result' });
  const session = sessionFile(io.env, base, pfx);
  const word = commandWord(rest);
  if (word === 'login' || word === 'logout') return sessionCommand(word, io, lang, post, session);
  const { argv: sent, out } = localOut(rest);
  const remoteArgv = lang === 'zh-CN' && !sent.some((a) => a === '--lang' || a.startsWith('--lang=')) ? ['--lang', 'zh-CN', ...sent] : sent;
  const answer = await post('/admin/run', { argv: remoteArgv }, await secondFactor(io, lang, session));
  if (answer.status !== 200) {
    forgetDeadSession(session, answer);
    io.stderr.write(`jinbao: ${answer.body.error ?? `the service answered ${answer.status}`}\n`);
    return answer.body.code ?? ExitCode.invalidInput;
  }
  if (out !== undefined && answer.body.code === ExitCode.ok) writeFileSync(out, answer.body.stdout ?? '');
  else if (answer.body.stdout) io.stdout.write(answer.body.stdout);
  if (answer.body.stderr) io.stderr.write(answer.body.stderr);
  return answer.body.code ?? ExitCode.internal;
}
