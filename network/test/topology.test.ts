import { describe, expect, it } from 'vitest';
import { aclFlows, allowedServices, buildPlan, findNode, labNodes, type WanPlan } from '../index.js';
import { smallFabric } from './fixture.js';

const fabric = smallFabric();
const plan: WanPlan = buildPlan(fabric, fabric.allocate().allocations);
const links = (spoke: string) => plan.links.filter((l) => l.spoke === spoke).map((l) => `${l.kind}:${l.hub}`).sort();

describe('WAN topology from the fabric', () => {
  it('GIVEN the ministry with a DR pairing WHEN the plan is built THEN its DR center is its own node on the host site\'s underlay, linked to the core', () => {
    const dr = plan.nodes.get('dr-000000')!;
    expect(dr).toMatchObject({ role: 'ministry-dr', site: '000000' });
    const host = fabric.allocate().allocations.get('440000')!;
    expect(dr.underlay?.prefix).toBe(host.underlay);
    expect(dr.endpoint).not.toBe(plan.nodes.get('440000')!.endpoint);
    expect(dr.network).toBe(fabric.allocate().allocations.get('000000')!.dr);
    expect(links('dr-000000')).toEqual(['ministry:000000']);
  });

  it('THEN every province hub and province DR node has two uplinks: the core (primary) and the ministry DR center (secondary)', () => {
    for (const id of ['110000', '440000']) expect(links(id)).toEqual(['primary:000000', 'secondary:dr-000000']);
    expect(links('dr-440000')).toEqual(['dr:440000', 'primary:000000', 'secondary:dr-000000']);
  });

  it('THEN a province DR node has a dedicated link to the province hub it protects, which makes it no spoke of the hub', () => {
    expect(plan.links.filter((l) => l.kind === 'dr')).toEqual([{ hub: '440000', spoke: 'dr-440000', kind: 'dr' }]);
    expect(plan.links.filter((l) => l.hub === '440000' && l.kind !== 'dr').map((l) => plan.nodes.get(l.spoke)!.role)).not.toContain('province-dr');
  });

  it('THEN a prefecture uplinks to its province hub and, where the province has one, its DR node', () => {
    expect(links('440100')).toEqual(['primary:440000', 'secondary:dr-440000']);
  });

  it('THEN county platforms are spokes of their prefecture (or of the province for counties under it) and outlets are not nodes', () => {
    expect(links('440103')).toEqual(['primary:440100']);
    expect(links('110101')).toEqual(['primary:110000']);
    expect(plan.nodes.get("440103")!.role).toBe("county");
    expect(plan.nodes.get("440103")!.endpoint).toBeUndefined();
    expect(plan.nodes.size).toBe(1 + 1 + 2 + 1 + 2 + 4);
  });

  it('THEN tunnel addresses are the first host of each node\'s own network', () => {
    const a = fabric.allocate().allocations.get('440100')!;
    expect(plan.nodes.get('440100')!.address).toBe(a.dc.replace(/\.0\/24$/, '.1'));
    expect(plan.nodes.get('440100')!.aggregate).toBe(a.block);
  });

  it('GIVEN allocations missing a site WHEN the plan is built THEN it refuses, naming the site and the fix', () => {
    const partial = new Map([...fabric.allocate().allocations].filter(([id]) => id !== '440300'));
    expect(() => buildPlan(fabric, partial)).toThrow('1 site(s) have no overlay address: 440300; allocate them with "jinbao ipam" (pinned prefixes in the inventory must not overlap)');
  });

  it('GIVEN an unknown node WHEN it is looked up THEN the message says what ids look like, with the DR hint where it applies', () => {
    expect(() => findNode(plan, '999999', 'the test inventory')).toThrow('no WAN node "999999" in the test inventory; node ids are site codes such as "440100", "dr-<site>" for DR centers, or county codes');
    const noDr = buildPlan(fabric, fabric.allocate().allocations);
    expect(() => findNode({ ...noDr, nodes: new Map([...noDr.nodes].filter(([id]) => id !== '000000')) }, '000000', 'x')).toThrow('(its DR center is "dr-000000")');
  });
});

