import { connect } from 'node:net';
import { jinbaoError } from '../../lib/i18n/index.js';
import { NETWORK_MESSAGES } from '../messages.js';

/**
 * The lab's daemons answer on Unix sockets that are reachable from any namespace: wireguard-go's
 * configuration protocol (`/var/run/wireguard/IFACE.sock`, the one `wg` speaks) and BIRD's control
 * socket (the one `birdc` speaks). Talking to them from here costs no process: on a busy machine a
 * `wg setconf` or `birdc` per interface and poll is seconds of process starts.
 */

/** Send `request` and collect the answer until `complete` says it is whole; bounded by `timeoutMs`. */
function converse(socket: string, request: string, complete: (answer: string) => boolean, timeoutMs: number, greeting = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let answer = '';
    let greeted = !greeting;
    const timer = setTimeout(() => finish(jinbaoError(NETWORK_MESSAGES, 'labDaemon.noAnswer', { socket, ms: timeoutMs }, { exitCode: 1 })), timeoutMs);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      conn.destroy();
      if (err) reject(err);
      else resolve(answer);
    };
    conn.on('error', (err) => finish(err));
    if (!greeting) conn.write(request);
    conn.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if (!greeted) {
        // BIRD greets first ("0001 BIRD 2.0.12 ready."); the request goes after it.
        const eol = answer.indexOf('\n');
        if (eol < 0) return;
        answer = answer.slice(eol + 1);
        greeted = true;
        conn.write(request);
      }
      if (complete(answer)) finish();
    });
    conn.on('end', () => finish(complete(answer) ? undefined : jinbaoError(NETWORK_MESSAGES, 'labDaemon.closed', { socket }, { exitCode: 1 })));
  });
}

/** A wg-quick file stripped of wg-quick's own keys (see `stripWgQuick`), as wireguard-go's `set` operation: what `wg setconf` sends. */
export function uapiSetText(setconf: string): string {
  const hex = (b64: string) => Buffer.from(b64, 'base64').toString('hex');
  const out = ['set=1', 'replace_peers=true'];
  for (const line of setconf.split('\n')) {
    const m = /^(\w+)\s*=\s*(.*)$/.exec(line.trim());
    if (line.trim() === '[Peer]') continue;
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    switch (key.toLowerCase()) {
      case 'privatekey':
        out.push(`private_key=${hex(value)}`);
        break;
      case 'listenport':
        out.push(`listen_port=${value}`);
        break;
      case 'publickey':
        out.push(`public_key=${hex(value)}`, 'replace_allowed_ips=true');
        break;
      case 'endpoint':
        out.push(`endpoint=${value}`);
        break;
      case 'allowedips':
        for (const ip of value.split(',').map((s) => s.trim()).filter(Boolean)) out.push(`allowed_ip=${ip}`);
        break;
      case 'persistentkeepalive':
        out.push(`persistent_keepalive_interval=${value}`);
        break;
      default:
        throw jinbaoError(NETWORK_MESSAGES, 'labDaemon.unknownKey', { key, line: line.trim() }, { exitCode: 1 });
    }
  }
  return out.join('\n') + '\n\n';
}

/** Configure a wireguard-go interface through its control socket; its `errno=N` answer must be 0. */
export async function uapiSet(socket: string, setconf: string, timeoutMs = 10_000): Promise<void> {
  const answer = await converse(socket, uapiSetText(setconf), (a) => a.includes('\n\n'), timeoutMs);
  const errno = /errno=(-?\d+)/.exec(answer)?.[1];
  if (errno !== '0') throw jinbaoError(NETWORK_MESSAGES, 'labDaemon.wgRefused', { socket, errno: errno ?? 'none' }, { exitCode: 1 });
}

/** A wireguard-go interface's state (`get=1`): one record per key, peers in order. */
export async function uapiGet(socket: string, timeoutMs = 10_000): Promise<string> {
  return converse(socket, 'get=1\n\n', (a) => a.includes('\n\n'), timeoutMs);
}

/** Whether every peer of an interface has completed a handshake (`last_handshake_time_sec` is set). */
export function allHandshaken(state: string): boolean {
  const times = [...state.matchAll(/^last_handshake_time_sec=(\d+)$/gm)].map((m) => Number(m[1]));
  return times.length > 0 && times.every((t) => t > 0);
}

/**
 * Ask a BIRD daemon over its control socket, as `birdc` would; its answer as `birdc` prints it.
 * Reply lines are `NNNN-text` or ` text` (continued) and end with a line `NNNN text`; codes 8xxx and 9xxx are errors.
 */
export async function birdAsk(socket: string, command: string, timeoutMs = 10_000): Promise<string> {
  const answer = await converse(socket, `${command}\n`, (a) => /(^|\n)\d{4} [^\n]*\n/.test(a), timeoutMs, true);
  const lines = answer.split('\n').filter(Boolean);
  const last = lines[lines.length - 1]!;
  if (/^[89]\d{3} /.test(last)) throw jinbaoError(NETWORK_MESSAGES, 'labDaemon.birdRefused', { socket, command, answer: last.slice(5) }, { exitCode: 1 });
  return lines.map((l) => (/^\d{4}[- ]/.test(l) ? l.slice(5) : l.startsWith(' ') ? l.slice(1) : l)).join('\n') + '\n';
}
