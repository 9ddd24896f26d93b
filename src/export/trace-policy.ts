/**
 * Which turns become traces (docs/spans.md, "Volume control"): the keep decision, taken when a
 * turn closes with the whole turn known, and the spans-per-second cap on log time. The bound on
 * spans queued for export is the sink's (it knows what is in flight).
 */
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { SamplingDecision, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
import { compareTime, diffNs, type LogTime } from '../time.js';
import type { Turn } from './turns.js';

/** Why a turn was kept (root attribute `pollscope.keep`). */
export type KeepReason = 'stall' | 'slow_poll' | 'slow_wait' | 'slow_wake_to_poll' | 'sampled';

export type DropReason = 'sampled_out' | 'rate_limit' | 'queue_full' | 'trace_limit' | 'export_failed';
export const DROP_REASONS: readonly DropReason[] = [
  'sampled_out',
  'rate_limit',
  'queue_full',
  'trace_limit',
  'export_failed',
];

export interface KeepPolicyOptions {
  /** Fraction of ordinary turns kept. */
  keepFraction: number;
  /** Keep every turn whose wait blocked at least this long. */
  keepWaitNs: number;
  /** Keep every turn with a wake→poll delay at least this long. */
  keepWakeToPollNs: number;
}

export class KeepPolicy {
  /** The SDK's ratio sampler applied to the deterministic trace id: a replay keeps the same turns every time. */
  private readonly sampler: TraceIdRatioBasedSampler;

  constructor(private readonly opts: KeepPolicyOptions) {
    this.sampler = new TraceIdRatioBasedSampler(opts.keepFraction);
  }

  /** The ratio sample on a deterministic trace id (a connection's trace with nothing slow in it). */
  sampled(traceId: string): boolean {
    return this.sampler.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
  }

  /** Why the turn is kept, or null when it is an ordinary turn not sampled. */
  keepReason(turn: Turn): KeepReason | null {
    let slowPoll = false;
    for (const st of turn.stalls)
      if (st.kind !== 'slow_poll') return 'stall';
      else slowPoll = true;
    for (const p of turn.polls) {
      if (p.stall !== null) {
        if (p.stall.kind === 'blocked_poll') return 'stall';
        slowPoll = true;
      }
    }
    if (slowPoll) return 'slow_poll';
    if (turn.wait.durationNs !== null && turn.wait.durationNs >= this.opts.keepWaitNs) return 'slow_wait';
    for (const p of turn.polls)
      if (p.delay !== null && p.delay.delayNs >= this.opts.keepWakeToPollNs) return 'slow_wake_to_poll';
    for (const d of turn.delays) if (d.delayNs >= this.opts.keepWakeToPollNs) return 'slow_wake_to_poll';
    if (this.sampler.shouldSample(ROOT_CONTEXT, turn.traceId).decision === SamplingDecision.RECORD_AND_SAMPLED)
      return 'sampled';
    return null;
  }
}

/**
 * Token bucket refilled by log time: a replay exports what the daemon would have, whatever its
 * speed. A turn passes while the bucket is not empty and may overdraw it (a turn is never cut):
 * over any stretch, spans ≤ rate × seconds + one second's burst + one turn.
 */
export class LogTimeRateLimit {
  private tokens: number;
  private tokensAt: LogTime | null = null;

  constructor(private readonly spansPerSec: number) {
    this.tokens = spansPerSec;
  }

  /** Whether `spans` spans of a turn ending at `end` pass; `always` (a stall) passes an empty bucket too. */
  take(spans: number, end: LogTime, always: boolean): boolean {
    const rate = this.spansPerSec;
    if (this.tokensAt !== null) {
      const dt = diffNs(this.tokensAt, end);
      if (dt > 0) this.tokens = Math.min(rate, this.tokens + (dt / 1e9) * rate);
    }
    if (this.tokensAt === null || compareTime(end, this.tokensAt) > 0) this.tokensAt = end;
    if (!always && this.tokens <= 0) return false;
    this.tokens -= spans;
    return true;
  }
}
