/**
 * `npm run bench:live`: the live daemon under load. A writer process appends a realistic trace
 * log (the generator's e3-micros relay) at 50,000 lines/s for 30 s, rotating by rename every
 * 10 s; the daemon follows it in this process (as `pollscope run` does, chokidar hints + 250 ms
 * stat poll). Prints: lines written vs processed (exactly once = equal, plus the generator's
 * waits/poll cycles vs what the model found), the daemon process's CPU (% of one core, includes
 * this harness's bookkeeping), p50/p99/max append→processed latency, RSS at 10 s / 20 s / 30 s.
 *
 * Usage: node dist/bench/live-bench.js [--rate 50000] [--seconds 30] [--rotate-every 10] [--json]
 * The writer is this file run with `--writer` (a separate process: its CPU is not ours).
 */
import { fork } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { defaultRunConfig } from '../config.js';
import { startDaemon } from '../daemon.js';
import type { ObservationSink } from '../reactor/observations.js';
import { generateLogFile } from './generate.js';

interface WriterMessage {
  kind: 'batch' | 'done';
  t: number;
  lines: number;
  rotations?: number;
}

async function writerMain(): Promise<void> {
  const [src, out, rateS, secondsS, rotateS] = process.argv.slice(3);
  const rate = Number(rateS);
  const rotateMs = Number(rotateS) * 1000;
  const total = rate * Number(secondsS);
  const batchLines = Math.max(1, Math.round(rate / 100)); // every 10 ms
  const inFd = openSync(src, 'r');
  let fd = openSync(out, 'a');
  const buf = Buffer.allocUnsafe(8 << 20);
  let have = 0;
  let inPos = 0;
  let lines = 0;
  let rotations = 0;
  const t0 = Date.now();
  let nextRotate = t0 + rotateMs;
  const send = (m: WriterMessage) => process.send!(m);
  while (lines < total) {
    if (have < 4 << 20) {
      const n = readSync(inFd, buf, have, buf.length - have, inPos);
      inPos += n;
      have += n;
    }
    // Cut the next batch at a line end.
    let end = 0;
    let k = 0;
    while (k < batchLines && lines + k < total) {
      const nl = buf.indexOf(10, end);
      if (nl < 0 || nl >= have) break;
      end = nl + 1;
      k++;
    }
    if (k === 0) break;
    writeSync(fd, buf, 0, end);
    buf.copy(buf, 0, end, have);
    have -= end;
    lines += k;
    send({ kind: 'batch', t: Date.now(), lines });
    if (Date.now() >= nextRotate) {
      closeSync(fd);
      rotations++;
      renameSync(out, `${out}.${rotations}`);
      fd = openSync(out, 'a');
      nextRotate += rotateMs;
    }
    const due = t0 + (lines / rate) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  closeSync(fd);
  closeSync(inFd);
  send({ kind: 'done', t: Date.now(), lines, rotations });
  process.disconnect();
}

async function benchMain(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string' },
      seconds: { type: 'string' },
      'rotate-every': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const rate = Number(values.rate ?? 50000);
  const seconds = Number(values.seconds ?? 30);
  const rotateEvery = Number(values['rotate-every'] ?? 10);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pollscope-live-bench-'));
  try {
    const src = path.join(dir, 'source.log');
    const stats = generateLogFile(src, { envelope: 'e3-micros', lines: rate * seconds });
    const log = path.join(dir, 'relay.log');
    closeSync(openSync(log, 'a'));

    // Processed-lines timeline, appended after every chunk the daemon handled.
    const procT = new Float64Array(1 << 20);
    const procN = new Float64Array(1 << 20);
    let nProc = 0;
    let waits = 0;
    let polls = 0;
    const counter: ObservationSink = {
      wait: () => {
        waits++;
      },
      pollCycle: () => {
        polls++;
      },
    };
    const cfg = {
      ...defaultRunConfig(),
      logs: [{ pattern: log, relay: 'bench' }],
      from: 'start' as const,
      checkpointPath: path.join(dir, 'cp.json'),
    };
    let processed = 0;
    let notices = 0;
    const daemon = startDaemon(cfg, {
      sinksFor: () => [counter],
      notice: () => {
        notices++;
      },
      afterChunk: () => {
        const l = daemon.relays.get('bench')!.pipeline.ingest.lines;
        processed = l.decoded + l.ignored + l.malformed + l.oversize;
        if (nProc < procT.length) {
          procT[nProc] = Date.now();
          procN[nProc] = processed;
          nProc++;
        }
      },
    });

    // Typed arrays, not objects: the harness must not grow the heap it measures.
    const batchT = new Float64Array((rate * seconds) / Math.max(1, Math.round(rate / 100)) + 16);
    const batchN = new Float64Array(batchT.length);
    let nBatch = 0;
    const cpu0 = process.cpuUsage();
    const wall0 = Date.now();
    // RSS every second; at 10 s, 20 s and the end also the heap after a full GC (growth there would be a leak,
    // growth of RSS alone can be V8 keeping freed pages).
    const rss: Array<{ s: number; rss: number; heapAfterGc: number }> = [];
    const gc = collector();
    const rssTimer = setInterval(() => {
      const s = Math.round((Date.now() - wall0) / 1000);
      const full = s === 10 || s === 20 || s === seconds;
      if (full) gc();
      const m = process.memoryUsage();
      rss.push({ s, rss: m.rss, heapAfterGc: full ? m.heapUsed : NaN });
    }, 1000);
    const writer = fork(
      fileURLToPath(import.meta.url),
      ['--writer', src, log, String(rate), String(seconds), String(rotateEvery)],
      { stdio: 'inherit' },
    );
    const done = await new Promise<WriterMessage>((resolve) =>
      writer.on('message', (m: WriterMessage) => {
        if (m.kind === 'batch') {
          if (nBatch < batchT.length) {
            batchT[nBatch] = m.t;
            batchN[nBatch] = m.lines;
            nBatch++;
          }
        } else resolve(m);
      }),
    );
    const writerEnd = Date.now();
    while (processed < done.lines && Date.now() - writerEnd < 15000) await new Promise((r) => setTimeout(r, 20));
    const cpu = process.cpuUsage(cpu0);
    const wallS = (Date.now() - wall0) / 1000;
    clearInterval(rssTimer);
    await daemon.stop();

    // append → processed: the first processed sample covering each batch's last line.
    const lat: number[] = [];
    let j = 0;
    for (let i = 0; i < nBatch; i++) {
      while (j < nProc && procN[j] < batchN[i]) j++;
      if (j >= nProc) break;
      lat.push(Math.max(0, procT[j] - batchT[i]));
    }
    lat.sort((a, b) => a - b);
    const q = (p: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
    const rssAt = (s: number) => rss.find((r) => r.s >= s)?.rss ?? NaN;
    const heapAt = (s: number) => rss.find((r) => r.s >= s && !Number.isNaN(r.heapAfterGc))?.heapAfterGc ?? NaN;
    const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
    const result = {
      rate,
      seconds,
      rotateEvery,
      rotations: done.rotations,
      written: done.lines,
      processed,
      exactlyOnce: processed === done.lines,
      generated: { waits: stats.waits, pollCycles: stats.pollCycles },
      detected: { waits, pollCycles: polls },
      cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1e6 / wallS) * 1000) / 10,
      latencyMs: { p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1] ?? NaN, batches: lat.length },
      rssMB: {
        at10s: mb(rssAt(10)),
        at20s: mb(rssAt(20)),
        at30s: mb(rssAt(seconds)),
        peak: mb(process.resourceUsage().maxRSS * 1024),
      },
      heapAfterGcMB: { at10s: mb(heapAt(10)), at20s: mb(heapAt(20)), at30s: mb(heapAt(seconds)) },
      notices,
    };
    if (values.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      return;
    }
    process.stdout.write(
      `live bench: ${rate} lines/s for ${seconds} s, rotation every ${rotateEvery} s (${result.rotations} rotations)\n` +
        `  lines written ${result.written}, processed ${result.processed}: ${result.exactlyOnce ? 'each once' : 'MISMATCH'}\n` +
        `  waits generated ${stats.waits} / found ${waits}; poll cycles generated ${stats.pollCycles} / found ${polls}\n` +
        `  daemon CPU ${result.cpuPercentOfOneCore} % of one core (target < 30 %)\n` +
        `  append→processed latency p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, max ${result.latencyMs.max} ms (target p99 < 250 ms)\n` +
        `  RSS ${result.rssMB.at10s} MB at 10 s, ${result.rssMB.at20s} MB at 20 s, ${result.rssMB.at30s} MB at ${seconds} s (peak ${result.rssMB.peak} MB)\n` +
        `  heap after full GC ${result.heapAfterGcMB.at10s} MB at 10 s, ${result.heapAfterGcMB.at20s} MB at 20 s, ${result.heapAfterGcMB.at30s} MB at ${seconds} s\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** global.gc without a command-line flag (the bench runs as `node dist/bench/live-bench.js`). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

if (process.argv[2] === '--writer') void writerMain();
else void benchMain();
