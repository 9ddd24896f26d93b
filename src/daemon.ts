/**
 * `pollscope run`: the live daemon. Sources (followed files, stdin) → one RelayPipeline per
 * relay → observation sinks, with a stall watchdog per relay, periodic checkpoints, and reload.
 *
 * Exporters attach per relay through `DaemonHooks.sinksFor` (the one place where per-relay sinks
 * are created); they see the replay observations plus `activeStall` from the watchdog.
 * Tests and benchmarks can run it in-process: `startDaemon(config)` … `daemon.stop()`.
 */
import { closeSync, fstatSync, openSync, truncateSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { fanOut, RelayPipeline } from './pipeline.js';
import type { RunConfig } from './config.js';
import type { Thresholds } from './reactor/model.js';
import type { ActiveStallObservation, ObservationSink } from './reactor/observations.js';
import { StallWatchdog, stderrStallListener } from './reactor/watchdog.js';
import { CheckpointStore } from './source/checkpoint.js';
import { StdinSource, STDIN_NAME } from './source/stdin.js';
import { Tailer } from './source/tailer.js';
import { TimelineSink } from './export/timeline.js';

export interface DaemonHooks {
  /** Exporters' sinks for a relay, created when the relay's first source opens. */
  sinksFor?(relay: string, pipeline: RelayPipeline): ObservationSink[];
  /** Operational messages and the interim stall lines (default: stderr). */
  notice?(line: string): void;
  /** Input for `stdin` sources (default process.stdin). */
  stdin?: Readable;
  /** Called after each chunk of lines went through a relay's pipeline (benchmarks measure latency here). */
  afterChunk?(relay: string): void;
  /** All sources ended (stdin closed and no files followed): the CLI stops the daemon. */
  inputEnded?(): void;
  /** Keep each relay's timeline (for /timeline) over this much log time; undefined: none kept. */
  timelineWindowNs?: number;
}

export interface RelayState {
  readonly relay: string;
  readonly pipeline: RelayPipeline;
  readonly watchdog: StallWatchdog;
  /** The pipeline's sinks: the watchdog's, then the exporters'. */
  readonly sinks: ObservationSink[];
  readonly timeline: TimelineSink | null;
}

export class Daemon {
  readonly relays = new Map<string, RelayState>();
  readonly tailer: Tailer;
  /** Shared by every relay's model and watchdog; reload changes it in place. */
  readonly thresholds: Thresholds;
  private readonly store: CheckpointStore;
  private stdin: StdinSource | null = null;
  private tick: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private auditFd: number | null = null;
  private readonly audit: string[] = [];
  private lastSaved = '';
  private stopping: Promise<void> | null = null;
  private readonly notice: (line: string) => void;
  private readonly listener;

  constructor(
    private cfg: RunConfig,
    private readonly hooks: DaemonHooks = {},
  ) {
    this.notice = hooks.notice ?? ((line) => process.stderr.write(line.endsWith('\n') ? line : line + '\n'));
    this.listener = stderrStallListener(this.notice);
    this.thresholds = { ...cfg.thresholds };
    this.store = new CheckpointStore(cfg.checkpointPath);
    const saved = this.store.load();
    if (cfg.auditPath !== null) {
      // What the audit file holds beyond the last checkpoint belongs to lines that are read again now.
      this.auditFd = openSync(cfg.auditPath, 'a');
      truncateSync(cfg.auditPath, Math.min(saved?.auditBytes ?? 0, fstatSync(this.auditFd).size));
    }
    const self = this;
    this.tailer = new Tailer(
      {
        open: (relay, file, baseDate) => self.openFile(relay, file, baseDate),
        beforeChunk: (relay, file) => self.beforeChunk(relay, file),
        afterChunk: (relay, readAtMs) => self.afterChunk(relay, readAtMs),
        notice: (m) => self.notice(`pollscope: ${m}`),
      },
      {
        pollIntervalMs: cfg.pollIntervalMs,
        maxLineBytes: cfg.maxLineBytes,
        from: cfg.from,
        flushRecordAfterMs: cfg.flushRecordAfterMs,
        flushPartialAfterMs: cfg.flushPartialAfterMs,
        drainGraceMs: cfg.drainGraceMs,
        watch: cfg.watch,
      },
      saved?.files ?? [],
      saved ? Date.parse(saved.savedAt) : Number.NaN,
    );
  }

  start(): void {
    const cfg = this.cfg;
    this.tailer.setSources(cfg.logs);
    this.tailer.start();
    if (cfg.stdin !== null) {
      const relay = cfg.stdin;
      this.stdin = new StdinSource(
        this.hooks.stdin ?? process.stdin,
        relay,
        this.openFile(relay, STDIN_NAME, new Date()),
        cfg.maxLineBytes,
        { flushRecordAfterMs: cfg.flushRecordAfterMs, flushPartialAfterMs: cfg.flushPartialAfterMs },
        {
          beforeChunk: () => this.beforeChunk(relay, STDIN_NAME),
          afterChunk: (t) => this.afterChunk(relay, t),
          end: () => {
            if (this.cfg.logs.length === 0) this.hooks.inputEnded?.();
          },
        },
      );
    }
    this.tick = setInterval(() => this.onTick(), cfg.watchdogTickMs);
    this.checkpointTimer = setInterval(() => this.commit(), cfg.checkpointIntervalMs);
  }

  /** SIGHUP: new file list and thresholds; positions are kept (open files stay open). */
  reload(cfg: RunConfig): void {
    Object.assign(this.thresholds, cfg.thresholds);
    this.cfg = { ...this.cfg, logs: cfg.logs, thresholds: cfg.thresholds };
    this.tailer.setSources(cfg.logs);
    this.tailer.pollAll();
  }

  /**
   * Stop: lines already read go through (held records are flushed), the relays' pipelines finish
   * (sinks flush), and the checkpoint is saved. Partial lines stay unread: the checkpoint is before them.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.tick) clearInterval(this.tick);
      if (this.checkpointTimer) clearInterval(this.checkpointTimer);
      this.stdin?.stop();
      await this.tailer.stop();
      this.commit();
      for (const r of this.relays.values()) r.pipeline.finish();
      if (this.auditFd !== null) {
        closeSync(this.auditFd);
        this.auditFd = null;
      }
    })();
    return this.stopping;
  }

  /** Saves positions (and the audit records they cover) if anything moved since the last save. */
  commit(): void {
    let auditBytes: number | undefined;
    if (this.auditFd !== null) {
      if (this.audit.length > 0) {
        writeSync(this.auditFd, this.audit.join('\n') + '\n');
        this.audit.length = 0; // the same array: openFile's trackers hold it
      }
      auditBytes = fstatSync(this.auditFd).size;
    }
    const positions = this.tailer.positions();
    const key = JSON.stringify(positions) + String(auditBytes);
    if (key === this.lastSaved) return;
    this.store.save(positions, auditBytes);
    this.lastSaved = key;
  }

  /** The active stall of every relay that has one (status, tests). */
  activeStalls(): Array<{ relay: string; stall: ActiveStallObservation }> {
    const out = [];
    for (const r of this.relays.values())
      if (r.watchdog.current) out.push({ relay: r.relay, stall: r.watchdog.current });
    return out;
  }

  /** Each relay's timeline sink (when kept): what /timeline shows. */
  timelines(): Map<string, TimelineSink> {
    const out = new Map<string, TimelineSink>();
    for (const r of this.relays.values()) if (r.timeline) out.set(r.relay, r.timeline);
    return out;
  }

  // ------------------------------------------------------------------------------------------

  private relayState(relay: string): RelayState {
    let r = this.relays.get(relay);
    if (r !== undefined) return r;
    const sinks: ObservationSink[] = [];
    const pipeline = new RelayPipeline(relay, [fanOut(sinks)], this.thresholds); // sinks are added below
    const watchdog = new StallWatchdog(relay, pipeline.model, this.thresholds, this.listener);
    sinks.push(watchdog.sink);
    const exporters = this.hooks.sinksFor?.(relay, pipeline) ?? [];
    const w = this.hooks.timelineWindowNs;
    const timeline = w !== undefined ? new TimelineSink({ windowNs: w }) : null;
    if (timeline) exporters.push(timeline);
    sinks.push(...exporters);
    watchdog.sinks.push(...exporters);
    r = { relay, pipeline, watchdog, sinks, timeline };
    this.relays.set(relay, r);
    return r;
  }

  private openFile(relay: string, file: string, baseDate: Date) {
    const { pipeline } = this.relayState(relay);
    if (this.auditFd === null) return pipeline.openFile(file, baseDate);
    const audit = this.audit;
    return pipeline.openFile(file, baseDate, (rec) => {
      const nl = rec.message.indexOf('\n');
      audit.push(`${relay}\t${nl < 0 ? rec.message : rec.message.slice(0, nl)}`);
    });
  }

  private beforeChunk(relay: string, file: string): void {
    const { pipeline } = this.relayState(relay);
    pipeline.model.setFile(file);
    pipeline.ingest.file = file;
    pipeline.firstRecordSec = Number.NaN;
  }

  private afterChunk(relay: string, readAtMs: number): void {
    const r = this.relayState(relay);
    // The chunk's oldest line: how late lines reach us (a buffered logger, our own lag).
    r.watchdog.clock.sample(readAtMs, r.pipeline.firstRecordSec);
    this.hooks.afterChunk?.(relay);
  }

  private onTick(): void {
    const now = Date.now();
    this.tailer.housekeep(now);
    this.stdin?.housekeep(now);
    for (const r of this.relays.values()) r.watchdog.tick(now);
  }
}

export function startDaemon(cfg: RunConfig, hooks: DaemonHooks = {}): Daemon {
  const d = new Daemon(cfg, hooks);
  d.start();
  return d;
}
