import type { NodeName, ReplicationMode } from '../model.js';

/** Where a lab node lives and how it is reached. */
export interface NodeLayout {
  readonly name: NodeName;
  readonly port: number;
  readonly dataDir: string;
  readonly socketDir: string;
  /** The name the node reports as a standby (pg_stat_replication.application_name). */
  readonly applicationName: string;
}

export interface TlsFiles {
  readonly caFile: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

export const REPLICATION_USER = 'replicator';

export type NodeRole = { readonly kind: 'primary'; readonly syncStandby?: string } | { readonly kind: 'standby'; readonly upstream: NodeLayout };

/**
 * The whole postgresql.conf of a lab node for its role. Written after initdb, base backup and
 * rewind alike (pg_rewind copies the source's files), so a node's port and role never leak from
 * its peer.
 */
export function renderPostgresConf(node: NodeLayout, role: NodeRole, tls: TlsFiles): string {
  const lines = [
    `# jinbao DR lab node "${node.name}" (${role.kind}); rewritten by jinbao on every role change`,
    `listen_addresses = '127.0.0.1'`,
    `port = ${node.port}`,
    `unix_socket_directories = ${quote(node.socketDir)}`,
    `max_connections = 40`,
    `shared_buffers = '32MB'`,
    `wal_level = replica`,
    `wal_log_hints = on`,
    `max_wal_senders = 5`,
    `wal_keep_size = '256MB'`,
    `hot_standby = on`,
    `wal_receiver_status_interval = '1s'`,
    `wal_retrieve_retry_interval = '200ms'`,
    `ssl = on`,
    `ssl_cert_file = ${quote(tls.serverCert)}`,
    `ssl_key_file = ${quote(tls.serverKey)}`,
    `ssl_ca_file = ${quote(tls.caFile)}`,
    `synchronous_commit = on`,
  ];
  if (role.kind === 'primary') {
    lines.push(`synchronous_standby_names = ${quote(role.syncStandby ? `"${role.syncStandby}"` : '')}`);
  } else {
    lines.push(`synchronous_standby_names = ''`, `primary_conninfo = ${quote(replicationConninfo(node, role.upstream, tls))}`, `recovery_target_timeline = 'latest'`);
  }
  return lines.join('\n') + '\n';
}

/** Replication runs over TLS with client-certificate authentication only. */
export function renderHba(): string {
  return [
    '# jinbao DR lab: administration over the private socket, probe traffic on loopback, replication only over mTLS',
    'local   all          all                      trust',
    `hostssl replication  ${REPLICATION_USER}  127.0.0.1/32  cert`,
    'host    replication  all          127.0.0.1/32  reject',
    'host    all          all          127.0.0.1/32  trust',
    '',
  ].join('\n');
}

export function replicationConninfo(self: NodeLayout, upstream: NodeLayout, tls: TlsFiles): string {
  return conninfo({
    host: '127.0.0.1',
    port: String(upstream.port),
    user: REPLICATION_USER,
    application_name: self.applicationName,
    sslmode: 'verify-full',
    sslrootcert: tls.caFile,
    sslcert: tls.clientCert,
    sslkey: tls.clientKey,
    connect_timeout: '2',
  });
}

/** libpq key=value connection string with values quoted as libpq requires. */
export function conninfo(params: Readonly<Record<string, string>>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${/^[A-Za-z0-9_./:-]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`}`)
    .join(' ');
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** synchronous_standby_names for the replication mode and the standby's name. */
export function syncStandbyFor(mode: ReplicationMode, standby: NodeLayout): string | undefined {
  return mode === 'sync' ? standby.applicationName : undefined;
}
