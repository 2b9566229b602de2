import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { inputError } from '../lib/i18n/index.js';
import { PKI_MESSAGES } from './messages.js';
import { DEMO_PASSPHRASE_SETTING, type PkiStore } from './store.js';

/**
 * Where the passphrase protecting CA keys comes from, in order: the environment variable named by
 * `--passphrase-env` (default JINBAO_PKI_PASSPHRASE); the demo passphrase that `jinbao up` stores
 * in the state store beside the keys; a prompt when stdin is a terminal.
 */

export const DEFAULT_PASSPHRASE_ENV = 'JINBAO_PKI_PASSPHRASE';
export const MIN_PASSPHRASE_LENGTH = 12;

export const DEMO_PASSPHRASE_WARNING =
  'WARNING: DEMO KEY STORE. The CA keys in this state store are protected by a generated passphrase stored next to them ' +
  '(pki_settings "demo-passphrase"). Anyone who can read the store can sign certificates. Never use it for real staff or servers: ' +
  'create a production hierarchy with "jinbao pki init" and a passphrase from --passphrase-env in another state directory.';

/** The demo passphrase of the store, if `jinbao up` made a demo hierarchy in it. */
export function demoPassphrase(pki: PkiStore): Promise<string | undefined> {
  return pki.setting(DEMO_PASSPHRASE_SETTING);
}

/** Create (or read) the demo passphrase of a state store; the first process to store one wins. */
export async function ensureDemoPassphrase(pki: PkiStore): Promise<string> {
  return (await demoPassphrase(pki)) ?? pki.initSetting(DEMO_PASSPHRASE_SETTING, randomBytes(24).toString('base64url'));
}

export type PassphraseSource = 'env' | 'demo' | 'prompt';

export interface PassphraseRequest {
  readonly env: NodeJS.ProcessEnv;
  /** @default JINBAO_PKI_PASSPHRASE */
  readonly envName?: string;
  /** Where the keys are, for the prompt. */
  readonly stateDir: string;
  /** The store's demo passphrase, if it has one (`demoPassphrase(pki)`); not consulted when creating keys. */
  readonly demo?: () => Promise<string | undefined>;
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
  const demo = fromEnv === undefined || fromEnv === '' ? (!req.creating ? await req.demo?.() : undefined) : undefined;
  if (fromEnv !== undefined && fromEnv !== '') found = { passphrase: fromEnv, source: 'env' };
  else if (demo !== undefined) found = { passphrase: demo, source: 'demo' };
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