describe('WAN policy', () => {
  const flows = aclFlows(plan);
  const allowed = (a: string, b: string) => [...allowedServices(flows, a, b)].sort();

  it('GIVEN two prefectures WHEN the policy is asked THEN nothing is allowed between them, even in the same province', () => {
    expect(allowed('440100', '440300')).toEqual([]);
    expect(allowed('440300', '440100')).toEqual([]);
  });

  it('THEN the ministry manages and scrapes every node, and provinces exchange with the ministry but do not manage it', () => {
    expect(allowed('000000', '440103')).toEqual(['ping', 'scrape', 'ssh']);
    expect(allowed('000000', '440000')).toEqual(['exchange', 'ping', 'scrape', 'ssh']);
    expect(allowed('440000', '000000')).toEqual(['exchange', 'ping']);
  });

  it('THEN provinces do not talk to each other, a prefecture exchanges with its province, and a site replicates to its DR center', () => {
    expect(allowed('110000', '440000')).toEqual([]);
    expect(allowed('440100', '440000')).toEqual(['exchange', 'ping']);
    expect(allowed('440100', '110000')).toEqual([]);
    expect(allowed('440000', 'dr-440000')).toContain('replication');
    expect(allowed('440103', '440100')).toEqual(['exchange']);
    expect(allowed('440103', '440300')).toEqual([]);
  });
});

describe('lab sizing', () => {
  const national = smallFabric();
  const p = buildPlan(national, national.allocate().allocations, { counties: false });

  it('GIVEN a lab larger than the machine WHEN it is sized THEN it refuses with the limit and why, counting the chosen province DR nodes', () => {
    expect(() => labNodes(p, { provinces: 1, prefectures: 1 }, 128 * 1024 * 1024)).toThrow(
      'a lab of 5 nodes is larger than this machine can hold: the limit is 2 nodes (64 for bring-up and probing on a small machine; 2 by memory at ~32 MB per node for its wireguard-go processes within half of the free memory); ask for fewer --provinces, --prefectures or --counties',
    );
    expect(() => labNodes(p, { provinces: 20, prefectures: 3 }, 64 * 1024 ** 3)).toThrow('a lab of 82 nodes is larger than this machine can hold: the limit is 64 nodes');
  });

  it('GIVEN more provinces than the inventory has with enough prefectures THEN it says how many there are', () => {
    expect(() => labNodes(p, { provinces: 2, prefectures: 2 }, 64 * 1024 ** 3)).toThrow('the inventory has 1 province(s) with at least 2 prefectures, got --provinces 2; lower --provinces, --prefectures or --counties');
    expect(() => labNodes(p, { provinces: 0, prefectures: 2 })).toThrow('--provinces must be a whole number of at least 1, got 0');
  });

  it('GIVEN a lab that fits THEN it holds the ministry core, its DR center, and the first provinces with their DR node and first prefectures', () => {
    expect(labNodes(p, { provinces: 1, prefectures: 2 }, 64 * 1024 ** 3)).toEqual(['000000', 'dr-000000', '440000', 'dr-440000', '440100', '440300']);
  });

  const withCounties = buildPlan(national, national.allocate().allocations);

  it('GIVEN --counties K THEN each chosen prefecture brings its first K county spokes, after the hubs', () => {
    expect(labNodes(withCounties, { provinces: 1, prefectures: 2, counties: 1 }, 64 * 1024 ** 3)).toEqual(['000000', 'dr-000000', '440000', 'dr-440000', '440100', '440300', '440103', '440303']);
    expect(labNodes(withCounties, { provinces: 1, prefectures: 1, counties: 2 }, 64 * 1024 ** 3)).toEqual(['000000', 'dr-000000', '440000', 'dr-440000', '440100', '440103', '440104']);
    expect(labNodes(withCounties, { provinces: 1, prefectures: 2 }, 64 * 1024 ** 3)).toEqual(labNodes(p, { provinces: 1, prefectures: 2 }, 64 * 1024 ** 3));
  });

  it('GIVEN prefectures with fewer counties than asked THEN only prefectures that have them count, and the refusal says so', () => {
    // 440300 has one county: with --counties 2 only 440100 qualifies.
    expect(() => labNodes(withCounties, { provinces: 1, prefectures: 2, counties: 2 }, 64 * 1024 ** 3)).toThrow(
      'the inventory has 0 province(s) with at least 2 prefectures with at least 2 counties each, got --provinces 1; lower --provinces, --prefectures or --counties',
    );
    expect(() => labNodes(withCounties, { provinces: 1, prefectures: 1, counties: -1 })).toThrow('--counties must be a whole number of at least 0, got -1');
  });

  it('GIVEN counties that make the lab too large THEN the same refusal counts them', () => {
    expect(() => labNodes(withCounties, { provinces: 1, prefectures: 2, counties: 1 }, 7 * 64 * 1024 * 1024)).toThrow(
      'a lab of 8 nodes is larger than this machine can hold: the limit is 7 nodes',
    );
  });
});
