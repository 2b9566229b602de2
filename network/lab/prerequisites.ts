import { join } from 'node:path';
import { systemRunner, type Runner } from '../exec.js';
import { unavailableError } from '../../lib/i18n/index.js';
import { NETWORK_MESSAGES } from '../messages.js';

/** What the lab needs from the machine: root and the tools. */
export const TOOLS: readonly { bin: string; pkg: string }[] = [
  { bin: 'ip', pkg: 'iproute2' },
  { bin: 'wireguard-go', pkg: 'wireguard-go' },
  { bin: 'wg', pkg: 'wireguard-tools' },
  { bin: 'wg-quick', pkg: 'wireguard-tools' },
  { bin: 'nft', pkg: 'nftables' },
  { bin: 'ping', pkg: 'iputils-ping' },
  { bin: 'timeout', pkg: 'coreutils' },
  { bin: 'bird', pkg: 'bird2' },
  { bin: 'birdc', pkg: 'bird2' },
];


export function requireRootUser(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw unavailableError(NETWORK_MESSAGES, 'lab.needsRoot');
  }
}

export async function requireTools(r: Runner = systemRunner): Promise<void> {
  const missing: string[] = [];
  for (const t of TOOLS) {
    const res = await r.run('sh', ['-c', 'command -v "$0"', t.bin]);
    if (res.code !== 0) missing.push(`${t.bin} (Debian package ${t.pkg})`);
  }
  if (missing.length > 0) {
    throw unavailableError(NETWORK_MESSAGES, 'lab.needsTools', { missing: missing.join(', '), packages: [...new Set(TOOLS.filter((t) => missing.some((m) => m.startsWith(`${t.bin} `))).map((t) => t.pkg))].join(' ') });
  }
}
