import { describe, expect, it } from 'vitest';
import { englishLines } from '../../testkit/index.js';
import { noPki, noStateStore, sayIn } from '../message.js';
import { renderPosture } from '../report/index.js';
import { runCatalogue } from '../runner.js';
import { compliantInputs, fakeTools } from './fixtures.js';

/**
 * posture.json keeps every reason as English text beside its catalogue message (key and values: the same in
 * every language); the Chinese page says each message in Chinese.
 */
const render = async (inputs: ReturnType<typeof compliantInputs>, lang: 'en' | 'zh-CN') => renderPosture(inputs, await runCatalogue(inputs, { tools: fakeTools([]) }), { chartJs: '', lang, embedFont: false });

const escape = (x: string) => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** The page without its data block (which is the same in every language). */
const visible = (html: string) => html.replace(/<script id="posture-data"[\s\S]*?<\/script>/, '');

/** The text of the page's cells and notes, tags dropped. */
const cells = (html: string) => [...html.matchAll(/<(?:td|p)[^>]*class="(?:note|unavailable)"[^>]*>([\s\S]*?)<\/(?:td|p)>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ' '));

describe('the posture report\'s reasons in each language', () => {
  it('GIVEN parts missing for a reason (no state store, no PKI, nothing said) THEN posture.json keeps English text and the message; the Chinese page says each in Chinese', async () => {
    const inputs = { ...compliantInputs(), pki: undefined, drills: undefined, wan: undefined, missing: { pki: noPki('/var/lib/jinbao'), drills: noStateStore('/var/lib/jinbao') } };
    const en = await render(inputs, 'en');
    const zh = await render(inputs, 'zh-CN');
    expect(JSON.stringify(zh.data)).toBe(JSON.stringify(en.data));
    expect(en.data.certificates).toMatchObject({ available: false, reasonMessage: { key: 'inputs.noPki', params: { dir: '/var/lib/jinbao' } } });
    expect(en.data.certificates.reason).toBe(sayIn('en', noPki('/var/lib/jinbao')));
    expect(en.data.wan).toMatchObject({ available: false, reason: 'no WAN plan', reasonMessage: { key: 'inputs.noWanPlan' } });
    expect(zh.html).toContain(escape(sayIn('zh-CN', noPki('/var/lib/jinbao'))));
    expect(zh.html).toContain(escape(sayIn('zh-CN', noStateStore('/var/lib/jinbao'))));
    expect(visible(zh.html)).not.toContain(escape(en.data.certificates.reason!));
    expect(visible(en.html)).toContain(escape(en.data.certificates.reason!));
    expect(zh.html).toContain('没有业务专网规划');
    expect(visible(zh.html)).not.toContain('no WAN plan');
    expect(en.html).toContain('Not available: no WAN plan');
  });

  it('GIVEN every control\'s first finding THEN each has its message in posture.json, and the Chinese page shows none of them in English', async () => {
    const inputs = compliantInputs();
    const zh = await render(inputs, 'zh-CN');
    const withoutMessage = zh.data.controls.filter((c) => c.summary !== '' && c.summaryMessage === null).map((c) => c.id);
    expect(withoutMessage).toEqual([]);
    for (const c of zh.data.controls) {
      if (c.summaryMessage === null) continue;
      expect(zh.html, c.id).toContain(escape(sayIn('zh-CN', c.summaryMessage.message)));
    }
    expect(cells(zh.html).flatMap(englishLines)).toEqual([]);
    const en = await render(inputs, 'en');
    expect(cells(en.html).flatMap(englishLines).length).toBeGreaterThan(0);
  });
});
