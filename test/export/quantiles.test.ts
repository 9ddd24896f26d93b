/**
 * DurationDistribution keeps only the window of bins its values fell in: against the plain
 * distribution with every bin allocated up front (as it was), on generated durations.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { DurationDistribution } from '../../src/export/quantiles.js';

const MAX_EXP = 48;

/** The distribution as it was: all `sub * MAX_EXP + 1` bins from the start. */
class PlainDistribution {
  private readonly bins: Float64Array;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(private readonly sub: number) {
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
}

/** Durations as relays log them (ns to hours), and the odd ones: 0, negative, huge, NaN, Infinity. */
const durationArb = fc.oneof(
  fc.integer({ min: 0, max: 2_000_000 }),
  fc.double({ min: 0, max: 1e15, noNaN: true }),
  fc.constantFrom(0, 0.5, -3, 1, 2 ** 48, 2 ** 60, Number.MAX_VALUE, Infinity, NaN),
);

describe('DurationDistribution (a window of bins) against all bins up front', () => {
  test.prop([fc.constantFrom(4, 32), fc.array(durationArb, { maxLength: 300 })], { numRuns: 1000 })(
    'the same count, sum, extremes and quantiles',
    (sub, values) => {
      const d = new DurationDistribution(sub);
      const plain = new PlainDistribution(sub);
      for (const v of values) {
        d.add(v);
        plain.add(v);
      }
      expect([d.count, d.sum, d.min, d.max]).toEqual([plain.count, plain.sum, plain.min, plain.max]);
      for (const q of [0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1]) expect(d.quantile(q)).toBe(plain.quantile(q));
    },
  );

  it('values far apart in both directions widen the window', () => {
    const d = new DurationDistribution(4);
    const plain = new PlainDistribution(4);
    for (const v of [1_000, 1e12, 2, 5e5, 1, 3e14, 7]) {
      d.add(v);
      plain.add(v);
      for (const q of [0.1, 0.5, 0.9]) expect(d.quantile(q)).toBe(plain.quantile(q));
    }
    expect(d.summary()).toEqual({
      count: 7,
      minNs: 1,
      p50Ns: plain.quantile(0.5),
      p90Ns: plain.quantile(0.9),
      p99Ns: plain.quantile(0.99),
      maxNs: 3e14,
      meanNs: plain.sum / 7,
    });
  });
});
