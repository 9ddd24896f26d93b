// Appends lines of a relay log to a file at the pace of their own timestamps (speed 1 = as the
// relay wrote them), in its own process so the pace does not depend on the test's event loop.
// Lines without a leading timestamp (`[2022-…Z`, tracing-subscriber's `2026-…Z`, also dimmed by ANSI) go with the line before them.
// Usage: node pace-writer.mjs '{"src":…,"dst":…,"lines":N,"speed":1}'   prints `done N` at the end.
import { appendFileSync, readFileSync } from 'node:fs';

const o = JSON.parse(process.argv[2]);
const lines = readFileSync(o.src, 'utf8').split('\n').slice(0, o.lines);
const speed = o.speed ?? 1;
const stampMs = (l) => {
  const m = /^(?:\[|\x1b\[2m)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z/.exec(l);
  return m ? Date.parse(`${m[1]}Z`) + Number(m[2] ?? 0) * 1000 : null;
};
const t0Log = stampMs(lines[0]);
const t0 = Date.now();
let i = 0;
while (i < lines.length) {
  const due = t0 + ((stampMs(lines[i]) ?? t0Log) - t0Log) / speed;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 20)));
  if (Date.now() < due) continue;
  // Everything due by now goes in one write, as a buffered logger flushes.
  let chunk = '';
  const now = Date.now();
  while (i < lines.length) {
    const t = stampMs(lines[i]);
    if (t !== null && t0 + (t - t0Log) / speed > now) break;
    chunk += lines[i++] + '\n';
  }
  appendFileSync(o.dst, chunk);
}
process.stdout.write(`done ${lines.length}\n`);
