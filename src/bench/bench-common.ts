/** What the bench scripts share: the readline floor they compare pollscope with, and medians. */

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
