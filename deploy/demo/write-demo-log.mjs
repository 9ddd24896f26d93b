#!/usr/bin/env node
// @ts-check
/**
 * The compose stack's `demo` profile: writes a recorded relay trace log (the bundled
 * samples/relay-stall.log) into the log directory pollscope tails, as if a relay were writing it
 * now. Each line is written when its own timestamp comes due (pacing from the log itself, so the
 * blocked poll really blocks for 1.5 s and the silent stretch is really silent), with the
 * timestamp moved to the present; the sample loops, each loop starting --gap after the previous
 * one ended. Timestamps are the scheduled times, not the write times, so every interval in the
 * output equals the interval in the sample to the microsecond.
 *
 * When the file reaches --rotate-bytes it is renamed to FILE.1 (replacing an older FILE.1) and a
 * new FILE is started, as logrotate's default (create) mode does: the demo shows rotations too.
 *
 * Plain Node (no dependencies, no build): it runs in a stock node image.
 *
 *   node write-demo-log.mjs --sample samples/relay-stall.log --out logs/relay.log
 *        [--gap 2s] [--loops N] [--rotate-bytes 67108864]
 *
 * The sample must be in env_logger's layout with a microsecond UTC timestamp right after the
 * opening bracket (`[2022-04-21T22:30:01.000016Z INFO  target] ...`); lines without one (continuation
 * lines) go out with the record they continue.
 */
import { closeSync, fstatSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** `[` + `2022-04-21T22:30:01.000016Z`: the timestamp is characters 1..27. */
const STAMP_START = 1;
const STAMP_LENGTH = 27;
const STAMP_PATTERN = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/**
 * @param {string} text sample log text
 * @returns {{ offsetsUs: number[], dueUs: number[], tails: string[], stamped: boolean[], durationUs: number }}
 *   per line: its timestamp in µs after the first one; when it is written (the latest offset so
 *   far: threads' lines may be a few µs out of order in a real log, and the file order is kept);
 *   the text after the timestamp (or the whole line); whether it had a timestamp
 */
export function parseSample(text) {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  /** @type {number[]} */ const offsetsUs = [];
  /** @type {number[]} */ const dueUs = [];
  /** @type {string[]} */ const tails = [];
  /** @type {boolean[]} */ const stamped = [];
  let firstUs = NaN;
  let currentUs = NaN;
  let latestUs = -Infinity;
  for (const line of lines) {
    const stamp = line.startsWith('[') ? line.slice(STAMP_START, STAMP_START + STAMP_LENGTH) : '';
    if (STAMP_PATTERN.test(stamp)) {
      const us = Date.parse(stamp.slice(0, 23) + 'Z') * 1000 + Number(stamp.slice(23, 26));
      if (Number.isNaN(firstUs)) firstUs = us;
      currentUs = us;
      latestUs = Math.max(latestUs, us);
      offsetsUs.push(us - firstUs);
      dueUs.push(latestUs - firstUs);
      tails.push(line.slice(STAMP_START + STAMP_LENGTH));
      stamped.push(true);
    } else {
      if (Number.isNaN(currentUs)) throw new Error('sample does not start with a timestamped line');
      offsetsUs.push(currentUs - firstUs);
      dueUs.push(latestUs - firstUs);
      tails.push(line);
      stamped.push(false);
    }
  }
  if (offsetsUs.length === 0) throw new Error('sample is empty');
  return { offsetsUs, dueUs, tails, stamped, durationUs: latestUs - firstUs };
}

/**
 * Microseconds since the epoch as env_logger's `format_timestamp_micros()` writes them.
 * @param {number} us
 */
export function formatMicros(us) {
  const ms = Math.floor(us / 1000);
  return new Date(ms).toISOString().slice(0, 23) + String(us - ms * 1000).padStart(3, '0') + 'Z';
}

/** Wall clock in whole microseconds (performance.now() is monotonic and sub-millisecond). */
const wallUs = () => Math.floor((performance.timeOrigin + performance.now()) * 1000);

/**
 * `2s`, `500ms`, `1500us` or plain milliseconds, in µs.
 * @param {string} text
 */
function durationUs(text) {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s)?$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const n = Number(m[1]);
  return Math.round(m[2] === 's' ? n * 1e6 : m[2] === 'us' ? n : n * 1e3);
}

async function main() {
  const { values } = parseArgs({
    options: {
      sample: { type: 'string' },
      out: { type: 'string' },
      gap: { type: 'string', default: '2s' },
      loops: { type: 'string' },
      'rotate-bytes': { type: 'string', default: String(64 * 1024 * 1024) },
    },
  });
  if (!values.sample || !values.out) {
    process.stderr.write(
      'usage: write-demo-log.mjs --sample FILE --out FILE [--gap 2s] [--loops N] [--rotate-bytes N]\n',
    );
    process.exit(2);
  }
  const out = values.out;
  const sample = parseSample(readFileSync(values.sample, 'utf8'));
  const gapUs = durationUs(values.gap ?? '2s');
  const maxLoops = values.loops === undefined ? Infinity : Number(values.loops);
  const rotateBytes = Number(values['rotate-bytes']);
  if (!(maxLoops > 0) || !(rotateBytes > 0)) throw new Error('--loops and --rotate-bytes must be positive numbers');

  let fd = openSync(out, 'a');
  let written = fstatSync(fd).size;
  let stopping = false;
  /** @type {(() => void) | undefined} */ let wakeEarly;
  // As PID 1 in a container Node has no default SIGTERM handling: stop between writes.
  for (const signal of /** @type {const} */ (['SIGTERM', 'SIGINT'])) {
    process.on(signal, () => {
      stopping = true;
      wakeEarly?.();
    });
  }
  const sleepUntil = (/** @type {number} */ targetUs) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, Math.ceil((targetUs - wallUs()) / 1000)));
      wakeEarly = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
    });

  const { offsetsUs, dueUs, tails, stamped, durationUs: loopUs } = sample;
  let loopStartUs = wallUs();
  for (let loop = 1; loop <= maxLoops && !stopping; loop++) {
    let i = 0;
    while (i < offsetsUs.length && !stopping) {
      const now = wallUs();
      /** @type {string[]} */ const batch = [];
      // Every line that is due goes out in one write.
      while (i < offsetsUs.length && loopStartUs + dueUs[i] <= now) {
        batch.push(stamped[i] ? '[' + formatMicros(loopStartUs + offsetsUs[i]) + tails[i] : tails[i]);
        i++;
      }
      if (batch.length > 0) {
        const text = batch.join('\n') + '\n';
        writeSync(fd, text);
        written += Buffer.byteLength(text);
        if (written >= rotateBytes) {
          closeSync(fd);
          renameSync(out, out + '.1');
          fd = openSync(out, 'a');
          written = 0;
        }
      }
      if (i < offsetsUs.length) await sleepUntil(loopStartUs + dueUs[i]);
    }
    const what = i < offsetsUs.length ? `stopped after ${i} lines` : `${i} lines`;
    process.stdout.write(`loop ${loop}: ${what}, log time from ${formatMicros(loopStartUs)}\n`);
    loopStartUs += loopUs + gapUs;
    if (loop < maxLoops && !stopping) await sleepUntil(loopStartUs);
  }
  closeSync(fd);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    process.stderr.write(`write-demo-log: ${err.message}\n`);
    process.exit(1);
  });
}
