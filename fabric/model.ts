import { z } from 'zod';

/** The three tiers of the fabric, top to bottom. */
export const TIERS = ['ministry', 'province', 'prefecture'] as const;
export type Tier = (typeof TIERS)[number];

/** GB 50174 data-center classes: A is the most resilient. */
export const DC_CLASSES = ['A', 'B', 'C'] as const;
export type DcClass = (typeof DC_CLASSES)[number];

/** The business domains of the plan (seed §三(一)1); each becomes a namespace at the sites that host it. */
export const DOMAINS = [
  'employee-insurance',
  'employment',
  'resident-insurance',
  'personnel',
  'labor-relations',
  'cross-region',
  'national-query',
  'basic-pension',
  'exchange',
] as const;
export type Domain = (typeof DOMAINS)[number];

/** Kinds of grassroots outlets that the plan wants on the network. */
export const OUTLET_KINDS = ['street', 'community', 'township', 'hospital', 'pharmacy'] as const;
export type OutletKind = (typeof OUTLET_KINDS)[number];

export const MINISTRY_ID = '000000';

// Format messages are catalogue keys (fabric/locales `problem.format.*`); load.ts says them after the value received.
const siteId = z.string().regex(/^\d{6}$/, { message: 'problem.format.siteId' });
const slug = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, { message: 'problem.format.slug' });
const count = z.number().int().nonnegative();
const cidr = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, { message: 'problem.format.prefix' });

export const coverageSchema = z.strictObject({ total: count, connected: count });
export type Coverage = z.infer<typeof coverageSchema>;

export const outletsSchema = z.strictObject({
  street: coverageSchema,
  community: coverageSchema,
  township: coverageSchema,
  hospital: coverageSchema,
  pharmacy: coverageSchema,
});
export type Outlets = z.infer<typeof outletsSchema>;

export const accessPlatformSchema = z.strictObject({
  code: siteId,
  name: z.string().min(1),
  connected: z.boolean(),
  outlets: outletsSchema,
  /** A pinned prefix for this platform's network; allocated by IPAM when absent. */
  prefix: cidr.optional(),
});
export type AccessPlatform = z.infer<typeof accessPlatformSchema>;

export const drPairingSchema = z.strictObject({
  /** The site whose data center hosts this site's disaster-recovery center. */
  site: siteId,
  /** Recovery-time objective in seconds. @default by tier, see fabric/objectives.ts */
  rtoSeconds: z.number().positive().optional(),
  /** Recovery-point objective in seconds of data. @default by tier */
  rpoSeconds: z.number().nonnegative().optional(),
  /** Replication mode the pair runs. @default 'sync' when the RPO objective is 0, else 'async' */
  replication: z.enum(['sync', 'async']).optional(),
});
export type DrPairing = z.infer<typeof drPairingSchema>;

export const siteSchema = z.strictObject({
  id: siteId,
  tier: z.enum(TIERS),
  name: z.string().min(1),
  slug,
  parent: siteId.optional(),
  dataCenter: z.strictObject({ class: z.enum(DC_CLASSES), meetsStandard: z.boolean() }),
  mlpsLevel: z.number().int().min(1).max(5).default(3),
  /** Province flagged as large-area / few-insured: all its data centralizes at province level. */
  centralized: z.boolean().optional(),
  /** Explicit override of the data placement policy; normally derived (fabric/placement.ts). */
  domains: z.array(z.enum(DOMAINS)).optional(),
  dr: drPairingSchema.optional(),
  staff: z.strictObject({ total: count, requiringCertificates: count }),
  /** Connected to its parent's backbone (province↔ministry, prefecture↔province). */
  backbone: z.boolean(),
  /** HR/SS service agencies in the site's metro network. */
  serviceAgencies: coverageSchema,
  accessPlatforms: z.array(accessPlatformSchema).default([]),
  /** Prefecture programmes of the plan. */
  programmes: z
    .strictObject({
      socialSecurityCard: z.boolean(),
      crossRegionTransfer: z.boolean(),
      crossRegionRetiree: z.boolean(),
      crossRegionMedical: z.boolean(),
    })
    .optional(),
  /**
   * People holding the national social security card issued here: at a prefecture, or at a province
   * that issues cards itself (a municipality). Summed for the plan's card-holder target (8 亿).
   */
  socialSecurityCardHolders: count.optional(),
  /** Province monitoring-data ingestion rates, percent. */
  ingestion: z
    .strictObject({
      businessExchangePct: z.number().min(0).max(100),
      fundFinancialPct: z.number().min(0).max(100),
      /** Public personnel management and labour-employment filing data ingested. */
      personnelFilingPct: z.number().min(0).max(100).optional(),
    })
    .optional(),
  /** Pinned prefixes; IPAM allocates whatever is not pinned. */
  addressing: z
    .strictObject({ block: cidr.optional(), dc: cidr.optional(), dr: cidr.optional(), underlay: cidr.optional() })
    .optional(),
});
export type Site = z.infer<typeof siteSchema>;

const prefixLength = z.number().int().min(8).max(30);

export const addressingSchema = z.strictObject({
  /** Supernet for site blocks, data-center and agency networks (the WAN overlay's routed space). */
  overlay: cidr.default('10.0.0.0/8'),
  /** Supernet for the sites' transport (underlay) links. */
  underlay: cidr.default('172.16.0.0/12'),
  /** Prefix lengths IPAM allocates. */
  lengths: z
    .strictObject({
      ministry: prefixLength.default(14),
      province: prefixLength.default(14),
      prefecture: prefixLength.default(19),
      network: prefixLength.default(24),
      underlay: prefixLength.default(29),
    })
    .default({ ministry: 14, province: 14, prefecture: 19, network: 24, underlay: 29 }),
});
export type Addressing = z.infer<typeof addressingSchema>;

export const inventorySchema = z.strictObject({
  apiVersion: z.literal('jinbao/v1'),
  kind: z.literal('Inventory'),
  metadata: z.strictObject({
    name: z.string().min(1),
    /** True when figures were generated rather than reported (see docs/inventory.md). */
    sampleData: z.boolean().default(false),
    notes: z.array(z.string()).default([]),
  }),
  addressing: addressingSchema.default(addressingSchema.parse({})),
  sites: z.array(siteSchema),
});
export type Inventory = z.infer<typeof inventorySchema>;
/** What a user writes: defaults may be omitted. */
export type InventoryInput = z.input<typeof inventorySchema>;
