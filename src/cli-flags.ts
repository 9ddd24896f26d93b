/** The command line's flags, per command, and parseArgs with plain messages (cli.ts). */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, nearest } from './config.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags `replay` and `run` share. */
const SHARED_FLAGS = {
  'slow-poll': { type: 'string' },
  'slow-connection-poll': { type: 'string' },
  'blocked-poll': { type: 'string' },
  starved: { type: 'string' },
  silent: { type: 'string' },
  'max-line-bytes': { type: 'string' },
  'otlp-endpoint': { type: 'string' },
  'trace-sample': { type: 'string' },
  'trace-max-spans': { type: 'string' },
  'trace-keep-wait': { type: 'string' },
  'trace-keep-delay': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export const REPLAY_FLAGS = {
  ...SHARED_FLAGS,
  json: { type: 'boolean' },
  date: { type: 'string' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  'metrics-out': { type: 'string' },
  relay: { type: 'string' },
  'jaeger-ui': { type: 'string' },
  html: { type: 'string' },
  jobs: { type: 'string' },
} as const satisfies Options;

export const RUN_FLAGS = {
  ...SHARED_FLAGS,
  log: { type: 'string', multiple: true },
  stdin: { type: 'boolean' },
  relay: { type: 'string', multiple: true },
  from: { type: 'string' },
  config: { type: 'string' },
  checkpoint: { type: 'string' },
  'checkpoint-interval': { type: 'string' },
  'poll-interval': { type: 'string' },
  'flush-partial-after': { type: 'string' },
  'no-watch': { type: 'boolean' },
  'audit-records': { type: 'string' },
  'metrics-listen': { type: 'string' },
  'web-config-file': { type: 'string' },
  'timeline-window': { type: 'string' },
} as const satisfies Options;

/**
 * parseArgs with plain messages. A value that starts with '-' (`--blocked-poll -1s`) would be
 * taken for an option ("argument is ambiguous"): a number after a flag that takes a value is
 * joined to it, so that the value's own check says what is wrong with it.
 */
export function parseFlags<O extends Options>(command: string, args: string[], options: O, positionals: boolean) {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      joined.push(...args.slice(i));
      break;
    }
    const spec = a.startsWith('--') && !a.includes('=') ? options[a.slice(2)] : undefined;
    if (spec?.type === 'string' && i + 1 < args.length && /^-[\d.]/.test(args[i + 1])) joined.push(`${a}=${args[++i]}`);
    else joined.push(a);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals: positionals, strict: true, tokens: true });
  } catch (err) {
    const e = err as Error & { code?: string };
    const name = /'(-[^' ]*)/.exec(e.message)?.[1] ?? '';
    switch (e.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
        const near = nearest(name.replace(/^-+/, ''), Object.keys(options));
        throw new ConfigError(
          `${command}: unknown option ${name}${near !== null ? ` (did you mean --${near}?)` : ''}`,
          true,
        );
      }
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        if (options[name.replace(/^-+/, '')]?.type === 'boolean') throw new ConfigError(`${name} takes no value`, true);
        throw new ConfigError(`${name} needs a value (one that starts with '-' is written ${name}=VALUE)`, true);
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new ConfigError(`${command}: unexpected argument ${name || e.message} (${command} takes no FILE)`, true);
      default:
        throw new ConfigError(e.message, true);
    }
  }
}
