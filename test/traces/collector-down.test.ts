/**
 * The collector goes down under load, then answers 503, then comes back: ingest never waits for
 * it, the spans queued for export stay under their bound, what could not be sent is counted
 * (and logged, at most once a minute), and export resumes by itself.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OtlpReceiver } from './otlp-receiver.js';
import { TurnTraceSink } from '../../src/export/traces.js';
import { RelayPipeline } from '../../src/pipeline.js';
import { LineSplitter, readFileLines } from '../../src/source/file-lines.js';
import { generateLogFile } from '../../src/bench/generate.js';
import { WAIT_MS } from '../helpers.js';

const receiver = new OtlpReceiver();
let tmp: string;
const savedTimeout = process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT;

beforeAll(async () => {
  await receiver.start();
  tmp = mkdtempSync(path.join(tmpdir(), 'pollscope-collector-down-'));
});
afterAll(async () => {
  await receiver.stop();
  rmSync(tmp, { recursive: true, force: true });
  if (savedTimeout === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT;
  else process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = savedTimeout;
});

it(
  'collector down, then failing, then back: ingest continues, queue bounded, drops counted, export resumes',
  async () => {
    const files = [1, 2, 3, 4].map((seed) => {
      const file = path.join(tmp, `part-${seed}.log`);
      generateLogFile(file, { envelope: 'e3-micros', lines: seed === 2 ? 200_000 : 10_000, seed });
      return file;
    });
    // The exporter gives up on a batch after 1.5 s of retries (honouring the standard variable).
    process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = '1500';
    const logged: string[] = [];
    const bound = 1_000;
    const sink = new TurnTraceSink('relay-down', {
      endpoint: receiver.url,
      keepFraction: 1,
      maxSpansPerSec: Infinity,
      maxQueuedSpans: bound,
      maxExportBatchSize: 200,
      scheduledDelayMs: 20,
      log: (m) => logged.push(m),
    });
    const pipeline = new RelayPipeline('relay-down', [sink]);
    let maxQueued = 0;
    let maxHeap = 0;
    const feed = async (file: string): Promise<{ lines: number; ms: number }> => {
      const t0 = performance.now();
      const assembler = pipeline.openFile(file, new Date());
      const read = await readFileLines(file, assembler, {
        maxLineBytes: 1 << 20,
        chunkBytes: 256 * 1024,
        onProgress: () => {
          maxQueued = Math.max(maxQueued, sink.queuedSpans);
          maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed);
        },
      });
      assembler.flush();
      return { lines: read.lines, ms: performance.now() - t0 };
    };
    /** Turns (trace roots) received whose wait was in `file`. */
    const receivedFrom = (file: string) =>
      receiver.spans.filter((s) => s.name === 'reactor.turn' && s.attributes['log.file.path'] === file).length;

    const started = Date.now();
    try {
      // 1. Collector up.
      await feed(files[0]);
      await sink.forceFlush();
      expect(receivedFrom(files[0])).toBeGreaterThan(100);
      expect(sink.counters.spansDropped.queue_full).toBe(0);
      const heapBefore = process.memoryUsage().heapUsed;

      // 2. Collector down while 200k lines arrive: ingest does not wait.
      await receiver.stop();
      maxQueued = 0;
      const down = await feed(files[1]);
      expect(down.lines).toBe(200_000);
      expect(maxQueued).toBeLessThanOrEqual(bound);
      expect(sink.queuedSpans).toBeLessThanOrEqual(bound);
      expect(sink.counters.spansDropped.queue_full).toBeGreaterThan(1_000);
      // Without the bound every span of 200k lines (~10k) would be held; with it the heap stays flat.
      expect(maxHeap - heapBefore).toBeLessThan(64 * 1024 * 1024);
      expect(receivedFrom(files[1])).toBe(0);

      // 3. Collector back but answering 503 (retryable): the exporter retries, then gives up and we count it.
      await receiver.start(receiver.port);
      receiver.failWith = 503;
      await feed(files[2]);
      await sink.forceFlush();
      expect(receiver.rejected).toBeGreaterThan(0);
      expect(sink.counters.exportErrors).toBeGreaterThan(0);
      expect(sink.counters.spansDropped.export_failed).toBeGreaterThan(0);

      // 4. Healthy again: export resumes by itself.
      receiver.failWith = null;
      const exportedBefore = sink.counters.spansExported;
      const receivedBefore = receiver.spans.length;
      await feed(files[3]);
      pipeline.finish();
      await sink.shutdown(WAIT_MS);
      expect(receivedFrom(files[3])).toBeGreaterThan(100);
      expect(sink.counters.spansExported - exportedBefore).toBe(receiver.spans.length - receivedBefore);
      expect(sink.queuedSpans).toBe(0);

      // Every span made was exported or counted as dropped for a reason.
      const c = sink.counters;
      expect(c.spansExported).toBe(receiver.spans.filter((s) => s.service === 'relay-down').length);
      // Drops are logged, not per span: at most once a minute plus the summary at shutdown (a slow,
      // loaded machine may take over a minute to get here: one more log per minute is allowed).
      const dropLogs = logged.filter((m) => m.startsWith('spans dropped'));
      expect(dropLogs.length).toBeGreaterThanOrEqual(1);
      expect(dropLogs.length).toBeLessThanOrEqual(2 + Math.floor((Date.now() - started) / 60_000));
      expect(dropLogs.at(-1)).toMatch(/queue_full [1-9]\d*, trace_limit \d+, export_failed [1-9]/);
    } finally {
      await sink.shutdown(1_000);
    }
  },
  4 * WAIT_MS,
); // four feeds (230k lines) and two flushes, each well under a minute even under load

