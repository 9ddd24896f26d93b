/**
 * `pollscope run`: the live daemon. Sources (followed files, stdin) → one RelayPipeline per
 * relay → observation sinks, with a stall watchdog per relay, periodic checkpoints, and reload.
 *
 * Exporters attach per relay through `DaemonHooks.sinksFor` (the one place where per-relay sinks
 * are created); they see the replay observations plus `activeStall` from the watchdog.
 * Tests and benchmarks can run it in-process: `startDaemon(config)` … `daemon.stop()`.
 *
 * Faults (docs/live.md, "Failure modes"): a checkpoint that cannot be used at start is a
 * CheckpointError (exit 2); a save that fails is logged once per episode, counted, reported by
 * `health()` (/readyz) and retried on the next interval while lines keep flowing; an unexpected
 * error in one relay's pipeline or exporters is logged once per episode and counted, and that
 * relay and the others go on. No timer or callback of the daemon lets an error escape.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fanOut, RelayPipeline } from './pipeline.js';
import { keepText } from './parse/record.js';
import type { RunConfig } from './config.js';
import type { Thresholds } from './reactor/model.js';
import { forwardingSink, type ActiveStallObservation, type ObservationSink } from './reactor/observations.js';
import { StallWatchdog, stderrStallListener } from './reactor/watchdog.js';
import {
  CheckpointError,
  CheckpointStore,
  defaultCheckpointPath,
  describeSaveError,
  type CheckpointState,
} from './source/checkpoint.js';
import { StdinSource, STDIN_NAME } from './source/stdin.js';
import { Tailer } from './source/tailer.js';
import { TimelineSink } from './export/timeline.js';

export interface DaemonHooks {
  /** Exporters' sinks for a relay, created when the relay's first source opens. */
  sinksFor?(relay: string, pipeline: RelayPipeline): ObservationSink[];
  /** Operational messages and the live stall lines (default: stderr). */
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

/** Fault counters, read at scrape time (pollscope_checkpoint_errors_total, pollscope_pipeline_errors_total). */
export interface DaemonFaults {
  /** Failed checkpoint saves (each attempt). */
  checkpointErrors: number;
  /** Unexpected errors by relay; '' = outside any relay (the process-level last resort). */
  readonly pipelineErrors: Map<string, number>;
}

/** Errors of one kind in a row: logged when the first one comes and when they stop. */
interface FaultEpisode {
  since: Date;
  count: number;
  reason: string;
  /** Wall time of the latest error (an internal-error episode ends after FAULT_QUIET_MS without one). */
  lastMs: number;
}

