import type { Fabric } from '../fabric/index.js';
import type { Conflict, Operator, Role } from './model.js';

/**
 * What each role may do through the service, by command (the same command lines as the local
 * CLI), least privilege first (MLPS 8.1.4.2 d): the audit administrator reads and exports the
 * audit log and the reports and nothing else (8.1.5.2), the security administrator holds the PKI
 * (8.1.5.3), the system administrator the fabric (8.1.5.1). A command not listed is refused to
 * everyone in client mode.
 */
const READ = ['inventory show', 'inventory validate', 'kpi', 'pki list', 'pki show', 'pki cas', 'operator list', 'operator show', 'state status', 'approvals list', 'approvals show', 'approvals policy'];
/** Deciding on dual-controlled requests; which requests an operator may decide is the request's rule (operators/approvals.ts). */
const APPROVALS = ['approvals request', 'approvals approve', 'approvals reject'];
export const PERMISSIONS: Readonly<Record<Role, readonly string[]>> = {
  'security-admin': [...READ, 'pki issue', 'pki revoke', 'pki crl', 'acme eab create', 'acme eab list', 'operator add', 'operator suspend', 'operator resume', 'operator remove', 'operator unlock', 'operator password', 'pki replace-ca', 'pki rollover-ca', 'seal', ...APPROVALS],
  'system-admin': [...READ, 'ipam', 'manifests', 'synth', 'plan', 'apply', 'wan render', 'wan keys', 'wan import-key', 'wan check'],
  'audit-admin': ['audit verify', 'audit export', 'comply', 'report', 'kpi', 'state status', 'operator list', 'operator show', 'approvals list', 'approvals show', 'approvals policy'],
  'dr-coordinator': [...READ, 'drill plan', 'drill run', 'drill abort', 'drill list', 'drill report', 'drill verify-report'],
  viewer: READ,
};

/** Global options the service decides (its own state and inventory), and options naming files on the client's machine. */
const REFUSED_OPTIONS = ['--state', '--inventory', '--out', '--csr', '--key', '--pair', '--kubeconfig', '--pdf', '--dr-pair', '--file'];
/** Global options a client may pass, with whether they take a value. */
const GLOBAL: Readonly<Record<string, boolean>> = { '--lang': true, '--debug': false, '--state': true, '--inventory': true };

export interface Authorized {
  readonly command: string;
  readonly site?: string;
}

/** The command path of a command line: its first one or two words after the global options. */
export function commandOf(argv: readonly string[]): { command: string; rest: readonly string[] } {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('--')) {
    const name = argv[i]!.split('=')[0]!;
    i += GLOBAL[name] && !argv[i]!.includes('=') ? 2 : 1;
  }
  const words: string[] = [];
  for (let j = i; j < argv.length && words.length < 3 && !argv[j]!.startsWith('-'); j++) words.push(argv[j]!);
  // the longest known command path the words start with (`pki revoke`, not the serial after it)
  const known = Object.values(PERMISSIONS).flat();
  for (let n = words.length; n > 0; n--) {
    const path = words.slice(0, n).join(' ');
    if (known.includes(path)) return { command: path, rest: argv.slice(i) };
  }
  return { command: words.slice(0, 2).join(' '), rest: argv.slice(i) };
}

function optionValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i]!.startsWith(`${name}=`)) return argv[i]!.slice(name.length + 1);
  }
  return undefined;
}

/** The province a site belongs to (itself for a province); undefined for the ministry. */
function provinceOf(fabric: Fabric, id: string): string | undefined {
  let site = fabric.findSite(id);
  while (site && site.tier !== 'province') site = site.parent ? fabric.findSite(site.parent) : undefined;
  return site?.id;
}

/**
 * Whether `operator` may run `argv` through the service: active, the command among its role's,
 * no option naming the service's state or a local file, and for a provincial operator a `--site`
 * (or `--scope`) inside its province. The refusal says why (operators/locales `permission.*`).
 */
export function authorize(fabric: Fabric, operator: Operator, argv: readonly string[]): { ok: Authorized } | { refused: Conflict } {
  const { command } = commandOf(argv);
  const who = { id: operator.id, role: operator.role };
  if (operator.status !== 'active') return { refused: { key: 'permission.inactive', params: { ...who, status: operator.status } } };
  const refusedOption = argv.find((a) => REFUSED_OPTIONS.includes(a.split('=')[0]!));
  if (refusedOption) return { refused: { key: 'permission.option', params: { option: refusedOption.split('=')[0]! } } };

  const allowed = PERMISSIONS[operator.role];
  const match = allowed.find((c) => command === c);
  if (!match) return { refused: { key: 'permission.command', params: { ...who, command: command || '(none)' } } };
  // a provincial CA (province-440000-staff) lies in its province
  const site = optionValue(argv, '--site') ?? optionValue(argv, '--scope') ?? /^province-(\d{6})-/.exec(optionValue(argv, '--ca') ?? '')?.[1];
  // approvals name a request, whose own scope decides (operators/approvals.ts); sealing is national
  if (match === 'seal' && operator.scope !== null) return { refused: { key: 'permission.sealNational', params: { ...who, scope: operator.scope } } };
  if (operator.scope !== null && !match.startsWith('approvals ')) {
    if (site === undefined) return { refused: { key: 'permission.needsSite', params: { ...who, scope: operator.scope, command: match } } };
    if (provinceOf(fabric, site) !== operator.scope) return { refused: { key: 'permission.scope', params: { ...who, scope: operator.scope, site } } };
  }
  return { ok: { command: match, ...(site !== undefined ? { site } : {}) } };
}
