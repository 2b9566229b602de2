import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mustParsePrefix, overlaps } from '../../lib/cidr.js';
import { openDatabase, type Database } from '../../lib/sql/index.js';
import { stateBackends } from '../../lib/test/state-backends.js';
import { loadLedger } from '../ipam-ledger.js';
import { validateInventory } from '../load.js';
import type { InventoryInput } from '../model.js';
import { allocateAndRecord, exportableInventory } from '../operations.js';
import { smallInventory } from './builders.js';
import { growingInventory } from './ledger-inventory.js';

const WORKER = join(import.meta.dirname, 'ledger-worker.ts');
const backends = stateBackends('jinbao-ipam-');
const barriers = mkdtempSync(join(tmpdir(), 'jinbao-ipam-barrier-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(barriers, { recursive: true, force: true });
});

function fabricOf(inv: InventoryInput) {
  const r = validateInventory(inv, 'test');
  if (!r.fabric) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.fabric;
}

/** No two networks of the ledger overlap (overlay and underlay apart), nor two top-level blocks; a block only holds what is its own. */
function expectDisjoint(ledger: ReadonlyMap<string, string>): void {
  const entries = [...ledger].map(([key, text]) => ({ key, p: mustParsePrefix(text) }));
  const networks = entries.filter((e) => !e.key.startsWith('block:'));
  for (let i = 0; i < networks.length; i++)
    for (let j = i + 1; j < networks.length; j++) {
      const [a, b] = [networks[i]!, networks[j]!];
      if (a.key.startsWith('underlay:') !== b.key.startsWith('underlay:')) continue;
      expect(overlaps(a.p, b.p), `${a.key} ${ledger.get(a.key)} overlaps ${b.key} ${ledger.get(b.key)}`).toBe(false);
    }
  // Blocks of different provinces (and the ministry) never overlap; a prefecture's block lies in its province's.
  const blocks = entries.filter((e) => e.key.startsWith('block:'));
  for (let i = 0; i < blocks.length; i++)
    for (let j = i + 1; j < blocks.length; j++) {
      const [a, b] = [blocks[i]!, blocks[j]!];
      const province = (k: string) => (k.slice(6, 12) === '000000' ? 'ministry' : k.slice(6, 8));
      if (province(a.key) === province(b.key)) continue;
      expect(overlaps(a.p, b.p), `${a.key} ${ledger.get(a.key)} overlaps ${b.key} ${ledger.get(b.key)}`).toBe(false);
    }
}

