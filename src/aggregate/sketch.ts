import { DDSketch } from '@datadog/sketches-js';
import { SKETCH_RELATIVE_ACCURACY } from '../protocol/metric-type.js';

/**
 * The quantile sketch: DDSketch with 1% relative error, from Datadog's
 * maintained implementation. It merges exactly (bin counts add), so a minute's
 * p99 is the p99 of all its samples within 1%, whatever the merge order. Its
 * protobuf encoding is Datadog's standard one, so stored sketches can be read
 * by any DDSketch implementation.
 */
export type QuantileSketch = DDSketch;

export function createSketch(): QuantileSketch {
  return new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
}

export function encodeSketch(sketch: QuantileSketch): Uint8Array {
  return sketch.toProto();
}

export function decodeSketch(bytes: Uint8Array): QuantileSketch {
  return DDSketch.fromProto(bytes);
}

/**
 * The nearest-rank quantile `q` (0..1): the smallest recorded value with at
 * least q·n values at or below it — for 1..1000, p99 is 990; for [10, 30], 30 —
 * within the sketch's 1% relative error. DDSketch's own getValueAtQuantile
 * reads the value at 0-based rank floor(q·(n−1)), which for small n lies well
 * below what users mean by p99 (10 for [10, 30]), so the rank is translated.
 * The result is clamped into the exact [min, max] tracked beside the sketch:
 * a bucket's representative value can lie just outside the observed range.
 */
export function quantileOf(sketch: QuantileSketch, q: number, min: number, max: number): number {
  const n = sketch.count;
  // 0-based nearest rank; the epsilon keeps 0.99 × 1000 from rounding up to rank 990.
  const rank = Math.max(0, Math.ceil(q * n - 1e-9) - 1);
  const value = n <= 1 ? sketch.getValueAtQuantile(q) : sketch.getValueAtQuantile(Math.min(1, (rank + 0.5) / (n - 1)));
  return value < min ? min : value > max ? max : value;
}
