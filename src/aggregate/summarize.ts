import { MINUTE_MS, type MetricType } from '../protocol/metric-type.js';
import { createPartial, mergePartial, type Partial } from './partial.js';
import type { Series } from './series.js';
import { encodeSketch, quantileOf } from './sketch.js';

/**
 * One series' aggregate of one UTC minute: what the store writes. Fields that
 * mean nothing for a type are null (see docs/schema.md for each column).
 */
export interface MinuteAggregate {
  type: MetricType;
  name: string;
  tags: string;
  /** Minute start, Unix seconds. */
  tsSec: number;
  /** Counter/timer: rate-adjusted Σ 1/rate. Gauge/set: number of updates. */
  count: number;
  /** Timer: raw values recorded (mean = sum / samples). Other types: equal to `count`. */
  samples: number;
  /** Counter: Σ value/rate. Timer: Σ values. Gauge: Σ values taken. Set: null. */
  sum: number | null;
  sumSquares: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  /** When `last` was set (ms), so merged rows keep the newest. */
  lastAtMs: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  /** Timer: the encoded DDSketch (aggregate/sketch.ts). */
  sketch: Uint8Array | null;
  /** Set: the exact members of the minute. */
  members: string[] | null;
}

/** The aggregate of a series over [minuteStartMs, +60 s), or null if it had no samples then. */
export function summarizeMinute(series: Series, minuteStartMs: number): MinuteAggregate | null {
  const merged = createPartial(series.type);
  series.forEachPartial(minuteStartMs, minuteStartMs + MINUTE_MS, (partial) => mergePartial(merged, partial));
  return aggregateOf(merged, series.name, series.tags, Math.floor(minuteStartMs / 1000));
}

/** Turns a merged partial into a row; null when it holds no samples. */
export function aggregateOf(partial: Partial, name: string, tags: string, tsSec: number): MinuteAggregate | null {
  if (partial.count === 0) return null;
  const row: MinuteAggregate = {
    type: partial.type,
    name,
    tags,
    tsSec,
    count: partial.count,
    samples: partial.count,
    sum: null,
    sumSquares: null,
    min: null,
    max: null,
    last: null,
    lastAtMs: null,
    p50: null,
    p90: null,
    p95: null,
    p99: null,
    sketch: null,
    members: null,
  };
  switch (partial.type) {
    case 'counter':
      row.sum = partial.sum;
      break;
    case 'timer': {
      row.samples = partial.samples;
      row.sum = partial.sum;
      row.sumSquares = partial.sumSquares;
      row.min = partial.min;
      row.max = partial.max;
      const sketch = partial.sketch;
      if (sketch !== null) {
        row.p50 = quantileOf(sketch, 0.5, partial.min, partial.max);
        row.p90 = quantileOf(sketch, 0.9, partial.min, partial.max);
        row.p95 = quantileOf(sketch, 0.95, partial.min, partial.max);
        row.p99 = quantileOf(sketch, 0.99, partial.min, partial.max);
        row.sketch = encodeSketch(sketch);
      }
      break;
    }
    case 'gauge':
      row.sum = partial.sum;
      row.min = partial.min;
      row.max = partial.max;
      row.last = partial.last;
      row.lastAtMs = partial.lastAtMs;
      break;
    case 'set':
      row.members = [...partial.members];
      break;
  }
  return row;
}
