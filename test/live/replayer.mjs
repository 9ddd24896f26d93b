// A relay stand-in in its own process: writes lines of a real relay log (a bundled sample),
// stamped with our wall clock (+ skewMs, a relay clock that differs from ours) as they are
// written, at `rate` lines/s; `pauseAfter` lines then silence for `pauseMs` (a stall);
// `burstMs`: lines are stamped when made but written only every burstMs (a buffered logger).
// `resumeOn: "SIGUSR2"` instead of pauseMs: silent until that signal (a test resumes the writer
// once it has seen what it waits for: no fixed window that a loaded machine can miss).
// Prints `{"event":"paused","at":…}` / `{"event":"resumed","at":…}` / `{"event":"done"}` on stdout.
// Usage: node replayer.mjs '{"sample":…,"out":…,"from":1,"to":300,"rate":1000,"skewMs":0,"pauseAfter":144,"pauseMs":2000,"burstMs":0}'
// (or "resumeOn":"SIGUSR2" in place of pauseMs)
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

const o = JSON.parse(process.argv[2]);
const lines = readFileSync(o.sample, 'utf8')
  .split('\n')
  .slice(o.from - 1, o.to);
const fd = openSync(o.out, 'a');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (e) => process.stdout.write(JSON.stringify({ ...e, at: Date.now() }) + '\n');
let micro = 0;
const restamp = (line) => {
  if (!line.startsWith('[') || line[27] !== 'Z') return line;
  const t = new Date(Date.now() + (o.skewMs ?? 0)).toISOString().slice(0, 23) + String(micro++ % 1000).padStart(3, '0');
  return '[' + t + line.slice(27);
};
// Installed before anything is written: the signal may come as soon as "paused" is out.
const resumed = o.resumeOn ? new Promise((r) => process.once(o.resumeOn, r)) : null;
let pausedMs = 0;
let buffered = '';
let lastFlush = Date.now();
const t0 = Date.now();
for (let i = 0; i < lines.length; i++) {
  buffered += restamp(lines[i]) + '\n';
  if (!o.burstMs || Date.now() - lastFlush >= o.burstMs) {
    writeSync(fd, buffered);
    buffered = '';
    lastFlush = Date.now();
  }
  if (o.pauseAfter && i + 1 === o.pauseAfter) {
    if (buffered) {
      writeSync(fd, buffered);
      buffered = '';
    }
    say({ event: 'paused', line: o.from + i });
    const pausedAt = Date.now();
    if (resumed) {
      const alive = setInterval(() => {}, 1000); // a signal listener alone does not keep Node running
      await resumed;
      clearInterval(alive);
    } else await sleep(o.pauseMs);
    pausedMs = Date.now() - pausedAt;
    say({ event: 'resumed' });
  }
  const due = t0 + ((i + 1) / o.rate) * 1000 + pausedMs;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
}
if (buffered) writeSync(fd, buffered);
closeSync(fd);
say({ event: 'done' });
