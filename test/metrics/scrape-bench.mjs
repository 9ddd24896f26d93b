// Figures for issue 5 (not a test): does scraping /metrics slow ingest at 50,000 lines/s, and how
// long does a scrape take? Run after `npm run build`:  node test/metrics/scrape-bench.mjs
//
// One process like `run`: a RelayPipeline with the metrics sink, fed lines of a generated
// e3-micros log at a fixed 50,000 lines/s (a chunk every 10 ms), and the metrics server. A scraper
// in another process (so its own cost is not counted here) GETs /metrics as Prometheus would
// (Accept: OpenMetrics) at a given interval. Per scenario: ingest time per line (the time spent
// pushing lines through the pipeline, hrtime), this process's CPU per line, and scrape latency.
import { fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLogFile } from '../../dist/bench/generate.js';
import { PollscopeMetrics } from '../../dist/export/metrics.js';
import { startMetricsServer } from '../../dist/export/metrics-server.js';
import { RelayPipeline } from '../../dist/pipeline.js';
import { LineSplitter } from '../../dist/source/file-lines.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RATE = 50_000;
const TICK_MS = 10;
const SECONDS = Number(process.argv[2] ?? 4);
const LINES = RATE * SECONDS + 1000;
const file = path.join(ROOT, 'bench-data', `e3-micros-${LINES}.log`);

if (process.argv[2] === '--scraper') {
  // Child: scrape every `interval` ms until told to stop, then report latencies.
  const [, , , url, interval] = process.argv;
  const lat = [];
  let bytes = 0;
  let stop = false;
  process.on('message', () => {
    stop = true;
  });
  // One untimed scrape first: connection set-up and the first render's JIT are not a scrape's cost.
  await (await fetch(url)).text();
  process.send('ready');
  while (!stop) {
    const t = performance.now();
    const res = await fetch(url, {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
    });
    bytes = (await res.text()).length;
    lat.push(performance.now() - t);
    await new Promise((r) => setTimeout(r, Math.max(0, Number(interval) - (performance.now() - t))));
  }
  process.send({ lat, bytes }, () => process.exit(0));
} else {
  await main();
}

