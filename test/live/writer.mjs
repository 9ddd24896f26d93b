// An appending writer in its own process, for the live tests: writes `count` lines carrying
// sequence numbers (`seq=N`) in the e3-micros env_logger layout, stamped with the wall clock,
// at `rate` lines/s, and rotates the file the way logrotate does.
// Usage: node writer.mjs '{"path":…,"count":…,"rate":…,"batch":…,"rotateEvery":…,"rotate":"rename|copytruncate|truncate|recreate","pauseBeforeRotateMs":…}'
import { closeSync, copyFileSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';

const o = JSON.parse(process.argv[2]);
const batch = o.batch ?? 50;
const rate = o.rate ?? 5000;
const start = o.start ?? 0;
let fd = openSync(o.path, 'a');
let rotations = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stamp = () => {
  const ms = Date.now();
  return new Date(ms).toISOString().slice(0, 23) + String(Math.floor(Math.random() * 1000)).padStart(3, '0') + 'Z';
};

const t0 = Date.now();
let written = 0;
while (written < o.count) {
  let chunk = '';
  const n = Math.min(batch, o.count - written);
  for (let i = 0; i < n; i++) {
    const seq = start + written + i;
    chunk += `[${stamp()} INFO  relay_v2] seq=${seq} ${o.pad ?? 'payload'}\n`;
    if (o.rotateEvery && (written + i + 1) % o.rotateEvery === 0 && written + i + 1 < o.count) {
      writeSync(fd, chunk);
      chunk = '';
      if (o.pauseBeforeRotateMs) await sleep(o.pauseBeforeRotateMs);
      rotations++;
      if (o.rotate === 'copytruncate') {
        copyFileSync(o.path, `${o.path}.${rotations}`);
        ftruncateSync(fd, 0); // O_APPEND: the next write lands at the new end (0)
      } else if (o.rotate === 'truncate') {
        ftruncateSync(fd, 0);
      } else if (o.rotate === 'recreate') {
        closeSync(fd);
        unlinkSync(o.path);
        fd = openSync(o.path, 'a');
      } else {
        closeSync(fd);
        renameSync(o.path, `${o.path}.${rotations}`);
        fd = openSync(o.path, 'a');
      }
    }
  }
  if (chunk) writeSync(fd, chunk);
  written += n;
  const due = t0 + (written / rate) * 1000;
  const wait = due - Date.now();
  if (wait > 0) await sleep(wait);
}
closeSync(fd);
process.stdout.write(JSON.stringify({ written, rotations }) + '\n');
