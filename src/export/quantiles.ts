/**
 * Fixed-memory distribution of durations for the report's p50/p90/p99: log-spaced bins with
 * 32 per power of two, so a quantile is within ±1.1 % of the true value whatever the input size.
 * (Prometheus histograms, with operator-chosen buckets, are the metrics exporter's business.)
 */
const SUB = 32;
const MAX_EXP = 48; // 2^48 ns ≈ 3.3 days

export class DurationDistribution {
  private readonly bins: Float64Array;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  /** sub: bins per power of two (32: ±1.1 %, 12 KB; 4: ±9 %, 1.5 KB for one per connection). */
  constructor(private readonly sub = SUB) {
    this.bins = new Float64Array(sub * MAX_EXP + 1);
  }

  add(ns: number): void {
    const v = ns < 1 ? 1 : ns;
    const idx = Math.min(this.bins.length - 1, Math.floor(Math.log2(v) * this.sub));
    this.bins[idx]++;
    this.count++;
    this.sum += ns;
    if (ns < this.min) this.min = ns;
    if (ns > this.max) this.max = ns;
  }

  /** q in [0,1]; NaN when empty. Exact at the extremes (min, max). */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.bins.length; i++) {
      seen += this.bins[i];
      if (seen >= rank) {
        const mid = 2 ** ((i + 0.5) / this.sub);
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
