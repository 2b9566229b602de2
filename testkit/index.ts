/**
 * What tests of every folder share: temporary directories, free loopback ports, waiting for a
 * condition, and small inventories. The CLI itself is run in-process with bin/testkit.ts (runCli).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export { agency, site, smallInventory } from '../fabric/test/builders.js';
export { englishLines } from './english.js';

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'jinbao-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Poll `probe` until it gives a value (anything but undefined or false) and return it; throws
 * "timed out after N s waiting for <what>" when it does not within `timeoutMs`.
 */
export async function waitUntil<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}
