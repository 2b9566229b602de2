import { inputError, jinbaoError, type MessageParams } from '../../lib/i18n/index.js';
import { NETWORK_MESSAGES } from '../messages.js';
import { must, type Runner } from '../exec.js';
import { type LabJournal } from './journal.js';

/** The small helpers every lab step uses: sysctls, batches of `ip` commands, bounded waits, a bounded pool. */
export async function sysctls(r: Runner, ns: string): Promise<void> {
  const set = ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0'];
  await must(r, 'ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...set]);
}

export function nsOf(j: LabJournal, id: string): string {
  const n = j.nodes.find((x) => x.id === id);
  if (!n) throw inputError(NETWORK_MESSAGES, 'lab.notInLab', { id, tag: j.tag, nodes: j.nodes.map((x) => x.id).join(', ') });
  return n.ns;
}

/** Run `ip` commands in a namespace as one batch (they are built from the plan: addresses, names, metrics). */
export async function batch(r: Runner, ns: string, commands: readonly string[]): Promise<void> {
  if (commands.length > 0) await must(r, 'ip', ['-n', ns, '-batch', '-'], { input: commands.join('\n') + '\n' });
}

/** Wait (bounded by `ms`) until `check` holds; `what` is asked for only when the wait times out. */
export async function waitFor(check: () => boolean, ms: number, what: () => MessageParams[string]): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw jinbaoError(NETWORK_MESSAGES, 'labDaemon.timedOut', { ms, what: what() }, { exitCode: 1 });
    await new Promise((res) => setTimeout(res, 20));
  }
}

export async function netnsNames(r: Runner): Promise<string[]> {
  return (await must(r, 'ip', ['netns', 'list'])).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

/**
 * Run `fn` over `items`, `width` at a time. After a failure no new item starts, and the promise
 * settles only once every item in flight has: a caller that cleans up after the failure does not
 * race work still creating things.
 */
export async function pool<T, R>(items: readonly T[], width: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (!failed && next < items.length) {
        const i = next++;
        try {
          out[i] = await fn(items[i]!);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }),
  );
  const rejected = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
  if (rejected) throw rejected.reason;
  return out;
}

