import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { inputError } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';

/**
 * Where the passphrase protecting CA keys comes from, in order: the environment variable named by
 * `--passphrase-env` (default JINBAO_PKI_PASSPHRASE); the demo passphrase file that `jinbao up`
 * writes into an embedded state directory; a prompt when stdin is a terminal.
 */

export const DEFAULT_PASSPHRASE_ENV = 'JINBAO_PKI_PASSPHRASE';
export const MIN_PASSPHRASE_LENGTH = 12;

export const DEMO_PASSPHRASE_WARNING =
  'WARNING: DEMO KEY STORE. The CA keys in this state directory are protected by a generated passphrase stored next to them ' +
  '(pki/DEMO-PASSPHRASE). Anyone who can read the directory can sign certificates. Never use it for real staff or servers: ' +
  'create a production hierarchy with "jinbao pki init" and a passphrase from --passphrase-env in another state directory.';

export function demoPassphraseFile(stateDir: string): string {
  return join(stateDir, 'pki', 'DEMO-PASSPHRASE');
}

/** Create (or read) the demo passphrase of an embedded state directory. */
export function ensureDemoPassphrase(stateDir: string): string {
  const file = demoPassphraseFile(stateDir);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const pass = randomBytes(24).toString('base64url');
  writeFileSync(file, `${pass}\n`, { mode: 0o600 });
  return pass;
}

export type PassphraseSource = 'env' | 'demo-file' | 'prompt';

export interface PassphraseRequest {
  readonly env: NodeJS.ProcessEnv;
  /** @default JINBAO_PKI_PASSPHRASE */
  readonly envName?: string;
  readonly stateDir: string;
  /** Prompt here when no other source has one (only when it is a terminal). */
  readonly tty?: { readonly input: NodeJS.ReadableStream & { isTTY?: boolean }; readonly output: NodeJS.WritableStream };
  /** Creating keys: enforce the minimum length. */
  readonly creating?: boolean;
}

export async function resolvePassphrase(req: PassphraseRequest): Promise<{ passphrase: string; source: PassphraseSource }> {
  const name = req.envName ?? DEFAULT_PASSPHRASE_ENV;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw inputError(PKI_MESSAGES, 'passphrase.badEnv', { name, example: DEFAULT_PASSPHRASE_ENV });
  let found: { passphrase: string; source: PassphraseSource } | undefined;
  const fromEnv = req.env[name];
  if (fromEnv !== undefined && fromEnv !== '') found = { passphrase: fromEnv, source: 'env' };
  else if (!req.creating && existsSync(demoPassphraseFile(req.stateDir))) found = { passphrase: readFileSync(demoPassphraseFile(req.stateDir), 'utf8').trim(), source: 'demo-file' };
  else if (req.tty?.input.isTTY) found = { passphrase: await prompt(req.tty.input, req.tty.output, `passphrase for the CA keys in ${req.stateDir}: `), source: 'prompt' };
  if (!found) {
    throw inputError(PKI_MESSAGES, 'passphrase.missing', { name });
  }
  if (req.creating && found.passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw inputError(PKI_MESSAGES, 'passphrase.short', { length: found.passphrase.length, min: MIN_PASSPHRASE_LENGTH });
  }
  return found;
}

/** Read one line without echoing it: readline's echo goes to a muted stream. */
async function prompt(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, question: string): Promise<string> {
  output.write(question);
  const muted = new Writable({ write: (_chunk, _enc, cb) => cb() });
  const rl = createInterface({ input, output: muted, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.once('line', (l) => resolve(l)));
  } finally {
    rl.close();
    output.write('\n');
  }
}