describe.each(backends)('the IPAM ledger on $name', ({ skip, open, fresh }) => {
  it.skipIf(skip)('GIVEN a fresh store WHEN allocating twice THEN every prefix is recorded once and the second run renumbers and records nothing', async () => {
    const db = await open();
    expect(await loadLedger(db)).toEqual(new Map());
    const fabric = fabricOf(smallInventory());
    const first = await allocateAndRecord(db, fabric);
    expect(first.recorded).toBe(first.ledger.size);
    expect(first.added).toHaveLength(first.ledger.size);
    expect(await loadLedger(db)).toEqual(first.ledger);
    const second = await allocateAndRecord(db, fabric);
    expect(second).toMatchObject({ recorded: 0, added: [] });
    expect(second.ledger).toEqual(first.ledger);
  });

  it.skipIf(skip)('GIVEN a pin that moves a recorded network THEN only that entry is rewritten', async () => {
    const db = await open();
    const first = await allocateAndRecord(db, fabricOf(smallInventory()));
    const inv = smallInventory();
    const block = mustParsePrefix(first.ledger.get('block:440100')!);
    const free = [...first.ledger].filter(([k]) => k !== 'block:440100');
    // The last /24 of 440100's block, unless taken.
    const last = `${[(block.base + 2 ** (32 - block.length) - 256) >>> 24, ((block.base + 2 ** (32 - block.length) - 256) >>> 16) & 255, ((block.base + 2 ** (32 - block.length) - 256) >>> 8) & 255, 0].join('.')}/24`;
    expect(free.map(([, p]) => p)).not.toContain(last);
    inv.sites.find((s) => s.id === '440100')!.addressing = { dc: last };
    const moved = await allocateAndRecord(db, fabricOf(inv));
    expect(moved.recorded).toBe(1);
    expect((await loadLedger(db)).get('dc:440100')).toBe(last);
  });

  it.skipIf(skip)('GIVEN the last free block taken by another inventory WHEN an allocation fails THEN it records nothing and lists the problem', async () => {
    const db = await open();
    // A /12 holds four /14 blocks: the ministry, two provinces and one more.
    const tight = (inv: InventoryInput): InventoryInput => ({ ...inv, addressing: { overlay: '10.0.0.0/12' } });
    const a = await allocateAndRecord(db, fabricOf(tight(growingInventory('120000', 0))));
    await expect(allocateAndRecord(db, fabricOf(tight(growingInventory('130000', 1))))).rejects.toMatchObject({
      message: 'address allocation failed: 1 problem(s)',
      exitCode: 2,
      details: ['no free /14 left in 10.0.0.0/12 for block:130000; use a larger supernet (addressing.overlay / addressing.underlay) or pin smaller blocks'],
    });
    expect(await loadLedger(db)).toEqual(a.ledger);
  });

  it.skipIf(skip)('GIVEN two inventories that each add a different province WHEN both allocate on one store THEN the second places around the first', async () => {
    const db = await open();
    const a = await allocateAndRecord(db, fabricOf(growingInventory('120000', 2)));
    const b = await allocateAndRecord(db, fabricOf(growingInventory('130000', 2)));
    expect(b.added.filter((k) => k.includes(':12'))).toEqual([]);
    const ledger = await loadLedger(db);
    for (const [key, prefix] of a.ledger) expect(ledger.get(key)).toBe(prefix);
    for (const [key, prefix] of b.ledger) expect(ledger.get(key)).toBe(prefix);
    expectDisjoint(ledger);
  });

  it.skipIf(skip)('GIVEN a recorded ledger WHEN the inventory is exported with pins THEN each site carries its recorded prefixes', async () => {
    const db = await open();
    const fabric = fabricOf(smallInventory());
    const { ledger } = await allocateAndRecord(db, fabric);
    const doc = await exportableInventory(fabric, db);
    expect(doc.sites.find((s) => s.id === '440000')!.addressing).toEqual({ block: ledger.get('block:440000'), dc: ledger.get('dc:440000'), dr: ledger.get('dr:440000'), underlay: ledger.get('underlay:440000') });
    expect(doc.sites.find((s) => s.id === '440100')!.accessPlatforms![0]!.prefix).toBe(ledger.get('agency:440103'));
  });

  it.skipIf(skip)(
    'GIVEN four processes allocating at once, each with its own growing inventory THEN no two allocations in the store overlap and each process got what the store holds',
    async () => {
      const target = await fresh();
      const barrier = join(barriers, `go-${Math.random().toString(16).slice(2)}`);
      const rounds = 4;
      const workers = ['120000', '130000', '140000', '150000'].map((p) => startWorker(target, barrier, p, rounds));
      await Promise.all(workers.map((w) => w.ready));
      writeFileSync(barrier, '');
      const exits = await Promise.all(workers.map((w) => w.exited));
      for (const e of exits) expect(e).toMatchObject({ code: 0, stderr: '' });
      const db: Database = await openDatabase(target);
      try {
        const ledger = await loadLedger(db);
        expectDisjoint(ledger);
        for (const w of workers) {
          expect(w.rounds).toHaveLength(rounds);
          // What the last round was given is what the store holds; earlier rounds' prefixes were kept.
          const last = w.rounds.at(-1)!;
          for (const [key, prefix] of Object.entries(last)) expect(ledger.get(key), key).toBe(prefix);
          for (const r of w.rounds) for (const [key, prefix] of Object.entries(r)) expect(last[key], key).toBe(prefix);
        }
      } finally {
        await db.close();
      }
    },
    180_000,
  );
});

interface Worker {
  readonly ready: Promise<void>;
  readonly rounds: Record<string, string>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function startWorker(target: string, barrier: string, province: string, rounds: number): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, target, barrier, province, String(rounds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const got: Record<string, string>[] = [];
  let buf = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'ready') onReady();
      const m = /^round \d+ (.*)$/.exec(line);
      if (m) got.push(JSON.parse(m[1]!) as Record<string, string>);
    }
  });
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => {
      onReady();
      resolve({ code, signal, stderr });
    }),
  );
  return { ready, rounds: got, exited };
}
