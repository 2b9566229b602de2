import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isNode, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { InputError } from '../../lib/errors.js';
import { inputError } from '../../lib/i18n/index.js';
import { DR_MESSAGES } from '../messages.js';
import { formatProblem, type Problem } from '../../fabric/problems.js';
import { ConnectionStringError, hostAndPort, pgConnection, type PgConnection } from '../../lib/pg-conn.js';
import type { DrillRequest } from '../model.js';

/**
 * The pair file of target `pg`: an existing primary/standby pair given by connection strings, and
 * the operator's own commands for what SQL cannot do (kill, stop, start, fence a server; move the
 * endpoint; rejoin a rewound node). Commands are argument lists, never shell text: each argument
 * is passed as is after its placeholders are filled in.
 */

/** What a command may refer to; each is filled in per call. */
export const PLACEHOLDERS = {
  '{site}': 'the drilled site id',
  '{node}': 'the node the command acts on (a key of nodes)',
  '{host}': "that node's host, from its connection string",
  '{port}': "that node's port, from its connection string",
  '{peer}': 'the other node',
  '{peerHost}': "the other node's host",
  '{peerPort}': "the other node's port",
  '{from}': 'endOfWal only: the WAL position to read forward from (e.g. 0/3000148)',
} as const;

/** Operator commands: which drill step runs each, and how many times a failed run is retried. */
export const COMMANDS = {
  crash: { usedBy: 'failover: inject-failure (kill the primary as a dead machine would)', retries: 0, requiredFor: 'failover' },
  stop: { usedBy: 'switchover: fence-old-primary (clean shutdown; the primary sends all its WAL first)', retries: 0, requiredFor: 'switchover' },
  start: { usedBy: 'rollback before promotion: restart the old primary', retries: 1, requiredFor: 'always' },
  fence: { usedBy: 'fence-old-primary: make the old primary unable to run as a primary again', retries: 2, requiredFor: 'always' },
  unfence: { usedBy: 'rollback before promotion: lift the fence', retries: 2, requiredFor: 'always' },
  route: { usedBy: 'switch-traffic: send the endpoint to {node} only', retries: 2, requiredFor: 'always' },
  drain: { usedBy: 'fence-old-primary: send the endpoint nowhere', retries: 2, requiredFor: 'always' },
  rejoin: { usedBy: 'failback: rewind {node} into a streaming standby of {peer} and start it', retries: 0, requiredFor: 'failback' },
  endOfWal: { usedBy: "measure-rpo: print the stopped old primary's end of WAL (an LSN, or pg_waldump's output)", retries: 1, requiredFor: 'never' },
} as const;
export type CommandName = keyof typeof COMMANDS;

const argv = z.array(z.string().min(1, 'an empty argument')).min(1, 'want at least the program to run');
const commandSchema = z.union([
  argv,
  z.strictObject({
    run: argv,
    timeoutSeconds: z.number().positive().max(3600).optional(),
    retries: z.number().int().min(0).max(10).optional(),
  }),
]);

const nodeName = z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'want a short lower-case name such as "dc" or "dr"');
const nodeSchema = z.strictObject({
  connection: z.string().min(1),
  applicationName: z.string().min(1).optional(),
});

