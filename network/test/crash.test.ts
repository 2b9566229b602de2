import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/testkit.js';
import { waitUntil } from '../../testkit/index.js';
import { labDown, readJournal, type LabJournal } from '../index.js';
import { has, isRoot } from './fixture.js';

const canLab = isRoot && ['wireguard-go', 'wg', 'wg-quick', 'nft', 'ip', 'ping', 'sleep', 'bird', 'birdc'].every(has);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'jinbao-wan-crash-'));

/** Every pid this file starts (children, stand-ins) and every lab tag it made: stopped and removed after the tests, also on failure. */
const started: number[] = [];
const tags = new Set<string>();
const states: string[] = [];

/** What of lab `tag` is still on the machine, found independently of the code under test. */
function leftovers(tag: string, inodes: ReadonlySet<number> = new Set(), pids: readonly number[] = []): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const ino = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${pid}/ns/net`))?.[1]);
      if (argv.some((a) => a.startsWith(tag)) || inodes.has(ino) || pids.includes(pid)) out.push(`process ${pid} ${argv.join(' ')}`);
    } catch {
      /* exited while read */
    }
  }
  for (const ns of execFileSync('ip', ['netns', 'list']).toString().split('\n')) if (ns.startsWith(`${tag}-`)) out.push(`namespace ${ns.split(' ')[0]}`);
  for (const l of execFileSync('ip', ['-o', 'link', 'show']).toString().split('\n')) if (l.includes(tag)) out.push(`link ${l.split(':')[1]?.trim()}`);
  if (existsSync('/var/run/wireguard')) for (const s of readdirSync('/var/run/wireguard')) if (s.startsWith(tag)) out.push(`socket /var/run/wireguard/${s}`);
  return out;
}

const kill = (pid: number, sig: NodeJS.Signals = 'SIGKILL') => {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
};

afterAll(async () => {
  for (const pid of started) kill(pid);
  for (const s of states) await labDown({ stateDir: s }).catch(() => undefined);
  // Belt and braces for a failed test: whatever still carries one of this file's lab tags, by pid and exact name.
  for (const tag of tags) {
    for (const l of leftovers(tag)) {
      const [kind, what] = l.split(' ');
      if (kind === 'process') kill(Number(what));
      if (kind === 'namespace') execFileSync('ip', ['netns', 'del', what!]);
      if (kind === 'socket') rmSync(what!, { force: true });
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Run crash-child.ts; resolves with its exit and what it printed. `onStarted` runs once it reports its Nth start. */
function child(state: string, mode: 'self-kill' | 'hang', n: number, onStarted?: (c: ChildProcess, pid: number) => void): Promise<{ signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', join(here, 'crash-child.ts'), state, mode, String(n)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(c.pid!);
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (b: Buffer) => {
      stdout += b.toString();
      const m = /started (\d+)\n/.exec(stdout);
      if (m && onStarted) {
        const f = onStarted;
        onStarted = undefined;
        f(c, Number(m[1]));
      }
    });
    c.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    c.on('exit', (_code, signal) => resolve({ signal, stdout, stderr }));
  });
}

const until = (check: () => boolean, what: string) => waitUntil(check, what);

describe.skipIf(!canLab)('a lab whose bring-up was SIGKILLed leaves nothing behind (root with wireguard-go, wireguard-tools, nftables, iproute2; skipped otherwise)', () => {
  it('GIVEN a bring-up killed between starting a wireguard-go and recording its pid WHEN `wan up --lab` runs again THEN it says it removes the leftovers, and they are gone', async () => {
    const state = join(dir, 'self-kill');
    states.push(state);
    const crash = await child(state, 'self-kill', 2);
    expect(crash.signal).toBe('SIGKILL');
    const orphan = Number(/started (\d+)/.exec(crash.stdout)?.[1]);
    started.push(orphan);
    const before = readJournal(state)!;
    tags.add(before.tag);
    expect(before.status).toBe('building');
    expect(existsSync(`/proc/${orphan}`)).toBe(true);

    const r = await runCli(['--state', state, 'wan', 'up', '--lab', '--provinces', '1', '--prefectures', '1']);
    const after = readJournal(state);
    if (after) tags.add(after.tag);
    expect(r.stderr).toMatch(new RegExp(`^lab ${before.tag}: an earlier bring-up in ${join(state, 'wan-lab')} did not finish \\(its process \\d+ is gone\\); removing what it left\n`));
    expect(r.stderr).toMatch(new RegExp(`\nlab ${before.tag} removed: [1-9]\\d* processes stopped, [1-9]\\d* namespaces deleted\n`));
    expect(r.code).toBe(0);
    expect(leftovers(before.tag, new Set(), [orphan])).toEqual([]);
    expect(after!.tag).not.toBe(before.tag);

    const d = await runCli(['--state', state, 'wan', 'down']);
    expect(d.code).toBe(0);
    expect(leftovers(after!.tag)).toEqual([]);
  });

  it('GIVEN a bring-up SIGKILLed from outside, then a node namespace deleted by hand while its processes run WHEN `wan down` runs THEN no process, namespace, veth or socket of the lab remains', async () => {
    const state = join(dir, 'killed');
    states.push(state);
    let journal: LabJournal | undefined;
    const inodes = new Set<number>();
    const crash = await child(state, 'hang', 3, (c, pid) => {
      void until(() => (readJournal(state)?.processes ?? []).some((p) => p.pid === pid), 'the third process to be recorded').then(() => c.kill('SIGKILL'));
    });
    expect(crash.signal).toBe('SIGKILL');
    journal = readJournal(state)!;
    tags.add(journal.tag);
    const wg = journal.processes.find((p) => p.what === 'wireguard-go' && p.pid !== undefined && existsSync(`/proc/${p.pid}`))!;
    const ns = journal.nodes.find((n) => wg.name.startsWith(`${journal!.tag}${n.idx}`))!.ns;
    for (const n of journal.namespaces) if (existsSync(`/run/netns/${n}`)) inodes.add(statSync(`/run/netns/${n}`).ino);
    // A process in the node's namespace whose command line names nothing of the lab and that the journal never recorded.
    const standIn = spawn('ip', ['netns', 'exec', ns, 'sleep', '60'], { detached: true, stdio: 'ignore' });
    started.push(standIn.pid!);
    await until(() => existsSync(`/proc/${standIn.pid}`) && readFileSync(`/proc/${standIn.pid}/cmdline`, 'utf8').startsWith('sleep'), 'the stand-in to enter the namespace');
    execFileSync('ip', ['netns', 'del', ns]);
    expect(existsSync(`/proc/${wg.pid}`)).toBe(true);

    const d = await runCli(['--state', state, 'wan', 'down']);
    expect(d.stderr).toMatch(new RegExp(`^  also stopped, found in the lab's namespaces: (.*; )?${standIn.pid} sleep 60(; .*)?\n$`));
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(new RegExp(`^lab ${journal.tag} removed: [1-9]\\d* processes stopped, [1-9]\\d* namespaces deleted\n$`));
    expect(leftovers(journal.tag, inodes, [standIn.pid!])).toEqual([]);
    expect(readJournal(state)).toBeUndefined();
  });
});
