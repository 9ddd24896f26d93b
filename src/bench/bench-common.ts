/** What the bench scripts share: flag parsing, the readline floor they compare pollscope with, and medians. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A `readline` loop that counts lines: what the simplest Node line-by-line program costs.
 * CommonJS text, run as a script file or with `node -e` (the input is the last argument).
 */
export const READLINE_LOOP = `
const rl = require('node:readline').createInterface({ input: require('node:fs').createReadStream(process.argv[process.argv.length - 1]), crlfDelay: Infinity });
let n = 0; rl.on('line', () => { n++; }); rl.on('close', () => console.log(n));
`;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** The option table `parseArgs` takes (@types/node does not export its name). */
type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/** A bench script's flag values, as `parseArgs` types them for these options in strict mode. */
export type BenchFlags<O extends FlagOptions> = ReturnType<
  typeof parseArgs<{ args: string[]; strict: true; options: O }>
>['values'];

/**
 * Parses a bench script's flags strictly, `--help` included. Returns the values, or the exit code
 * the script ends with: 0 after `--help` (usage on stdout), 2 for a wrong flag (unknown, or a
 * value missing: what is wrong and the usage on stderr).
 */
export function parseBenchFlags<O extends FlagOptions>(
  argv: string[],
  options: O,
  usage: string,
): BenchFlags<O> | number {
  let values: BenchFlags<O>;
  try {
    values = parseArgs({ args: argv, strict: true, options }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  if ((values as { help?: unknown }).help === true) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  return values;
}
