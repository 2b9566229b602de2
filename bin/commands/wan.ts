import type { Command } from 'commander';
import { Option } from 'commander';
import { ExitCode } from '../../lib/errors.js';
import { parseInteger } from '../../lib/options.js';
import { json, table } from '../../lib/output.js';
import { routingTable } from '../../network/index.js';
import { importWanKey, renderWan, wanCheck, wanCut, wanKeys, wanKill, wanLabDown, wanLabUp, wanRotate } from '../../network/operations.js';
import type { Context } from '../context.js';
import type { Runner } from '../runner.js';

export function register(program: Command, run: Runner): void {
  const wan = program
    .command('wan')
    .description('the private WAN overlay: WireGuard hub-and-spoke from the inventory, its ACLs, and a real lab in network namespaces')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ jinbao wan render --out /tmp/wan                configs for every node (no private keys)\n' +
        '  $ jinbao wan render --site 440000 --out /tmp/wan  one node\n' +
        '  $ sudo jinbao wan up --lab --provinces 2 --prefectures 2\n' +
        '  $ sudo jinbao wan check                           allowed/denied matrix, latency, handshakes\n' +
        '  $ sudo jinbao wan cut --site 130000               cut a province\'s primary uplink (failover)\n' +
        '  $ sudo jinbao wan kill --site 130000              lose a province hub (its DR node carries the province)\n' +
        '  $ sudo jinbao wan rotate --site 130000            new keys for one node, peers updated\n' +
        '  $ sudo jinbao wan down\n' +
        'Docs: docs/network.md',
    );

  wan
    .command('render')
    .description('write wg-quick configs, nftables rules and routing daemon (BIRD) configs per node')
    .option('--site <id>', 'only this node (site code, dr-<site>, or county code)')
    .option('--out <dir>', 'output folder', 'jinbao.out/wan')
    .option('--with-private-keys', 'put private keys into the configs (files mode 0600); default: a PostUp loads /etc/jinbao/wan/private.key')
    .option('--json', 'machine-readable summary')
    .addHelpText('after', '\nThe output is accepted by the real tools: wg-quick strip <file> | wg setconf <iface> /dev/stdin\n\nExample:\n  $ jinbao wan render --site 000000 --out /tmp/wan && cat /tmp/wan/000000/wg-down.conf')
    .action(run<RenderOpts>(render));

  wan
    .command('keys')
    .description('list node public keys and their generation')
    .option('--site <id>', 'one node')
    .option('--json', 'machine-readable output')
    .action(run<{ site?: string; json?: boolean }>(keys));

  wan
    .command('import-key')
    .description('record the public key of a node whose private key is kept elsewhere')
    .requiredOption('--site <id>', 'the node')
    .requiredOption('--public-key <key>', 'its WireGuard public key (base64, as printed by "wg pubkey")')
    .addHelpText('after', '\nExample:\n  $ jinbao wan import-key --site 440100 --public-key "$(wg pubkey < key)"')
    .action(run<{ site: string; publicKey: string }>(importKey));

  wan
    .command('up')
    .description('bring a slice of the overlay up for real in network namespaces (root)')
    .requiredOption('--lab', 'a lab on this machine (the only mode)')
    .addOption(new Option('--provinces <n>', 'provinces in the lab').default('2'))
    .addOption(new Option('--prefectures <n>', 'prefectures per province').default('2'))
    .addOption(new Option('--counties <n>', 'county spokes per prefecture').default('0'))
    .option('--json', 'machine-readable summary')
    .addHelpText(
      'after',
      '\nThe ministry core and its DR center are always in the lab, and so is each chosen province\'s DR node when it has one.\n' +
        'Every name it creates starts with its tag (jb....).\n\n' +
        'Examples:\n  $ sudo jinbao wan up --lab --provinces 4 --prefectures 3\n' +
        '  $ sudo jinbao wan up --lab --provinces 1 --prefectures 2 --counties 1   then: wan cut --site <prefecture> fails it over to the province DR node',
    )
    .action(run<{ lab: boolean; provinces: string; prefectures: string; counties: string; json?: boolean }>(up));

  wan
    .command('check')
    .description('connectivity matrix of the lab: every allowed pair connects, every denied pair is blocked; latency and handshake age per link; each router\'s neighbours, BFD sessions and routes')
    .option('--last', 'show the last recorded check instead of probing')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExit code 0 when every pair behaves as the policy says and every link is up, 3 otherwise (also with --last).\n\nExamples:\n  $ sudo jinbao wan check\n  $ jinbao wan check --last --json')
    .action(run<{ json?: boolean; last?: boolean }>(check));

  wan
    .command('cut')
    .description("cut (or --restore) the underlay line of a node's uplink in the lab, to watch the failover")
    .requiredOption('--site <id>', 'the node whose uplink is cut: a province (its core line) or a prefecture (its province-hub line)')
    .addOption(new Option('--uplink <which>', 'which uplink').choices(['primary', 'secondary']).default('primary'))
    .option('--restore', 'put the line back')
    .action(run<{ site: string; uplink: 'primary' | 'secondary'; restore?: boolean }>(cut));

  wan
    .command('kill')
    .description('stop a whole lab node (every process in its namespace: its WireGuard interfaces and routing daemon), or --restore it')
    .requiredOption('--site <id>', 'the node: a province hub (its prefectures fail over to the province DR node), or any other node')
    .option('--restore', 'start the node again from its rendered files')
    .addHelpText('after', '\nExamples:\n  $ sudo jinbao wan kill --site 130000             the province hub is lost; its prefectures go through dr-130000\n  $ sudo jinbao wan kill --site 130000 --restore')
    .action(run<{ site: string; restore?: boolean }>(kill));

  wan
    .command('rotate')
    .description("rotate one node's keys and update its peers (in the lab too when it is up)")
    .requiredOption('--site <id>', 'the node')
    .option('--json', 'machine-readable output')
    .action(run<{ site: string; json?: boolean }>(rotate));

  wan
    .command('down')
    .description('remove everything the lab created (namespaces, interfaces, processes), also after a crash')
    .option('--json', 'machine-readable output: every process stopped, with why it belonged to the lab and the signal it needed')
    .addHelpText(
      'after',
      '\nProcesses belong to the lab when they name one of its interfaces or namespaces, live in one of its\n' +
        'namespaces (also one deleted by hand while they run), or descend from such a process; nothing else is signalled.\n\n' +
        'Examples:\n  $ sudo jinbao wan down\n  $ sudo jinbao wan down --json | jq \'.stopped[] | select(.why != "named")\'',
    )
    .action(run<{ json?: boolean }>(down));
}

