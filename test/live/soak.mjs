// `npm run soak`: the randomized rotation chaos (chaos.mjs) against the built daemon for several
// seeds, longer than the suite's run, one line per seed. Exit 1 if any line was lost or doubled.
// Usage: node test/live/soak.mjs [--seeds 1,2,3,4,5] [--seconds 40] [--cli dist/cli.js]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChaos } from './chaos.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const seeds = opt('seeds', '1,2,3,4,5').split(',').map(Number);
const seconds = Number(opt('seconds', '40'));
const cli = path.resolve(opt('cli', path.join(root, 'dist', 'cli.js')));

const children = new Set();
const killAll = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid, 'SIGKILL');
};
process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});

let failed = 0;
let total = 0;
for (const seed of seeds) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pollscope-soak-'));
  try {
    const r = await runChaos({ seed, durationMs: seconds * 1000, dir, cli, children });
    total += r.lines;
    const a = r.actions;
    const ok = r.lost === 0 && r.doubled === 0 && r.unexpected === 0 && r.exitCode === 0;
    if (!ok) failed++;
    console.log(
      `seed ${seed}: ${r.lines} lines, lost ${r.lost}, doubled ${r.doubled}` +
        (r.unexpected ? `, unexpected ${r.unexpected}` : '') +
        ` | bursts ${a.bursts}, renames ${a.renames}, double renames ${a.doubleRenames}, delete+recreate ${a.recreates},` +
        ` truncations ${a.truncations}, kill -9 ${a.kills} | exit ${r.exitCode} ${ok ? 'OK' : 'FAIL'}` +
        (r.firstProblems.length ? `\n  e.g. ${r.firstProblems.join('; ')}` : '') +
        (r.missed.length ? `\n  waits not met in time: ${r.missed.length} (${r.missed[0]})` : ''),
    );
    if (!ok && process.env.SOAK_KEEP) console.log(`  kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    failed++;
    killAll();
    console.log(`seed ${seed}: ERROR ${err.message}`);
  }
}
console.log(`${seeds.length} seeds, ${total} lines, ${failed} failed`);
process.exit(failed ? 1 : 0);
