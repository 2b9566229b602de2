import { allocate, type IpamResult, type Ledger } from './ipam.js';
import { MINISTRY_ID, type Domain, type Inventory, type Site, type Tier } from './model.js';
import { objectivesFor, type RecoveryObjectives } from './objectives.js';
import { domainsFor, isCentralized } from './placement.js';
import type { Problem } from './problems.js';
import { checkInventory, type CheckOptions } from './validate.js';

/**
 * A validated inventory with its indexes and the derived national policy (domains, objectives,
 * DR relations). Everything that renders the fabric reads it from here.
 */
export class Fabric {
  readonly inventory: Inventory;
  private readonly byId: ReadonlyMap<string, Site>;
  private readonly childrenOf: ReadonlyMap<string, readonly Site[]>;
  private readonly drCentersFor: ReadonlyMap<string, readonly Site[]>;
  private readonly pinCheck: IpamResult;

  private constructor(inventory: Inventory, pinCheck: IpamResult) {
    this.inventory = inventory;
    this.pinCheck = pinCheck;
    this.byId = new Map(inventory.sites.map((s) => [s.id, s]));
    const children = new Map<string, Site[]>();
    const hosted = new Map<string, Site[]>();
    for (const s of inventory.sites) {
      if (s.parent) push(children, s.parent, s);
      if (s.dr) push(hosted, s.dr.site, s);
    }
    this.childrenOf = children;
    this.drCentersFor = hosted;
  }

  /** Validate the structure of a schema-valid inventory; a Fabric only exists when there are no problems. */
  static build(inventory: Inventory, opts: CheckOptions = {}): { fabric?: Fabric; problems: Problem[] } {
    const problems = checkInventory(inventory.sites, opts);
    if (problems.length > 0) return { problems };
    const pinCheck = allocate(inventory);
    if (pinCheck.problems.length > 0) return { problems: [...pinCheck.problems] };
    return { fabric: new Fabric(inventory, pinCheck), problems: [] };
  }

  get sites(): readonly Site[] {
    return this.inventory.sites;
  }

  get sampleData(): boolean {
    return this.inventory.metadata.sampleData;
  }

  get ministry(): Site {
    return this.site(MINISTRY_ID);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The site with this id; throws when absent (check with `has` or use `findSite` for user input). */
  site(id: string): Site {
    const s = this.byId.get(id);
    if (!s) throw new Error(`no site ${id} in the fabric`);
    return s;
  }

  findSite(id: string): Site | undefined {
    return this.byId.get(id);
  }

  byTier(tier: Tier): Site[] {
    return this.inventory.sites.filter((s) => s.tier === tier);
  }

  parentOf(site: Site): Site | undefined {
    return site.parent === undefined ? undefined : this.byId.get(site.parent);
  }

  /** The province a site rolls up to (a prefecture's parent, a province itself); the ministry is its own. */
  provinceOf(site: Site): Site {
    if (site.tier !== 'prefecture') return site;
    return this.parentOf(site) ?? site;
  }

  children(site: Site): readonly Site[] {
    return this.childrenOf.get(site.id) ?? [];
  }

  /** The business domains a site hosts, by the plan's data placement policy. */
  domains(site: Site): Domain[] {
    return domainsFor(site, this.parentOf(site));
  }

  centralized(site: Site): boolean {
    return isCentralized(site);
  }

  /** The site hosting `site`'s disaster-recovery center, if it has one. */
  drCenterOf(site: Site): Site | undefined {
    return site.dr ? this.byId.get(site.dr.site) : undefined;
  }

  /** Sites whose disaster-recovery center this site hosts. */
  drProtectedBy(site: Site): readonly Site[] {
    return this.drCentersFor.get(site.id) ?? [];
  }

  objectives(site: Site): RecoveryObjectives {
    return objectivesFor(site);
  }

  /** Allocate addresses, keeping every entry of `ledger` (see fabric/ipam.ts). */
  allocate(ledger?: Ledger): IpamResult {
    return ledger === undefined || ledger.size === 0 ? this.pinCheck : allocate(this.inventory, ledger);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
