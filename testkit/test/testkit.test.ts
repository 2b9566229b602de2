import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, tempDir, waitUntil } from '../index.js';

describe('testkit', () => {
  it('GIVEN a temp dir THEN it exists until cleaned up', () => {
    const t = tempDir('jinbao-testkit-');
    expect(existsSync(t.dir)).toBe(true);
    t.cleanup();
    expect(existsSync(t.dir)).toBe(false);
  });

  it('GIVEN a free port THEN a server can listen on it', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    expect((server.address() as { port: number }).port).toBe(port);
    await new Promise((r) => server.close(r));
  });

  it('GIVEN a condition that comes true THEN waitUntil returns its value; one that never does THEN it says what it waited for', async () => {
    let n = 0;
    expect(await waitUntil(() => (++n >= 3 ? n : undefined), 'three polls', { intervalMs: 1 })).toBe(3);
    await expect(waitUntil(() => false, 'nothing', { timeoutMs: 20, intervalMs: 5 })).rejects.toThrow('timed out after 0.02 s waiting for nothing');
  });
});
