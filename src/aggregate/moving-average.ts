import { MINUTE_MS, type MetricType } from '../protocol/metric-type.js';
import { createPartial, mergePartial, type Partial } from './partial.js';
import type { Series } from './series.js';
import { quantileOf } from './sketch.js';

/**
 * What DaTtSs showed per series: the value so far in the current 5-second
 * interval and averages over the last minute of sealed partials (the twelve
 * intervals before the current one).
 */
export interface LiveSeries {
  type: MetricType;
  name: string;
  tags: string;
  /** Start of the current interval, ms. */
  intervalStartMs: number;
  /** Counter: sum so far this interval. Timer: mean this interval. Gauge: current value. Set: uniques this interval. */
  current: number | null;
  movingAverage: MovingAverage;
}

export interface MovingAverage {
  /** Samples in the window (rate-adjusted for counters and timers). */
  count: number;
  /** Counter: increments per second over the window. */
  ratePerSec: number | null;
  /** Timer: mean value. Gauge: mean of the values taken. */
  mean: number | null;
  /** Timer: 99th percentile (1% relative error). */
  p99: number | null;
  /** Timer and gauge. */
  min: number | null;
  max: number | null;
  /** Set: unique members over the window. */
  uniques: number | null;
}

export function liveView(series: Series, currentIntervalMs: number): LiveSeries {
  const window = createPartial(series.type);
  series.forEachPartial(currentIntervalMs - MINUTE_MS, currentIntervalMs, (partial) => mergePartial(window, partial));
  const current = createPartial(series.type);
  series.forEachPartial(currentIntervalMs, currentIntervalMs + 1, (partial) => mergePartial(current, partial));
  return {
    type: series.type,
    name: series.name,
    tags: series.tags,
    intervalStartMs: currentIntervalMs,
    current: currentValue(current, series),
    movingAverage: averageOf(window),
  };
}

function currentValue(partial: Partial, series: Series): number | null {
  switch (partial.type) {
    case 'counter':
      return partial.sum;
    case 'timer':
      return partial.samples === 0 ? null : partial.sum / partial.samples;
    case 'gauge':
      return series.hasGaugeValue ? series.gaugeValue : null;
    case 'set':
      return partial.members.size;
  }
}

function averageOf(partial: Partial): MovingAverage {
  const average: MovingAverage = {
    count: partial.count,
    ratePerSec: null,
    mean: null,
    p99: null,
    min: null,
    max: null,
    uniques: null,
  };
  switch (partial.type) {
    case 'counter':
      average.ratePerSec = partial.sum / (MINUTE_MS / 1000);
      break;
    case 'timer':
      if (partial.samples > 0) {
        average.mean = partial.sum / partial.samples;
        average.min = partial.min;
        average.max = partial.max;
        if (partial.sketch !== null) average.p99 = quantileOf(partial.sketch, 0.99, partial.min, partial.max);
      }
      break;
    case 'gauge':
      if (partial.count > 0) {
        average.mean = partial.sum / partial.count;
        average.min = partial.min;
        average.max = partial.max;
      }
      break;
    case 'set':
      average.uniques = partial.members.size;
      break;
  }
  return average;
}