interface RenderOpts {
  site?: string;
  out: string;
  withPrivateKeys?: boolean;
  json?: boolean;
}

async function render(ctx: Context, opts: RenderOpts): Promise<void> {
  const r = await renderWan(ctx, ctx.fabric(), { outDir: opts.out, withPrivateKeys: opts.withPrivateKeys === true, inventorySource: ctx.inventorySource, ...(opts.site !== undefined ? { site: opts.site } : {}) });
  if (opts.json) {
    ctx.out(json({ out: r.out, files: r.files, seconds: r.seconds, privateKeys: opts.withPrivateKeys === true, ...r.summary }));
    return;
  }
  const s = r.summary;
  ctx.out(`${ctx.t('wan.rendered', { files: r.files, out: r.out, seconds: r.seconds.toFixed(2), nodes: s.nodes, hubs: s.hubs, interfaces: s.interfaces, peers: s.peers, rules: s.firewallRules, routers: s.routers })}\n`);
  ctx.out(`${opts.withPrivateKeys ? ctx.t('wan.privateKeysWritten') : ctx.t('wan.noPrivateKeys')}\n`);
}

async function keys(ctx: Context, opts: { site?: string; json?: boolean }): Promise<void> {
  const view = await wanKeys(ctx, ctx.fabric(), { inventorySource: ctx.inventorySource, ...(opts.site !== undefined ? { site: opts.site } : {}) });
  if (opts.json) {
    ctx.out(json({ keys: view }));
    return;
  }
  ctx.out(table(view, [
    { header: ctx.t('wan.col.node'), value: (k) => k.node },
    { header: ctx.t('wan.col.publicKey'), value: (k) => k.publicKey },
    { header: ctx.t('wan.col.generation'), value: (k) => k.generation, align: 'right' },
    { header: ctx.t('wan.col.privateKey'), value: (k) => (k.privateKeyHeld ? ctx.t('wan.keyInStore') : ctx.t('wan.keyElsewhere')) },
  ]));
}

async function importKey(ctx: Context, opts: { site: string; publicKey: string }): Promise<void> {
  const k = await importWanKey(ctx, ctx.fabric(), { site: opts.site, publicKey: opts.publicKey, inventorySource: ctx.inventorySource });
  ctx.out(`${ctx.t('wan.keyImported', { node: k.node, generation: k.generation })}\n`);
}

async function up(ctx: Context, opts: { provinces: string; prefectures: string; counties: string; json?: boolean }): Promise<void> {
  const size = {
    provinces: parseInteger('--provinces', opts.provinces, { min: 1 }),
    prefectures: parseInteger('--prefectures', opts.prefectures, { min: 1 }),
    counties: parseInteger('--counties', opts.counties, { min: 0 }),
  };
  const { ids, result } = await wanLabUp(ctx, ctx.fabric(), size, (l) => ctx.err(`${l}\n`), ctx.lang);
  if (opts.json) {
    ctx.out(json({ tag: result.journal.tag, nodes: ids, namespaces: result.journal.namespaces, processes: result.journal.processes.length, seconds: result.seconds }));
    return;
  }
  ctx.out(`${ctx.t('wan.labUp', { tag: result.journal.tag, seconds: result.seconds.toFixed(1), count: ids.length, nodes: ids.join(', '), processes: result.journal.processes.length })}\n`);
  ctx.out(`${ctx.t('wan.labNext')}\n`);
}