/** An internal-error episode ends after this long without a new error. */
const FAULT_QUIET_MS = 10_000;

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
  /** dev:ino of the audit file (recorded in the checkpoint: we only ever cut a file we wrote). */
  private auditId: string | undefined;
  private lastSaved = '';
  private stopping: Promise<void> | null = null;
  readonly faults: DaemonFaults = { checkpointErrors: 0, pipelineErrors: new Map() };
  /** The checkpoint cannot be saved (or its lock was lost) since… */
  private saveFault: FaultEpisode | null = null;
  private lockLost: string | null = null;
  private readonly relayFaults = new Map<string, FaultEpisode>();
  /** Whether the checkpoint on disk was current after stop() (a failed last save leaves the previous one). */
  savedAtStop = false;
  /** Wall time of the last error the process-level last resort caught (installLastResort). */
  lastResortAt = Number.NEGATIVE_INFINITY;
  private readonly notice: (line: string) => void;
  private readonly listener;

  constructor(
    private cfg: RunConfig,
    private readonly hooks: DaemonHooks = {},
  ) {
    this.notice =
      hooks.notice?.bind(hooks) ?? ((line) => process.stderr.write(line.endsWith('\n') ? line : line + '\n'));
    this.listener = stderrStallListener(this.notice);
    this.thresholds = { ...cfg.thresholds };
    // The default location is made on first use; a --checkpoint's directory must exist.
    this.store = new CheckpointStore(
      cfg.checkpointPath,
      path.resolve(cfg.checkpointPath) === path.resolve(defaultCheckpointPath()),
    );
    this.store.open((reason) => this.onLockLost(reason));
    let saved: CheckpointState | null;
    try {
      saved = this.store.load();
      if (cfg.auditPath !== null) this.openAudit(cfg.auditPath, saved);
    } catch (err) {
      this.store.close();
      throw err;
    }
    this.tailer = new Tailer(
      {
        open: (relay, file, baseDate) => this.openFile(relay, file, baseDate),
        afterChunk: (relay, readAtMs, firstLogSec) => this.afterChunk(relay, readAtMs, firstLogSec),
        notice: (m) => this.notice(`pollscope: ${m}`),
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

  /**
   * `--audit-records`: what the file holds beyond the last checkpoint belongs to lines that are
   * read again now, so it is cut back to the checkpoint's length — but only a file this daemon
   * wrote (the checkpoint names it). An existing non-empty file the checkpoint does not know is
   * refused, never emptied.
   */
  private openAudit(file: string, saved: CheckpointState | null): void {
    let st = null;
    try {
      st = statSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new CheckpointError(`--audit-records ${file}: ${describeSaveError(err)}`);
    }
    if (st !== null && st.size > 0) {
      const id = `${st.dev}:${st.ino}`;
      const ours = saved?.auditBytes !== undefined && (saved.auditId === undefined || saved.auditId === id);
      if (!ours)
        throw new CheckpointError(
          `--audit-records ${file}: the file exists, is not empty and was not written with checkpoint ` +
            `${this.store.path}; pollscope only cuts back an audit file it wrote itself: move it away, delete it ` +
            `or give another file`,
        );
    }
    let fd: number;
    try {
      fd = openSync(file, 'a');
      ftruncateSync(fd, Math.min(saved?.auditBytes ?? 0, fstatSync(fd).size));
    } catch (err) {
      throw new CheckpointError(`--audit-records ${file}: ${describeSaveError(err)}`);
    }
    const fst = fstatSync(fd);
    this.auditFd = fd;
    this.auditId = `${fst.dev}:${fst.ino}`;
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
          afterChunk: (readAtMs, firstLogSec) => this.afterChunk(relay, readAtMs, firstLogSec),
          end: () => {
            if (this.cfg.logs.length === 0) this.guarded('', () => this.hooks.inputEnded?.());
          },
        },
      );
    }
    this.tick = setInterval(() => this.onTick(), cfg.watchdogTickMs);
    this.checkpointTimer = setInterval(() => this.guarded('', () => this.commit()), cfg.checkpointIntervalMs);
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
      this.guarded('', () => {
        this.savedAtStop = this.commit();
      });
      for (const r of this.relays.values()) this.guarded(r.relay, () => r.pipeline.finish());
      if (this.auditFd !== null) {
        closeSync(this.auditFd);
        this.auditFd = null;
      }
      this.store.close();
    })();
    return this.stopping;
  }

  /**
   * Saves positions (and the audit records they cover) if anything moved since the last save.
   * Never throws for the file system: a failed save is an episode (logged at its start and end,
   * each attempt counted, /readyz failing meanwhile); positions stay in memory and the next
   * interval tries again. Returns whether the checkpoint on disk is current.
   */
  commit(): boolean {
    if (!this.store.locked) {
      // Lost the lock: save nothing until it is ours again (another daemon may have taken it).
      try {
        this.store.relock((reason) => this.onLockLost(reason));
      } catch (err) {
        this.saveFailed(`${(err as Error).message}`, false);
        return false;
      }
      this.lockLost = null;
      this.notice(`pollscope: checkpoint ${this.store.path}: lock taken again; saving positions again`);
    }
    let auditBytes: number | undefined;
    if (this.auditFd !== null) {
      const before = fstatSync(this.auditFd).size;
      if (this.audit.length > 0) {
        const data = Buffer.from(this.audit.join('\n') + '\n');
        try {
          for (let done = 0; done < data.length;) done += writeSync(this.auditFd, data, done, data.length - done);
        } catch (err) {
          // Keep the records for the next attempt; cut off what part of them went in.
          try {
            ftruncateSync(this.auditFd, before);
          } catch {
            // the next attempt's length check still starts from the checkpoint's auditBytes on restart
          }
          this.saveFailed(`audit file ${this.cfg.auditPath}: ${describeSaveError(err)}`);
          return false;
        }
        this.audit.length = 0; // the same array: openFile's trackers hold it
      }
      auditBytes = fstatSync(this.auditFd).size;
    }
    const positions = this.tailer.positions();
    const key = JSON.stringify(positions) + String(auditBytes);
    if (key === this.lastSaved && this.saveFault === null) return true;
    try {
      this.store.save(positions, auditBytes, this.auditId);
    } catch (err) {
      this.saveFailed(`cannot save: ${describeSaveError(err)}`);
      return false;
    }
    this.lastSaved = key;
    if (this.saveFault !== null) {
      const f = this.saveFault;
      this.saveFault = null;
      this.notice(
        `pollscope: checkpoint ${this.store.path}: saved again after ${f.count} failed attempt${f.count === 1 ? '' : 's'} since ${f.since.toISOString()}`,
      );
    }
    return true;
  }

  /**
   * Why the daemon is not healthy now (null: it is): the checkpoint cannot be saved or its lock
   * was lost. `/readyz` answers 503 with this.
   */
  health(): string | null {
    if (Date.now() - this.lastResortAt < LAST_RESORT_EPISODE_MS)
      return 'an uncaught internal error within the last minute (see stderr; pollscope_pipeline_errors_total{relay=""})';
    if (this.lockLost !== null)
      return `checkpoint ${this.store.path}: ${this.lockLost}; positions are not saved until the lock is taken again`;
    const f = this.saveFault;
    if (f === null) return null;
    return `checkpoint ${this.store.path} not saved since ${f.since.toISOString()} (${f.count} failed attempt${f.count === 1 ? '' : 's'}): ${f.reason}; retrying every ${this.cfg.checkpointIntervalMs} ms`;
  }

  /** Runs `fn`; an error is logged once per episode and counted for `relay` ('' = the daemon itself), never thrown. */
  guarded(relay: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fault(relay, err);
    }
  }

  /** An unexpected error in `relay`'s pipeline or exporters ('' = outside any relay): counted; logged when an episode starts. */
  fault(relay: string, err: unknown): void {
    this.faults.pipelineErrors.set(relay, (this.faults.pipelineErrors.get(relay) ?? 0) + 1);
    const open = this.relayFaults.get(relay);
    if (open !== undefined) {
      open.count++;
      open.lastMs = Date.now();
      return;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    // The first frame says where: enough to find the bug without a stack on every line.
    const at = e.stack?.split('\n').find((l) => l.trimStart().startsWith('at '));
    const reason = `${e.name}: ${e.message}${at !== undefined ? ` (${at.trim()})` : ''}`;
    this.relayFaults.set(relay, { since: new Date(), count: 1, reason, lastMs: Date.now() });
    this.notice(
      `pollscope: ${relay === '' ? '' : `[${relay}] `}internal error, skipped and counted (pollscope_pipeline_errors_total); ` +
        `the other relays go on: ${reason}`,
    );
  }

  private faultEnded(relay: string, f: FaultEpisode): void {
    this.relayFaults.delete(relay);
    this.notice(
      `pollscope: ${relay === '' ? '' : `[${relay}] `}no internal error for ${FAULT_QUIET_MS / 1000} s (${f.count} since ${f.since.toISOString()})`,
    );
  }

  private saveFailed(reason: string, count = true): void {
    if (count) this.faults.checkpointErrors++;
    const f = this.saveFault;
    if (f !== null) {
      f.count++;
      f.reason = reason;
      return;
    }
    this.saveFault = { since: new Date(), count: 1, reason, lastMs: Date.now() };
    this.notice(
      `pollscope: checkpoint ${this.store.path}: ${reason}; positions are kept in memory and saving is retried every ` +
        `${this.cfg.checkpointIntervalMs} ms (lines keep flowing; /readyz fails until a save succeeds)`,
    );
  }

  private onLockLost(reason: string): void {
    this.lockLost = reason;
    this.faults.checkpointErrors++;
    this.notice(
      `pollscope: checkpoint ${this.store.path}: ${reason}; not saving positions until the lock is ours again`,
    );
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
    this.faults.pipelineErrors.set(relay, this.faults.pipelineErrors.get(relay) ?? 0);
    // A record the pipeline cannot take is skipped and counted; the next one goes on.
    pipeline.onRecordError = (err) => this.fault(relay, err);
    let exporters: ObservationSink[] = [];
    try {
      exporters = (this.hooks.sinksFor?.(relay, pipeline) ?? []).map((s) => this.guardSink(relay, s));
    } catch (err) {
      this.fault(relay, err);
    }
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
      audit.push(`${relay}\t${keepText(nl < 0 ? rec.message : rec.message.slice(0, nl), rec.raw)}`);
    });
  }

  /** firstLogSec: the chunk's oldest line (its file's assembler says), NaN when it had no timed record. */
  private afterChunk(relay: string, readAtMs: number, firstLogSec: number): void {
    const r = this.relayState(relay);
    // The chunk's oldest line: how late lines reach us (a buffered logger, our own lag).
    r.watchdog.clock.sample(readAtMs, firstLogSec);
    if (this.hooks.afterChunk) this.guarded(relay, () => this.hooks.afterChunk!(relay));
  }

  private onTick(): void {
    const now = Date.now();
    this.guarded('', () => this.tailer.housekeep(now));
    if (this.stdin !== null) this.guarded('', () => this.stdin!.housekeep(now));
    for (const r of this.relays.values()) this.guarded(r.relay, () => r.watchdog.tick(now));
    for (const [relay, f] of this.relayFaults) if (now - f.lastMs >= FAULT_QUIET_MS) this.faultEnded(relay, f);
  }

  /**
   * An exporter's sink whose errors stay its own: the model emitting into it is never interrupted
   * (its state stays consistent), the error is counted for the relay.
   */
  private guardSink(relay: string, sink: ObservationSink): ObservationSink {
    return forwardingSink((method, arg) => {
      try {
        (sink[method] as ((arg: unknown) => void) | undefined)?.call(sink, arg);
      } catch (err) {
        this.fault(relay, err);
      }
    });
  }
}

