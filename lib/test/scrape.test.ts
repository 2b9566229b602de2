import { describe, expect, it } from 'vitest';
import { sharedReading } from '../scrape.js';

describe('a reading shared by the gauges of one scrape', () => {
  it('GIVEN several gauges asking at once THEN the store is read once, and again once the window has passed', async () => {
    let reads = 0;
    const read = sharedReading(async () => ++reads, 10);
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    await new Promise((r) => setTimeout(r, 30));
    expect(await read()).toBe(2);
  });

  it('GIVEN a reading that failed THEN the next gauge reads again instead of reusing the failure', async () => {
    let reads = 0;
    const read = sharedReading(async () => {
      reads += 1;
      if (reads === 1) throw new Error('database restarting');
      return reads;
    }, 60_000);
    await expect(read()).rejects.toThrow('database restarting');
    expect(await read()).toBe(2);
  });
});
