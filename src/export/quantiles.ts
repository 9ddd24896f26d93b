/**
 * Fixed-memory distribution of durations for the report's p50/p90/p99: log-spaced bins with
 * 32 per power of two, so a quantile is within ±1.1 % of the true value whatever the input size.
 * (Prometheus histograms, with operator-chosen buckets, are the metrics exporter's business.)
 */
const SUB = 32;
const MAX_EXP = 48; // 2^48 ns ≈ 3.3 days

/** Powers of two a distribution's window grows by beyond the value that widened it. */
const GROW_POWERS = 2;
const NO_BINS = new Float64Array(0);

export class DurationDistribution {
  /**
   * Counts of bins [first, first + bins.length) of the `sub * MAX_EXP + 1` bins, grown as values
   * come: bins outside hold 0, and one per connection need not be 1.5 KB from the start (13k
   * connections in 1M lines of a relay's log).
   */
  private bins = NO_BINS;
  private first = 0;
  /** The last bin: longer durations count in it. */
  private readonly top: number;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  /** sub: bins per power of two (32: ±1.1 %, 12 KB; 4: ±9 %, 1.5 KB for one per connection). */
  constructor(private readonly sub = SUB) {
    this.top = sub * MAX_EXP;
  }

  add(ns: number): void {
    const v = ns < 1 ? 1 : ns;
    const idx = Math.min(this.top, Math.floor(Math.log2(v) * this.sub));
    // (a NaN index counts in no bin, as it did in the full array)
    let i = idx - this.first;
    if (i < 0 || i >= this.bins.length) i = this.grow(idx);
    this.bins[i]++;
    this.count++;
    this.sum += ns;
    if (ns < this.min) this.min = ns;
    if (ns > this.max) this.max = ns;
  }

  /**
   * Widens the window to hold bin `idx`; its index in it. The first window spans ten powers of
   * two around the first value (a connection's polls mostly stay inside: allocating a typed
   * array costs ~0.3 µs), later ones GROW_POWERS more on the side that grew.
   */
  private grow(idx: number): number {
    const old = this.bins;
    const sub = this.sub;
    let first: number;
    let last: number;
    if (old.length === 0) {
      first = Math.max(0, idx - 4 * sub);
      last = Math.min(this.top + 1, idx + 1 + 6 * sub);
    } else {
      const end = this.first + old.length;
      first = idx < this.first ? Math.max(0, idx - GROW_POWERS * sub) : this.first;
      last = idx >= end ? Math.min(this.top + 1, idx + 1 + GROW_POWERS * sub) : end;
    }
    const bins = new Float64Array(last - first);
    if (old.length > 0) bins.set(old, this.first - first);
    this.bins = bins;
    this.first = first;
    return idx - first;
  }

  /** q in [0,1]; NaN when empty. Exact at the extremes (min, max). */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * this.count;
    let seen = 0;
    // the bins before the window hold 0: `seen` reaches rank inside it or not at all
    for (let j = 0; j < this.bins.length; j++) {
      seen += this.bins[j];
      if (seen >= rank) {
        const mid = 2 ** ((this.first + j + 0.5) / this.sub);
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  summary(): DistributionSummary | null {
    if (this.count === 0) return null;
    return {
      count: this.count,
      minNs: this.min,
      p50Ns: this.quantile(0.5),
      p90Ns: this.quantile(0.9),
      p99Ns: this.quantile(0.99),
      maxNs: this.max,
      meanNs: this.sum / this.count,
    };
  }
}

export interface DistributionSummary {
  count: number;
  minNs: number;
  p50Ns: number;
  p90Ns: number;
  p99Ns: number;
  maxNs: number;
  meanNs: number;
}
