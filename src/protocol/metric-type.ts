/**
 * The four metric kinds dattss aggregates. Wire type letters map onto them:
 * `c` → counter; `ms`, `h`, `d` → timer; `g` → gauge; `s` → set.
 */
export type MetricType = 'counter' | 'timer' | 'gauge' | 'set';

export const METRIC_TYPES: readonly MetricType[] = ['counter', 'timer', 'gauge', 'set'];

/** Length of one partial interval: DaTtSs pushed partials every 5 s. */
export const PARTIAL_INTERVAL_MS = 5_000;
/** Length of one stored aggregate. */
export const MINUTE_MS = 60_000;
/** Start (ms) of the UTC minute containing `ms`. */
export function minuteStart(ms: number): number {
  return ms - (((ms % MINUTE_MS) + MINUTE_MS) % MINUTE_MS);
}

/** Partials per minute, the length of the ring. */
export const PARTIALS_PER_MINUTE = MINUTE_MS / PARTIAL_INTERVAL_MS;
/** Relative accuracy of every quantile sketch (DDSketch). */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
