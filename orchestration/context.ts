import type { Lang } from '../lib/i18n/index.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadFabric, type Fabric } from '../fabric/index.js';
import type { StateAccess } from '../lib/context.js';
import { StateStore } from '../lib/state.js';
import { SqliteDatabase, type Database } from '../lib/sql/index.js';

/**
 * What an operation spanning features needs: the state, the validated inventory and where it came
 * from, and the environment (passphrase variables). The CLI's Context implements it.
 */
export interface OpsContext extends StateAccess {
  /** The validated inventory; an invalid one throws before any work starts. */
  fabric(): Fabric;
  /** Where the inventory came from, for messages ("built-in national inventory" or the file). */
  readonly inventorySource: string;
  readonly env: NodeJS.ProcessEnv;
  /** The language of human-readable output (reports); machine-readable output ignores it. @default English */
  readonly lang?: Lang;
}

/**
 * An OpsContext on a state directory and an inventory (built-in unless a file is named): the
 * store and the fabric are opened on first use and the store is closed by `close()`.
 */
export class LocalOpsContext implements OpsContext {
  readonly stateDir: string;
  readonly env: NodeJS.ProcessEnv;
  private readonly inventory: string | undefined;
  private cachedFabric?: Fabric;
  private cachedStore?: StateStore;
  private cachedDatabase?: Promise<Database>;

  constructor(opts: { readonly stateDir: string; readonly inventory?: string | undefined; readonly env?: NodeJS.ProcessEnv }) {
    this.stateDir = opts.stateDir;
    this.inventory = opts.inventory;
    this.env = opts.env ?? {};
  }

  fabric(): Fabric {
    this.cachedFabric ??= loadFabric(this.inventory);
    return this.cachedFabric;
  }

  get inventorySource(): string {
    return this.inventory ?? 'built-in national inventory';
  }

  hasStore(): boolean {
    return this.cachedStore !== undefined || existsSync(join(this.stateDir, 'jinbao.db'));
  }

  store(): StateStore {
    this.cachedStore ??= StateStore.open(this.stateDir);
    return this.cachedStore;
  }

  database(): Promise<Database> {
    this.cachedDatabase ??= Promise.resolve().then(() => SqliteDatabase.wrap(this.store().db));
    return this.cachedDatabase;
  }

  async close(): Promise<void> {
    this.cachedStore?.close();
  }
}
