import { CounterPartial, GaugePartial, TimerPartial, type Partial } from '../aggregate/partial.js';
import { createSketch } from '../aggregate/sketch.js';

/**
 * The 5-second partials of DaTtSs clients (`PUT /agg`), turned into ours.
 * Counts, sums, minima, maxima and a gauge's last value carry over exactly.
 * A DaTtSs timer partial carries no distribution, only `bot` and `top`
 * (about its 10th and 90th percentiles): its sketch is rebuilt from a
 * stand-in distribution with those points, so timer percentiles of DaTtSs
 * data are estimates (docs/protocol.md says so).
 */
export interface DattssPartial {
  sum: number;
  cnt: number;
  min?: number | undefined;
  max?: number | undefined;
  lst?: number | undefined;
  bot?: number | undefined;
  top?: number | undefined;
}

export type DattssKind = 'c' | 'ms' | 'g';

export function partialFromDattss(kind: DattssKind, source: DattssPartial, atMs: number): Partial {
  switch (kind) {
    case 'c': {
      const partial = new CounterPartial();
      partial.count = source.cnt;
      partial.sum = source.sum;
      return partial;
    }
    case 'g': {
      const partial = new GaugePartial();
      const mean = source.sum / source.cnt;
      partial.count = source.cnt;
      partial.sum = source.sum;
      partial.min = source.min ?? mean;
      partial.max = source.max ?? mean;
      partial.last = source.lst ?? mean;
      partial.lastAtMs = atMs;
      return partial;
    }
    case 'ms':
      return timerPartial(source);
  }
}

function timerPartial(source: DattssPartial): TimerPartial {
  const partial = new TimerPartial();
  const { cnt, sum } = source;
  const mean = sum / cnt;
  const min = source.min ?? mean;
  const max = source.max ?? mean;
  partial.count = cnt;
  partial.samples = cnt;
  partial.sum = sum;
  partial.min = min;
  partial.max = max;
  // Stand-in values: the extremes once each, a tenth of the rest at bot and at
  // top, and the remainder at the value that keeps the sum right.
  const weights = new Map<number, number>();
  const put = (value: number, weight: number): void => {
    if (weight > 0) weights.set(value, (weights.get(value) ?? 0) + weight);
  };
  if (cnt <= 2) {
    put(min, 1);
    put(cnt === 1 ? min : max, cnt - 1);
  } else {
    const tail = Math.floor((cnt - 2) / 10);
    const middle = cnt - 2 - 2 * tail;
    const bot = clamp(source.bot ?? min, min, max);
    const top = clamp(source.top ?? max, min, max);
    const rest = sum - min - max - tail * (bot + top);
    put(min, 1);
    put(max, 1);
    put(bot, tail);
    put(top, tail);
    put(clamp(middle > 0 ? rest / middle : mean, min, max), middle);
  }
  const sketch = createSketch();
  let sumSquares = 0;
  for (const [value, weight] of weights) {
    sketch.accept(value, weight);
    sumSquares += value * value * weight;
  }
  partial.sketch = sketch;
  partial.sumSquares = sumSquares;
  return partial;
}

function clamp(value: number, low: number, high: number): number {
  return value < low ? low : value > high ? high : value;
}