/** Last-resort errors within this long of each other are one episode. */
const LAST_RESORT_EPISODE_MS = 60_000;

/**
 * The process-level last resort for `run` (installed by the CLI, not by in-process users): an
 * error no guard caught (an uncaught exception from a timer or callback of a dependency, an
 * unhandled promise rejection) is logged with its stack once per episode, counted as
 * pollscope_pipeline_errors_total{relay=""} and reported by /readyz for a minute; the process
 * keeps running. Everything the daemon itself runs on timers is guarded, and its state only
 * moves forward per processed line, so going on is safe; a stuck state shows as /readyz failing
 * and lines not moving, and a restart resumes from the checkpoint.
 */
export function installLastResort(daemon: Daemon, write: (line: string) => void): void {
  let last = 0;
  let inEpisode = 0;
  const onError = (what: string, err: unknown): void => {
    const now = Date.now();
    daemon.faults.pipelineErrors.set('', (daemon.faults.pipelineErrors.get('') ?? 0) + 1);
    daemon.lastResortAt = now;
    if (now - last > LAST_RESORT_EPISODE_MS) inEpisode = 0;
    last = now;
    if (inEpisode++ > 0) return;
    const e = err instanceof Error ? (err.stack ?? err.message) : String(err);
    write(
      `pollscope: ${what} (counted in pollscope_pipeline_errors_total{relay=""}; further ones within a minute are ` +
        `only counted); still running: ${e}\n`,
    );
  };
  // stderr gone (a closed pipe, EPIPE) is no reason to stop reading logs.
  process.stderr.on('error', () => {});
  process.on('uncaughtException', (err) => onError('uncaught error', err));
  process.on('unhandledRejection', (reason) => onError('unhandled promise rejection', reason));
}

export function startDaemon(cfg: RunConfig, hooks: DaemonHooks = {}): Daemon {
  const d = new Daemon(cfg, hooks);
  d.start();
  return d;
}
