import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Fabric } from '../fabric/index.js';
import { loadFabric } from '../fabric/index.js';
import { resolveLang, type Lang } from '../lib/i18n/index.js';
import { resolveStateDir, StateStore } from '../lib/state.js';

export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
}

export interface GlobalOptions {
  readonly inventory?: string;
  readonly state?: string;
  readonly lang?: string;
  readonly debug?: boolean;
}

/** What every command gets: output streams, the inventory and the state store, opened on first use. */
export class Context {
  readonly io: Io;
  readonly global: GlobalOptions;
  /** The language of human-readable output (`--lang`, else the locale); machine-readable output ignores it. */
  readonly lang: Lang;
  private cachedFabric?: Fabric;
  private cachedStore?: StateStore;
  private readonly cleanups: (() => void | Promise<void>)[] = [];

  constructor(io: Io, global: GlobalOptions) {
    this.io = io;
    this.global = global;
    this.lang = resolveLang(global.lang, io.env);
  }

  /** The validated inventory (built-in unless --inventory); an invalid one throws before any work starts. */
  fabric(): Fabric {
    this.cachedFabric ??= loadFabric(this.global.inventory);
    return this.cachedFabric;
  }

  get inventorySource(): string {
    return this.global.inventory ?? 'built-in national inventory';
  }

  get stateDir(): string {
    return resolveStateDir(this.global.state, this.io.env);
  }

  /** Whether a state store exists, without creating one (read commands on a fresh machine). */
  hasStore(): boolean {
    return this.cachedStore !== undefined || existsSync(join(this.stateDir, 'jinbao.db'));
  }

  store(): StateStore {
    this.cachedStore ??= StateStore.open(this.stateDir);
    return this.cachedStore;
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  err(text: string): void {
    this.io.stderr.write(text);
  }

  /** Register work to run when the command ends (closing servers, stores). */
  onClose(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    for (const fn of this.cleanups.reverse()) await fn();
    this.cachedStore?.close();
  }
}
