import type { Lang } from '../lib/i18n/index.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUILT_IN_INVENTORY, loadFabric, type Fabric } from '../fabric/index.js';
import type { StateAccess } from '../lib/context.js';
import type { StateTarget } from '../lib/state.js';
import { openDatabase, type Database } from '../lib/sql/index.js';

/**
 * What an operation spanning features needs: the state, the validated inventory and where it came
 * from, and the environment (passphrase variables). The CLI's Context implements it.
 */
export interface OpsContext extends StateAccess {
  /** The validated inventory; an invalid one throws before any work starts. */
  fabric(): Fabric;
  /** Where the inventory came from, for messages and `--json` (BUILT_IN_INVENTORY or the file). */
  readonly inventorySource: string;
  /** True when no inventory file was named: decide on this, not on the wording of `inventorySource`. */
  readonly builtInInventory: boolean;
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
  readonly state: StateTarget;
  readonly env: NodeJS.ProcessEnv;
  private readonly inventory: string | undefined;
  private cachedFabric?: Fabric;
  private cachedDatabase?: Promise<Database>;

  constructor(opts: ({ readonly stateDir: string } | { readonly state: StateTarget }) & { readonly inventory?: string | undefined; readonly env?: NodeJS.ProcessEnv }) {
    this.state = 'state' in opts ? opts.state : { kind: 'sqlite', dir: opts.stateDir };
    this.stateDir = this.state.dir;
    this.inventory = opts.inventory;
    this.env = opts.env ?? {};
  }

  fabric(): Fabric {
    this.cachedFabric ??= loadFabric(this.inventory);
    return this.cachedFabric;
  }

  /** The inventory file given, if any (undefined: the built-in national inventory). */
  get inventoryFile(): string | undefined {
    return this.inventory;
  }

  get inventorySource(): string {
    return this.inventory ?? BUILT_IN_INVENTORY;
  }

  get builtInInventory(): boolean {
    return this.inventory === undefined;
  }

  /** A shared database always counts as existing: it is created by its administrator, not by jinbao. */
  hasStore(): boolean {
    if (this.state.kind === 'postgresql') return true;
    return this.cachedDatabase !== undefined || existsSync(join(this.stateDir, 'jinbao.db'));
  }

  database(): Promise<Database> {
    if (this.cachedDatabase === undefined) {
      const state = this.state;
      const opening = openDatabase(state.kind === 'postgresql' ? state.url : state.dir, { source: state.kind === 'postgresql' ? state.source : '--state', env: this.env });
      this.cachedDatabase = opening;
      // A failed open is not kept: the next call tries again (and says why again).
      opening.catch(() => {
        if (this.cachedDatabase === opening) this.cachedDatabase = undefined;
      });
    }
    return this.cachedDatabase;
  }

  async close(): Promise<void> {
    const db = this.cachedDatabase;
    this.cachedDatabase = undefined;
    await (await db?.catch(() => undefined))?.close();
  }
}
