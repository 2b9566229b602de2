/**
 * `--help` and commander's parse errors in the user's language.
 *
 * The English texts stay where they are written, beside each command (`.description()`, `.option()`,
 * `.addHelpText('after', ...)`); the catalogue `bin/locales/` holds each of them under the command's path
 * (`cmd.pki issue`, `opt.pki issue.--site`, `after.pki issue`), and its English copy is checked
 * against the sources (bin/test/help-i18n.test.ts), so a changed English text is a failing test until
 * its translation follows. For English nothing is touched: commander prints the sources as they are.
 */
import { Help, Option, type Argument, type Command } from 'commander';
import type { EventEmitter } from 'node:events';
import { displayWidth } from '../lib/output.js';
import { translator, type CatalogueRef, type Lang, type Translate } from '../lib/i18n/index.js';

/** The CLI's own catalogue: help texts, commander's words and errors, the top-level error printer. */
export const CLI: CatalogueRef = { ns: 'bin', dir: 'bin/locales' };

/** `jinbao` for the program, else the command names below it: `pki issue`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.length === 0 ? 'jinbao' : names.join(' ');
}

/** Every command of the program, the program first. */
export function allCommands(program: Command): Command[] {
  return [program, ...program.commands.flatMap((c) => allCommands(c))];
}

/** The help text a command adds after commander's (`addHelpText('after', ...)`), as it would print. */
export function afterHelpText(cmd: Command): string | undefined {
  let text = '';
  for (const listener of events(cmd).listeners('afterHelp')) (listener as (ctx: unknown) => void)({ error: false, command: cmd, write: (s: string) => (text += s) });
  return text === '' ? undefined : text.replace(/\n$/, '');
}

/**
 * The English help texts of every command, flat and keyed as the catalogue keys them: what the
 * catalogue's English copy must say.
 */
export function helpTexts(program: Command): Map<string, string> {
  const out = new Map<string, string>();
  for (const cmd of allCommands(program)) {
    const path = commandPath(cmd);
    out.set(`cmd.${path}`, cmd.description());
    for (const o of cmd.options) {
      out.set(`opt.${path}.${optionKey(o)}`, o.description);
      if (o.defaultValueDescription) out.set(`optDefault.${path}.${optionKey(o)}`, o.defaultValueDescription);
    }
    for (const a of cmd.registeredArguments) if (a.description) out.set(`arg.${path}.${a.name()}`, a.description);
    const after = afterHelpText(cmd);
    if (after !== undefined) out.set(`after.${path}`, after);
  }
  return out;
}

/** Commander's Command is an EventEmitter (its help texts are listeners), which its typings do not say. */
function events(cmd: Command): EventEmitter {
  return cmd as unknown as EventEmitter;
}

function optionKey(o: Option): string {
  return o.long ?? o.short ?? o.name();
}

const TITLES: Readonly<Record<string, string>> = {
  'Usage:': 'usage',
  'Options:': 'options',
  'Arguments:': 'arguments',
  'Commands:': 'commands',
  'Global Options:': 'globalOptions',
};

/** East Asian wide characters (CJK ideographs, full-width punctuation): two columns on a terminal. */
const WIDE = /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]/u;

/** Wrap `text` to `width` columns, breaking at spaces and between Chinese characters (which have no spaces). */
export function wrapWide(text: string, width: number): string {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const chunks = line.match(new RegExp(`\\s*(?:${WIDE.source}[，。、；：）》”]*|[^\\s${WIDE.source.slice(1, -1)}]+)`, 'gu'));
    if (!chunks) {
      out.push('');
      continue;
    }
    let current = chunks.shift()!;
    for (const chunk of chunks) {
      if (displayWidth(current) + displayWidth(chunk) <= width) current += chunk;
      else {
        out.push(current);
        current = chunk.trimStart();
      }
    }
    out.push(current);
  }
  return out.join('\n');
}

/** Translate commander's syntax words in a usage line: `[options]`, `[command]`. */
function usageWords(t: Translate, usage: string): string {
  return usage.replace('[options]', t('help.word.options')).replace('[command]', t('help.word.command'));
}

/**
 * Make `program` and every command under it print help in `lang`: commander's headings and own
 * texts (the help option and command, the version option, "default:") from the catalogue, each
 * description and after-help text by its command's path. English leaves everything as written.
 */
