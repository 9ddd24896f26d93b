// Writes a recorded log into another file at its recorded pace, `scale` times faster, the way a
// relay's logger appends: lines go out when their (scaled) timestamp is due, in writes of
// whatever is due; every `splitEvery`-th write ends in the middle of a line (a buffered writer
// flushing at a buffer boundary), the rest of that line following in the next write.
// Usage: node paced-writer.mjs '{"src":…,"dst":…,"scale":10,"splitEvery":7}'
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

const o = JSON.parse(process.argv[2]);
const lines = readFileSync(o.src, 'utf8').split('\n');
if (lines[lines.length - 1] === '') lines.pop();
const STAMP = /^\[?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)/;
let last = Number.NaN;
const dueMs = lines.map((l) => {
  const m = STAMP.exec(l);
  if (m) last = Date.parse(m[1]);
  return last;
});
const first = dueMs.find((t) => !Number.isNaN(t)) ?? 0;
const fd = openSync(o.dst, 'a');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
let i = 0;
let carry = '';
let writes = 0;
while (i < lines.length) {
  const elapsed = (Date.now() - t0) * o.scale;
  let chunk = carry;
  while (i < lines.length && (Number.isNaN(dueMs[i]) || dueMs[i] - first <= elapsed)) chunk += lines[i++] + '\n';
  carry = '';
  if (chunk.length > 0) {
    writes++;
    if (o.splitEvery && writes % o.splitEvery === 0 && chunk.length > 2 && i < lines.length) {
      // Cut inside the last line of this write.
      const lastStart = chunk.lastIndexOf('\n', chunk.length - 2) + 1;
      const cut = lastStart + Math.max(1, Math.floor((chunk.length - lastStart) / 2));
      carry = chunk.slice(cut);
      chunk = chunk.slice(0, cut);
    }
    writeSync(fd, chunk);
  }
  if (i < lines.length) await sleep(5);
}
if (carry) writeSync(fd, carry);
closeSync(fd);
