import { describe, expect, it } from 'vitest';
import { loadFabric } from '../load.js';
import { nationalInventory, slugFor } from '../national.js';

describe('the built-in national inventory', () => {
  const fabric = loadFabric();

  it('holds the ministry, 31 provinces plus the XPCC, and every prefecture-level division with real codes', () => {
    expect(fabric.byTier('ministry').map((s) => s.id)).toEqual(['000000']);
    const provinces = fabric.byTier('province');
    expect(provinces).toHaveLength(32);
    expect(provinces.find((p) => p.id === '660000')?.name).toBe('新疆生产建设兵团');
    expect(provinces.map((p) => p.id)).not.toContain('710000');
    expect(provinces.map((p) => p.id)).not.toContain('810000');
    const prefectures = fabric.byTier('prefecture');
    expect(prefectures).toHaveLength(333);
    expect(fabric.site('440100').name).toBe('广州市');
    expect(fabric.site('130600').name).toBe('保定市');
    // pseudo entries ("省直辖县级行政区划") are not prefectures
    expect(prefectures.some((p) => /直辖/.test(p.name))).toBe(false);
  });

  it('attaches county-level divisions as access platforms, including municipal districts and province-administered cities', () => {
    const platforms = fabric.sites.flatMap((s) => s.accessPlatforms);
    expect(platforms.length).toBeGreaterThan(2800);
    expect(platforms.some((a) => a.name === '市辖区')).toBe(false);
    expect(fabric.site('500000').accessPlatforms.map((a) => a.name)).toContain('渝中区');
    expect(fabric.site('420000').accessPlatforms.map((a) => a.name)).toContain('仙桃市');
    expect(fabric.site('660000').accessPlatforms.map((a) => a.name)).toContain('石河子市');
    expect(fabric.site('650000').accessPlatforms.map((a) => a.name)).not.toContain('石河子市');
  });

  it('labels its generated figures as sample data', () => {
    expect(fabric.sampleData).toBe(true);
    expect(fabric.inventory.metadata.notes.join(' ')).toMatch(/^SAMPLE DATA/);
  });

  it('is the same on every build (deterministic sample figures)', () => {
    expect(JSON.stringify(nationalInventory())).toBe(JSON.stringify(nationalInventory()));
  });

  it('gives every site a unique, valid slug', () => {
    const slugs = fabric.sites.map((s) => s.slug);
    expect(new Set(slugs).size).toBe(slugs.length);
    expect(fabric.site('440000').slug).toBe('guangdong');
    expect(fabric.site('610000').slug).toBe('shaanxi');
    expect(fabric.site('140000').slug).toBe('shanxi');
  });
});

describe('slugFor', () => {
  it('drops administrative and ethnic-autonomy suffixes', () => {
    expect(slugFor('阿坝藏族羌族自治州')).toBe('aba');
    expect(slugFor('广西壮族自治区')).toBe('guangxi');
    expect(slugFor('重庆市')).toBe('chongqing');
  });
});
