// The relays of the fleet simulation, in one process: each output file gets the bundled sample
// log as the compose demo writes it (deploy/demo/write-demo-log.mjs: each line when its own
// timestamp comes due, timestamps moved to now, looping with a 2 s gap), relay i starting i x 40 ms
// after the first. One relay can be made to stall: once `stall.afterMs` have passed, its writer
// stops right after the next swarm poll start (`poll_next:+`) for `stall.forMs`, then goes on with
// timestamps that carry the pause, as a relay whose swarm poll blocked would log.
// `stall.resumeOn: "SIGUSR2"` in place of forMs: the pause lasts until that signal (a test resumes
// the relay once it has seen what it waits for: no fixed window that a loaded machine can miss).
// Usage: node fleet-writer.mjs '{"sample":…,"outs":[…],"stall":{"out":…,"afterMs":…,"forMs":…}}'
// Prints `stalled <file>` when the pause begins and `resumed <file>` when it ends. Stops on SIGTERM.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { formatMicros, parseSample } from '../../deploy/demo/write-demo-log.mjs';

const o = JSON.parse(process.argv[2]);
const { offsetsUs, dueUs, tails, stamped, durationUs } = parseSample(readFileSync(o.sample, 'utf8'));
const GAP_US = 2_000_000;
const wallUs = () => Math.floor((performance.timeOrigin + performance.now()) * 1000);
const t0 = wallUs();
const relays = o.outs.map((out, i) => {
  writeFileSync(out, '');
  const stalls = o.stall && o.stall.out === out;
  return { out, i: 0, loopStartUs: t0 + i * 40_000, stalls, pausedAtUs: 0, pausedUntilUs: 0 };
});
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
if (o.stall?.resumeOn) {
  process.on(o.stall.resumeOn, () => {
    for (const r of relays) if (r.pausedUntilUs === Infinity) r.pausedUntilUs = 1; // the next tick resumes it
  });
}

function tick() {
  const now = wallUs();
  for (const r of relays) {
    if (r.pausedUntilUs > now) continue;
    if (r.pausedUntilUs !== 0) {
      r.pausedUntilUs = 0;
      r.loopStartUs += now - r.pausedAtUs; // the lines after the pause are stamped after it
      process.stdout.write(`resumed ${r.out}\n`);
    }
    const batch = [];
    while (r.loopStartUs + dueUs[r.i] <= now) {
      batch.push(stamped[r.i] ? '[' + formatMicros(r.loopStartUs + offsetsUs[r.i]) + tails[r.i] : tails[r.i]);
      const pollStart = tails[r.i].endsWith('poll_next:+');
      r.i++;
      if (r.i === offsetsUs.length) {
        r.i = 0;
        r.loopStartUs += durationUs + GAP_US;
      }
      if (r.stalls && pollStart && now - t0 >= o.stall.afterMs * 1000) {
        r.stalls = false;
        r.pausedAtUs = now;
        r.pausedUntilUs = o.stall.resumeOn ? Infinity : now + o.stall.forMs * 1000;
        process.stdout.write(`stalled ${r.out}\n`);
        break;
      }
    }
    if (batch.length > 0) appendFileSync(r.out, batch.join('\n') + '\n');
  }
  if (!stopping) setTimeout(tick, 20);
}
tick();