/** A connectivity matrix that differs from the policy, or a link down, is a failed check (exit 3). */
async function check(ctx: Context, opts: { json?: boolean; last?: boolean }): Promise<number> {
  const { result, failed } = await wanCheck(ctx, ctx.fabric(), { last: opts.last === true });
  const exit = failed ? ExitCode.complianceFailed : ExitCode.ok;
  if (opts.json) {
    ctx.out(json(result));
    return exit;
  }
  ctx.out(`${ctx.t('wan.checkHead', { tag: result.tag, at: result.checkedAt })}\n\n${ctx.t('wan.links')}\n`);
  ctx.out(table(result.links, [
    { header: ctx.t('wan.col.hub'), value: (l) => l.hub },
    { header: ctx.t('wan.col.spoke'), value: (l) => l.spoke },
    { header: ctx.t('wan.col.kind'), value: (l) => ctx.t(`wan.uplink.${l.kind}`, { defaultValue: l.kind }) },
    { header: ctx.t('wan.col.up'), value: (l) => (l.up ? ctx.t('wan.linkUp') : ctx.t('wan.linkDown')) },
    { header: ctx.t('wan.col.latency'), value: (l) => l.latencyMs?.toFixed(2), align: 'right' },
    { header: ctx.t('wan.col.handshake'), value: (l) => l.handshakeAgeSeconds, align: 'right' },
  ]));
  if (result.routing) ctx.out(`\n${ctx.t('wan.routing')}\n${routingTable(result.routing, ctx.lang)}`);
  const bad = result.pairs.filter((p) => !p.ok);
  ctx.out(`\n${ctx.t('wan.matrix', { allowed: result.summary.allowed, denied: result.summary.denied, failures: result.summary.failures })}\n`);
  if (bad.length > 0) {
    ctx.out(table(bad, [
      { header: ctx.t('wan.col.from'), value: (p) => p.from },
      { header: ctx.t('wan.col.to'), value: (p) => p.to },
      { header: ctx.t('wan.col.service'), value: (p) => p.service },
      { header: ctx.t('wan.col.policy'), value: (p) => ctx.t(`wan.verdict.${p.expected}`) },
      { header: ctx.t('wan.col.observed'), value: (p) => ctx.t(`wan.verdict.${p.observed}`) },
    ]));
  }
  return exit;
}

async function cut(ctx: Context, opts: { site: string; uplink: 'primary' | 'secondary'; restore?: boolean }): Promise<void> {
  const r = await wanCut(ctx, ctx.fabric(), { site: opts.site, uplink: opts.uplink, restore: opts.restore === true });
  ctx.out(`${ctx.t(opts.restore ? 'wan.lineRestored' : 'wan.lineCut', { uplink: ctx.t(`wan.uplink.${opts.uplink}`), spoke: r.spoke, hub: r.hub })}\n`);
}

async function kill(ctx: Context, opts: { site: string; restore?: boolean }): Promise<void> {
  const r = await wanKill(ctx, ctx.fabric(), { site: opts.site, restore: opts.restore === true });
  ctx.out(`${opts.restore ? ctx.t('wan.nodeRestored', { node: r.node }) : ctx.t('wan.nodeKilled', { node: r.node, processes: r.stopped })}\n`);
}

async function rotate(ctx: Context, opts: { site: string; json?: boolean }): Promise<void> {
  const { after, lab } = await wanRotate(ctx, ctx.fabric(), { site: opts.site, inventorySource: ctx.inventorySource });
  if (opts.json) {
    ctx.out(json({ node: opts.site, generation: after.generation, publicKey: after.publicKey, lab }));
    return;
  }
  ctx.out(`${ctx.t('wan.rotated', { node: opts.site, generation: after.generation, key: after.publicKey })}\n`);
  ctx.out(`${lab ? ctx.t('wan.rotatedLab', { tag: lab }) : ctx.t('wan.rotatedRender')}\n`);
}

async function down(ctx: Context, o: { json?: boolean }): Promise<void> {
  const r = await wanLabDown(ctx);
  if (!r) {
    if (o.json) ctx.out(json({ removed: false, reason: `no WAN lab recorded in ${ctx.stateDir}` }));
    else ctx.out(`${ctx.t('wan.noLab', { dir: ctx.stateDir })}\n`);
    return;
  }
  if (o.json) {
    ctx.out(json({ removed: true, ...r }));
    return;
  }
  ctx.out(`${ctx.t('wan.labRemoved', { tag: r.tag, processes: r.processes, namespaces: r.namespaces })}\n`);
  // Children of the lab's own processes are expected; a process found only by the namespace it lives in is worth a word.
  const strays = r.stopped.filter((p) => p.why === 'namespace' && !p.recorded);
  if (strays.length > 0) ctx.err(`  ${ctx.t('wan.strays', { processes: strays.map((p) => `${p.pid} ${p.command}`).join('; ') })}\n`);
}