export const pairFileSchema = z.strictObject({
  version: z.literal(1).optional(),
  site: z.string().optional(),
  endpoint: z.string().min(1),
  nodes: z.record(nodeName, nodeSchema).refine((n) => Object.keys(n).length === 2, 'want exactly two nodes: the primary and its standby'),
  replication: z.strictObject({ manage: z.boolean().optional() }).optional(),
  tls: z
    .strictObject({
      ca: z.string().min(1).optional(),
      required: z.boolean().optional(),
      files: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  commands: z.strictObject(Object.fromEntries(Object.keys(COMMANDS).map((k) => [k, commandSchema.optional()])) as Record<CommandName, z.ZodOptional<typeof commandSchema>>),
});
export type PairFileInput = z.infer<typeof pairFileSchema>;

export interface OperatorCommand {
  readonly argv: readonly string[];
  readonly timeoutMs: number;
  readonly retries: number;
}

export interface PairNodeConfig {
  readonly name: string;
  readonly connection: string;
  readonly host: string;
  readonly port: number;
  readonly applicationName?: string;
  /** The connection string read as libpq reads it (TLS verified against tls.ca when the string names no root certificate). */
  readonly conn: PgConnection;
}

export interface PairConfig {
  readonly source: string;
  readonly site?: string;
  readonly endpoint: string;
  readonly endpointConn: PgConnection;
  readonly nodes: readonly [PairNodeConfig, PairNodeConfig];
  readonly manageReplication: boolean;
  readonly tls: { readonly caFile?: string; readonly required: boolean; readonly files: readonly string[] };
  readonly commands: Partial<Record<CommandName, OperatorCommand>>;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Read and check a pair file; every problem is reported at once with its line and column. */
export function readPairFile(file: string): PairConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'ENOENT' ? inputError(DR_MESSAGES, 'pair.noSuchFile', { file }, { cause: err }) : inputError(DR_MESSAGES, 'pair.cannotRead', { file, reason: (err as Error).message }, { cause: err });
  }
  return parsePairText(text, file);
}

export function parsePairText(text: string, source: string): PairConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const where = (path: readonly (string | number)[]): string | undefined => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return `${source}:${pos.line}:${pos.col}`;
      }
    }
    return undefined;
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw pairError(source, [{ path: [], location: `${source}:${pos.line}:${pos.col}`, message: `YAML syntax error: ${e.message.split('\n')[0]}` }]);
  }
  const parsed = pairFileSchema.safeParse(doc.toJS());
  const problems: Problem[] = [];
  const add = (path: (string | number)[], message: string, at: (string | number)[] = path) => {
    const location = where(at);
    problems.push({ path, message, ...(location ? { location } : {}) });
  };
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      // An unknown field is located at itself, not at the object holding it.
      const keys = issue.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys : undefined;
      add(path, describe(issue), keys?.length ? [...path, keys[0]!] : path);
    }
    throw pairError(source, problems);
  }
  const input = parsed.data;
  const base = dirname(resolve(source));
  const file = (f: string) => (isAbsolute(f) ? f : resolve(base, f));
  const trustAnchor = input.tls?.ca ? { file: file(input.tls.ca), from: `tls.ca of ${source}` } : undefined;
  /** The string read as libpq reads it; its problems join the file's, located at the field. */
  const connection = (path: string[], text: string): PgConnection | undefined => {
    try {
      return pgConnection(text, { source: `${path.join('.')} of ${source}`, ...(trustAnchor ? { trustAnchor } : {}) });
    } catch (err) {
      if (!(err instanceof ConnectionStringError)) throw err;
      add(path, err.problem);
      return undefined;
    }
  };
  const nodes = Object.entries(input.nodes).map(([name, n]) => {
    const target = hostAndPort(n.connection);
    if ('error' in target) {
      add(['nodes', name, 'connection'], target.error);
      return undefined;
    }
    const conn = connection(['nodes', name, 'connection'], n.connection);
    return conn && { name, connection: n.connection, ...target, ...(n.applicationName ? { applicationName: n.applicationName } : {}), conn };
  });
  const endpoint = hostAndPort(input.endpoint);
  const endpointConn = 'error' in endpoint ? add(['endpoint'], endpoint.error) : connection(['endpoint'], input.endpoint);
  const commands: Partial<Record<CommandName, OperatorCommand>> = {};
  for (const [name, c] of Object.entries(input.commands) as [CommandName, z.infer<typeof commandSchema> | undefined][]) {
    if (c === undefined) continue;
    const spec: { run: string[]; timeoutSeconds?: number; retries?: number } = Array.isArray(c) ? { run: c } : c;
    spec.run.forEach((arg, i) => {
      for (const m of arg.matchAll(/\{[A-Za-z]+\}/g)) {
        const known = m[0] in PLACEHOLDERS && (m[0] !== '{from}' || name === 'endOfWal');
        if (!known) add(['commands', name, ...(Array.isArray(c) ? [] : ['run']), i], `unknown placeholder ${m[0]}; want one of ${Object.keys(PLACEHOLDERS).filter((p) => p !== '{from}' || name === 'endOfWal').join(' ')}`);
      }
    });
    commands[name] = { argv: spec.run, timeoutMs: spec.timeoutSeconds === undefined ? DEFAULT_TIMEOUT_MS : spec.timeoutSeconds * 1000, retries: spec.retries ?? COMMANDS[name].retries };
  }
  for (const name of Object.keys(COMMANDS) as CommandName[]) {
    if (COMMANDS[name].requiredFor === 'always' && !commands[name]) add(['commands'], `"${name}" is required (${COMMANDS[name].usedBy})`);
  }
  if (problems.length > 0 || !endpointConn) throw pairError(source, problems);
  return {
    source,
    ...(input.site === undefined ? {} : { site: input.site }),
    endpoint: input.endpoint,
    endpointConn,
    nodes: nodes as [PairNodeConfig, PairNodeConfig],
    manageReplication: input.replication?.manage ?? false,
    tls: { ...(input.tls?.ca ? { caFile: file(input.tls.ca) } : {}), required: input.tls?.required ?? true, files: (input.tls?.files ?? []).map(file) },
    commands,
  };
}

/** Problems with using this pair file for this drill (a missing command, another site's file). */
export function pairProblemsFor(config: PairConfig, request: Pick<DrillRequest, 'site' | 'scenario' | 'failback'>): string[] {
  const problems: string[] = [];
  if (config.site !== undefined && config.site !== request.site) problems.push(`site: the file is for site ${config.site}, the drill is for ${request.site}`);
  const need = (name: CommandName, why: string) => {
    if (!config.commands[name]) problems.push(`commands.${name} is required ${why} (${COMMANDS[name].usedBy})`);
  };
  if (request.scenario === 'failover') need('crash', 'for --scenario failover');
  if (request.scenario === 'switchover') need('stop', 'for --scenario switchover');
  if (request.failback) need('rejoin', 'for failback (or pass --no-failback to leave the old primary fenced)');
  return problems;
}

/** Fill a command's placeholders; each argument stays one argument. */
export function fillPlaceholders(args: readonly string[], values: Readonly<Partial<Record<keyof typeof PLACEHOLDERS, string>>>): string[] {
  return args.map((a) =>
    a.replace(/\{[A-Za-z]+\}/g, (m) => {
      const v = values[m as keyof typeof PLACEHOLDERS];
      if (v === undefined) throw new Error(`placeholder ${m} has no value for this command`);
      return v;
    }),
  );
}

function describe(issue: { code: string; message: string; keys?: string[] }): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; see docs/dr.md for the pair file`;
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return 'is required';
  return issue.message;
}

function pairError(source: string, problems: readonly Problem[]): InputError {
  const n = problems.length;
  return inputError(DR_MESSAGES, n === 1 ? 'pairFile.invalidOne' : 'pairFile.invalidMany', { source, n }, { details: problems.map(formatProblem) });
}