export function localizeHelp(program: Command, lang: Lang): void {
  if (lang === 'en') return;
  const t = translator(lang, CLI);
  const owner = new Map<Option | Argument, string>();
  for (const cmd of allCommands(program)) {
    for (const o of cmd.options) owner.set(o, commandPath(cmd));
    for (const a of cmd.registeredArguments) owner.set(a, commandPath(cmd));
  }
  const known = new Set(allCommands(program));
  const describeCommand = (cmd: Command) => (known.has(cmd) ? t(`cmd.${commandPath(cmd)}`, { defaultValue: cmd.description() }) : t('help.helpCommand'));
  const extras = (parts: string[]) => (parts.length === 0 ? '' : t('help.extra', { parts: parts.join(t('help.separator')) }));
  const settings: Partial<Help> = {
    // commander counts characters; a Chinese character takes two columns
    displayWidth: (text: string) => displayWidth(text.replace(/\x1b\[\d*(;\d*)*m/g, '')),
    boxWrap(this: Help, text: string, width: number) {
      return width < this.minWidthToWrap ? text : wrapWide(text, width);
    },
    styleTitle: (title: string) => (TITLES[title] ? t(`help.title.${TITLES[title]}`) : title),
    commandUsage(this: Help, cmd: Command) {
      return usageWords(t, Help.prototype.commandUsage.call(this, cmd));
    },
    subcommandTerm(this: Help, cmd: Command) {
      return usageWords(t, Help.prototype.subcommandTerm.call(this, cmd));
    },
    commandDescription: describeCommand,
    subcommandDescription: describeCommand,
    optionDescription: (o: Option) => {
      const path = owner.get(o);
      const key = optionKey(o);
      const text =
        path !== undefined ? t(`opt.${path}.${key}`, { defaultValue: o.description }) : key === '--help' ? t('help.helpOption') : key === '--version' ? t('help.versionOption') : o.description;
      const parts: string[] = [];
      if (o.argChoices) parts.push(t('help.choices', { choices: o.argChoices.map((c) => JSON.stringify(c)).join(', ') }));
      const showDefault = o.defaultValue !== undefined && (o.required || o.optional || (o.isBoolean() && typeof o.defaultValue === 'boolean'));
      if (showDefault) {
        const value = o.defaultValueDescription ? t(`optDefault.${path}.${key}`, { defaultValue: o.defaultValueDescription }) : JSON.stringify(o.defaultValue);
        parts.push(t('help.default', { value }));
      }
      if (o.envVar !== undefined) parts.push(t('help.env', { name: o.envVar }));
      return text + extras(parts);
    },
    argumentDescription: (a: Argument) => {
      const path = owner.get(a);
      const text = a.description ? t(`arg.${path}.${a.name()}`, { defaultValue: a.description }) : '';
      const parts: string[] = [];
      if (a.defaultValue !== undefined) parts.push(t('help.default', { value: a.defaultValueDescription ?? JSON.stringify(a.defaultValue) }));
      return text + extras(parts);
    },
  };
  for (const cmd of allCommands(program)) {
    cmd.configureHelp(settings);
    if (events(cmd).listeners('afterHelp').length > 0) {
      const key = `after.${commandPath(cmd)}`;
      const english = afterHelpText(cmd);
      events(cmd).removeAllListeners('afterHelp');
      cmd.on('afterHelp', (ctx: { write: (s: string) => void }) => ctx.write(`${t(key, { defaultValue: english })}\n`));
    }
  }
}

/** A commander parse failure as data: the error code commander raises, the catalogue key and its parameters. */
export interface CommanderFailure {
  readonly code: string;
  readonly key: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Records the failure commander is about to report, from the arguments of the method that reports it. */
export interface CommanderFailures {
  /** The failure behind the error commander just raised (matched by its code), once; undefined when none was recorded. */
  take(): CommanderFailure | undefined;
}

type Capture = (cmd: Command, ...args: never[]) => Record<string, string>;

/** How commander names an option in a conflict: by its flags, or by its environment variable when that set it. */
function conflictParty(cmd: Command, option: Option, side: 'a' | 'b'): Record<string, string> {
  // commander reports the negated option (--no-x) when that is what set the value; so do we
  const attribute = option.attributeName();
  const value = cmd.getOptionValue(attribute) as unknown;
  const negated = cmd.options.find((o) => o.negate && o.attributeName() === attribute);
  const positive = cmd.options.find((o) => !o.negate && o.attributeName() === attribute);
  const setByNegation = negated !== undefined && (negated.presetArg === undefined ? value === false : value === negated.presetArg);
  const best = setByNegation ? negated : (positive ?? option);
  return cmd.getOptionValueSource(best.attributeName()) === 'env' && best.envVar !== undefined
    ? { [side]: best.envVar, [`${side}Source`]: 'env' }
    : { [side]: best.flags, [`${side}Source`]: 'option' };
}

/** A value commander's parser refused: which option (its flags) or argument (its name), the value, and the allowed choices when that was the rule. */
function parseFailure(target: Option | Argument, value: string): Record<string, string> {
  const choices: Record<string, string> = target.argChoices !== undefined && !target.argChoices.includes(value) ? { choices: target.argChoices.join(', ') } : {};
  return target instanceof Option ? { flags: target.flags, value, ...choices } : { name: target.name(), value, ...choices };
}

/** Commander's methods that report a parse failure, with what each knows: method, error code, catalogue key, parameters. */
const COMMANDER_FAILURES: readonly (readonly [string, string, string, Capture])[] = [
  ['unknownOption', 'commander.unknownOption', 'unknownOption', (_c, flag: string) => ({ flag })],
  ['unknownCommand', 'commander.unknownCommand', 'unknownCommand', (c) => ({ name: c.args[0] ?? '' })],
  ['missingArgument', 'commander.missingArgument', 'missingArgument', (_c, name: string) => ({ name })],
  ['optionMissingArgument', 'commander.optionMissingArgument', 'optionMissingArgument', (_c, o: Option) => ({ flags: o.flags })],
  ['missingMandatoryOptionValue', 'commander.missingMandatoryOptionValue', 'missingMandatoryOption', (_c, o: Option) => ({ flags: o.flags })],
  [
    '_excessArguments',
    'commander.excessArguments',
    'excessArguments',
    (c, received: readonly string[]) => ({ command: c.parent ? c.name() : '', expected: String(c.registeredArguments.length), got: String(received.length) }),
  ],
  ['_conflictingOption', 'commander.conflictingOption', 'conflictingOption', (c, a: Option, b: Option) => ({ ...conflictParty(c, a, 'a'), ...conflictParty(c, b, 'b') })],
  // called for every parsed value; the failure counts only when commander then raises commander.invalidArgument
  ['_callParseArg', 'commander.invalidArgument', 'invalidArgument', (_c, target: Option | Argument, value: string) => parseFailure(target, value)],
];

/**
 * Wrap, on every command of `program`, the commander methods that report parse failures so the failure is kept as
 * data (the English text commander prints is untouched); `take()` hands it to the error output. Failures are
 * matched to the error commander raises by its error `code`, never by its wording.
 */
export function recordCommanderFailures(program: Command): CommanderFailures {
  let recorded: CommanderFailure | undefined;
  let raised: string | undefined;
  /** The text commander puts before a parser's own reason (the 4th argument of `_callParseArg`). */
  let parsePrefix: string | undefined;
  for (const cmd of allCommands(program)) {
    const methods = cmd as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const [method, code, key, capture] of COMMANDER_FAILURES) {
      const original = methods[method]!;
      methods[method] = function (this: Command, ...args: unknown[]) {
        recorded = { code, key, params: (capture as (c: Command, ...a: unknown[]) => Record<string, string>)(this, ...args) };
        if (method === '_callParseArg') parsePrefix = args[3] as string;
        return original.apply(this, args);
      };
    }
    const error = methods.error!;
    methods.error = function (this: Command, ...args: unknown[]) {
      raised = (args[1] as { code?: string } | undefined)?.code;
      const message = String(args[0]);
      // a parser's reason (anything but commander's own choices rule) is the message after commander's prefix
      if (raised === 'commander.invalidArgument' && recorded?.code === raised && recorded.params.choices === undefined && parsePrefix !== undefined && message.startsWith(parsePrefix)) {
        recorded = { ...recorded, params: { ...recorded.params, reason: message.slice(parsePrefix.length).trim() } };
      }
      return error.apply(this, args);
    };
  }
  return {
    take() {
      const failure = recorded !== undefined && recorded.code === raised ? recorded : undefined;
      recorded = raised = parsePrefix = undefined;
      return failure;
    },
  };
}

/**
 * A commander error in `lang`, from the recorded `failure` (without one, commander's English wording is not guessed
 * at); commander's "Did you mean" suggestion follows. English is commander's text, unchanged.
 */
export function translateCommanderError(text: string, lang: Lang, failure?: CommanderFailure): string {
  if (lang === 'en' || failure === undefined) return text;
  const t = translator(lang, CLI);
  const [, , suggestion] = /^([\s\S]*?)(?:\n\(Did you mean (?:one of )?(.+)\?\))?\n?$/.exec(text) ?? [];
  const params: Record<string, string> = { command: '', ...failure.params };
  let line: string;
  if (failure.key === 'conflictingOption') {
    const party = (side: 'a' | 'b') => t(params[`${side}Source`] === 'env' ? 'commander.envVariable' : 'commander.option', { name: params[side] });
    line = t('commander.conflictingOption', { a: party('a'), b: party('b') });
  } else if (failure.key === 'invalidArgument') {
    const reason = params.choices !== undefined ? t('commander.choices', { choices: params.choices }) : (params.reason ?? '');
    line = t(params.flags !== undefined ? 'commander.invalidOptionArgument' : 'commander.invalidArgumentValue', { ...params, reason });
  } else {
    line = t(`commander.${failure.key}${failure.key === 'excessArguments' && params.command ? 'For' : ''}`, params);
  }
  if (suggestion) line += `\n${t('commander.didYouMean', { list: suggestion })}`;
  return `${line}\n`;
}