it(
  'a reader that can wait (replay) paced by backpressure() loses nothing to a small queue',
  async () => {
    // The exporter's own default timeout, not the 1.5 s the test above needs: here a slow export on a
    // loaded machine must not be given up (and counted as failed although the receiver got it).
    if (savedTimeout === undefined) delete process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT;
    else process.env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT = savedTimeout;
    const file = path.join(tmp, 'paced.log');
    generateLogFile(file, { envelope: 'e3-micros', lines: 40_000, seed: 9 });
    const sink = new TurnTraceSink('relay-paced', {
      endpoint: receiver.url,
      keepFraction: 1,
      maxSpansPerSec: Infinity,
      maxQueuedSpans: 300,
      maxExportBatchSize: 100,
      scheduledDelayMs: 5,
      log: () => undefined,
    });
    try {
      const pipeline = new RelayPipeline('relay-paced', [sink]);
      const assembler = pipeline.openFile(file, new Date());
      const splitter = new LineSplitter(assembler, 1 << 20);
      const data = readFileSync(file);
      let waited = 0;
      for (let at = 0; at < data.length; at += 64 * 1024) {
        splitter.push(data.subarray(at, Math.min(data.length, at + 64 * 1024)));
        const wait = sink.backpressure();
        if (wait) {
          waited++;
          await wait;
        }
        expect(sink.queuedSpans).toBeLessThanOrEqual(300);
      }
      splitter.end();
      assembler.flush();
      pipeline.finish();
      await sink.shutdown(WAIT_MS);
      expect(waited).toBeGreaterThan(0);
      expect(sink.counters.spansDropped.queue_full).toBe(0);
      expect(sink.counters.turnsDropped).toBe(0);
      expect(receiver.spans.filter((s) => s.service === 'relay-paced')).toHaveLength(sink.counters.spansExported);
      expect(sink.counters.spansExported).toBeGreaterThan(1_000);
    } finally {
      await sink.shutdown(1_000);
    }
  },
  2 * WAIT_MS,
); // 40k lines paced by the exporter, then its shutdown
