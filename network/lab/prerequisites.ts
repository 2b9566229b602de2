import { join } from 'node:path';
import { UnavailableError } from '../../lib/errors.js';
import { systemRunner, type Runner } from '../exec.js';

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
    throw new UnavailableError('the WAN lab needs root: it creates network namespaces, veth pairs and TUN devices; run it as root (e.g. sudo jinbao wan up --lab)');
  }
}

export async function requireTools(r: Runner = systemRunner): Promise<void> {
  const missing: string[] = [];
  for (const t of TOOLS) {
    const res = await r.run('sh', ['-c', 'command -v "$0"', t.bin]);
    if (res.code !== 0) missing.push(`${t.bin} (Debian package ${t.pkg})`);
  }
  if (missing.length > 0) {
    throw new UnavailableError(`the WAN lab needs ${missing.join(', ')}; install with: apt-get install --no-install-recommends ${[...new Set(TOOLS.filter((t) => missing.some((m) => m.startsWith(`${t.bin} `))).map((t) => t.pkg))].join(' ')}`);
  }
}