async function main() {
  if (!existsSync(file)) generateLogFile(file, { envelope: 'e3-micros', lines: LINES });
  const data = readFileSync(file);
  // Chunks of RATE/100 lines, cut at newlines: what one 10 ms tick feeds.
  const perTick = (RATE * TICK_MS) / 1000;
  const chunks = [];
  for (let start = 0, n = 0, i = 0; i < data.length; i++) {
    if (data[i] === 10 && ++n === perTick) {
      chunks.push(data.subarray(start, i + 1));
      start = i + 1;
      n = 0;
    }
  }
  const ticks = (SECONDS * 1000) / TICK_MS;
  console.log(
    `${path.relative(ROOT, file)}: ${ticks * perTick} lines at ${RATE} lines/s (${perTick} lines every ${TICK_MS} ms), ${SECONDS} s per scenario`,
  );

  const rows = [];
  // Twice each, interleaved, after an untimed warm-up run (JIT); the machine is shared and noisy.
  for (const [i, interval] of [null, null, 1000, 100, null, 1000, 100].entries()) {
    const warmup = i === 0;
    const metrics = new PollscopeMetrics({ live: true });
    const sink = metrics.forRelay('bench');
    const pipeline = new RelayPipeline('bench', [sink]);
    sink.attach(pipeline);
    const server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0 });
    // Render time inside this process (the scraper's latency adds HTTP and its own scheduling).
    const renderMs = [];
    const render = metrics.render.bind(metrics);
    metrics.render = async (format) => {
      const t = performance.now();
      const out = await render(format);
      renderMs.push(performance.now() - t);
      return out;
    };
    const splitter = new LineSplitter(pipeline.openFile(file, new Date()), 1 << 20);
    let scraper = null;
    if (interval !== null) {
      scraper = fork(fileURLToPath(import.meta.url), ['--scraper', `${server.url}/metrics`, String(interval)]);
      await new Promise((r) => scraper.once('message', r));
    }
    let ingestNs = 0n;
    let late = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let k = 0; k < ticks; k++) {
      const due = t0 + k * TICK_MS;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else late = Math.max(late, -wait);
      const s = process.hrtime.bigint();
      splitter.push(chunks[k]);
      ingestNs += process.hrtime.bigint() - s;
    }
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - t0;
    let scrapes = null;
    if (scraper) {
      scrapes = await new Promise((resolve) => {
        scraper.once('message', resolve);
        scraper.send('stop');
      });
      await new Promise((r) => scraper.once('exit', r));
    }
    await server.close();
    const lines = ticks * perTick;
    if (warmup) continue;
    renderMs.sort((a, b) => a - b);
    const lat = scrapes ? scrapes.lat.slice().sort((a, b) => a - b) : [];
    const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
    rows.push({
      scraping: interval === null ? 'none' : `every ${interval} ms`,
      'ingest ns/line': Number(ingestNs) / lines,
      'CPU ns/line': ((cpu.user + cpu.system) * 1000) / lines,
      'wall s': wall / 1000,
      'max tick late ms': late,
      scrapes: lat.length,
      'scrape p50 ms': lat.length ? q(0.5) : null,
      'scrape p99 ms': lat.length ? q(0.99) : null,
      'scrape max ms': lat.length ? lat[lat.length - 1] : null,
      'scrape bytes': scrapes?.bytes ?? null,
      'render p50 ms': renderMs.length ? renderMs[Math.floor(renderMs.length / 2)] : null,
      'render max ms': renderMs.length ? renderMs[renderMs.length - 1] : null,
    });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  const base = (rows[0]['ingest ns/line'] + rows[3]['ingest ns/line']) / 2;
  for (const r of rows) {
    r['ingest vs none'] = `${((r['ingest ns/line'] / base - 1) * 100).toFixed(1)} %`;
    for (const k of Object.keys(r)) if (typeof r[k] === 'number') r[k] = Math.round(r[k] * 100) / 100;
  }
  console.table(rows);
  await saturated();
}

/**
 * Ingest at full speed (all lines at once, in 64 KiB chunks, yielding between them so the server
 * can answer) with and without a scraper every 100 ms: the throughput a scrape takes away.
 */
async function saturated() {
  const data = readFileSync(file);
  const out = [];
  for (const interval of [null, 100, null, 100, null, 100]) {
    const metrics = new PollscopeMetrics({ live: true });
    const sink = metrics.forRelay('bench');
    const pipeline = new RelayPipeline('bench', [sink]);
    sink.attach(pipeline);
    const server = await startMetricsServer(metrics, { host: '127.0.0.1', port: 0 });
    let scraper = null;
    if (interval !== null) {
      scraper = fork(fileURLToPath(import.meta.url), ['--scraper', `${server.url}/metrics`, String(interval)]);
      await new Promise((r) => scraper.once('message', r));
    }
    const splitter = new LineSplitter(pipeline.openFile(file, new Date()), 1 << 20);
    const t0 = performance.now();
    for (let pass = 0; pass < 6; pass++) {
      // ~1 s of ingest: the log 6 times over (log time restarts: a clock step)
      for (let off = 0; off < data.length; off += 65536) {
        splitter.push(data.subarray(off, Math.min(data.length, off + 65536)));
        await new Promise((r) => setImmediate(r));
      }
    }
    splitter.end();
    const ms = performance.now() - t0;
    let n = 0;
    if (scraper) {
      n = (
        await new Promise((resolve) => {
          scraper.once('message', resolve);
          scraper.send('stop');
        })
      ).lat.length;
      await new Promise((r) => scraper.once('exit', r));
    }
    await server.close();
    const l = pipeline.ingest.lines;
    const lines = l.decoded + l.ignored + l.malformed + l.oversize;
    out.push({
      scraping: interval === null ? 'none' : `every ${interval} ms`,
      'lines/s': Math.round(lines / (ms / 1000)),
      scrapes: n,
    });
  }
  console.log('full-speed ingest (what a scrape takes from a saturated pipeline):');
  console.table(out);
}
