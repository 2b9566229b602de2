import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { $, type Shell } from 'zx';
import { alive, stopPid } from './pg/tools.js';
import { unavailableError } from '../lib/i18n/index.js';
import { DR_MESSAGES } from './messages.js';
import { StepFailure } from './engine.js';

/** The stable endpoint applications (and the probe) use; the drill moves it between nodes. */
export interface TrafficSwitch {
  /** Send new connections to `server` only, and cut existing sessions to every other server. */
  route(server: string): Promise<void>;
  /** Send traffic nowhere (fenced) and cut existing sessions. */
  drain(): Promise<void>;
  /** The server currently receiving traffic, if any. */
  current(): Promise<string | undefined>;
}

export interface ProxyServer {
  readonly name: string;
  readonly port: number;
}

export const BACKEND = 'pg';

/**
 * HAProxy configuration: TCP passthrough on loopback. Servers start enabled; `start` puts all but
 * the routed one in maintenance through the runtime API at once (a config-disabled server cannot
 * be fully re-enabled at run time).
 */
export function renderHaproxyConfig(opts: { port: number; adminSocket: string; servers: readonly ProxyServer[] }): string {
  return [
    '# jinbao DR lab endpoint; servers are moved with the runtime API on the admin socket',
    'global',
    `  stats socket ${opts.adminSocket} mode 600 level admin`,
    '  maxconn 200',
    'defaults',
    '  mode tcp',
    '  timeout connect 1s',
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend pg_endpoint',
    `  bind 127.0.0.1:${opts.port}`,
    `  default_backend ${BACKEND}`,
    `backend ${BACKEND}`,
    ...opts.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port}`),
    '',
  ].join('\n');
}

/** Send one command to HAProxy's runtime API and return its answer. */
export function runtimeApi(socketPath: string, command: string, timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let answer = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new StepFailure('step.haproxyTimeout', { socket: socketPath, command, ms: timeoutMs }));
    }, timeoutMs);
    sock.on('connect', () => sock.write(`${command}\n`));
    sock.on('data', (d) => (answer += d.toString()));
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new StepFailure('step.haproxyUnreachable', { socket: socketPath, why: err.message }, { cause: err }));
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(answer.trim());
    });
  });
}

/** A running HAProxy that the lab started, and its runtime API. */
export class HaproxyEndpoint implements TrafficSwitch {
  readonly dir: string;
  readonly port: number;
  readonly servers: readonly ProxyServer[];
  private readonly sh: Shell;

  constructor(opts: { dir: string; port: number; servers: readonly ProxyServer[]; shell?: Shell }) {
    this.dir = opts.dir;
    this.port = opts.port;
    this.servers = opts.servers;
    this.sh = opts.shell ?? $({ quiet: true, verbose: false });
  }

  get adminSocket(): string {
    return join(this.dir, 'admin.sock');
  }
  get pidFile(): string {
    return join(this.dir, 'haproxy.pid');
  }
  get configFile(): string {
    return join(this.dir, 'haproxy.cfg');
  }

  pid(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number.parseInt(readFileSync(this.pidFile, 'utf8').trim(), 10);
    return Number.isFinite(pid) && alive(pid) ? pid : undefined;
  }

  async start(routed: string | undefined): Promise<number> {
    const running = this.pid();
    if (running !== undefined) return running;
    writeFileSync(this.configFile, renderHaproxyConfig({ port: this.port, adminSocket: this.adminSocket, servers: this.servers }));
    const haproxy = await this.sh`command -v haproxy`.nothrow();
    if (haproxy.exitCode !== 0) {
      throw unavailableError(DR_MESSAGES, 'lab.noHaproxy');
    }
    await this.sh`haproxy -D -p ${this.pidFile} -f ${this.configFile}`.timeout('10s');
    const pid = this.pid();
    if (pid === undefined) throw new StepFailure('step.haproxyNoPid', { file: this.pidFile });
    if (routed === undefined) await this.drain();
    else await this.route(routed);
    return pid;
  }

  async stop(): Promise<boolean> {
    const pid = this.pid();
    return pid === undefined ? false : stopPid(pid, 'SIGTERM', 10_000);
  }

  private async command(cmd: string): Promise<void> {
    const answer = await runtimeApi(this.adminSocket, cmd);
    if (answer !== '') throw new StepFailure('step.haproxyRefused', { command: cmd, answer });
  }

  async route(server: string): Promise<void> {
    if (!this.servers.some((s) => s.name === server)) throw new Error(`no server "${server}" behind the endpoint; have ${this.servers.map((s) => s.name).join(', ')}`);
    await this.command(`set server ${BACKEND}/${server} state ready`);
    for (const s of this.servers) {
      if (s.name === server) continue;
      await this.command(`set server ${BACKEND}/${s.name} state maint`);
      await this.command(`shutdown sessions server ${BACKEND}/${s.name}`);
    }
  }

  async drain(): Promise<void> {
    for (const s of this.servers) {
      await this.command(`set server ${BACKEND}/${s.name} state maint`);
      await this.command(`shutdown sessions server ${BACKEND}/${s.name}`);
    }
  }

  async current(): Promise<string | undefined> {
    const state = await runtimeApi(this.adminSocket, `show servers state ${BACKEND}`);
    // Columns: be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...; admin state 0 = not in maintenance.
    for (const line of state.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 7 || cols[1] !== BACKEND) continue;
      if (cols[6] === '0') return cols[3];
    }
    return undefined;
  }
}
