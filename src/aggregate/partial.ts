import type { MetricType } from '../protocol/metric-type.js';
import { createSketch, type QuantileSketch } from './sketch.js';

/**
 * Mergeable per-type aggregates of one 5-second interval. `merge` is
 * associative and commutative, so a minute is the merge of its partials in
 * any order and a client's pre-aggregated partial merges like any other.
 * Each class keeps one fixed shape for V8.
 */
export type Partial = CounterPartial | TimerPartial | GaugePartial | SetPartial;

export class CounterPartial {
  readonly type = 'counter';
  /** Rate-adjusted number of increments (Σ 1/rate). */
  count = 0;
  /** Rate-adjusted sum of increments (Σ value/rate). */
  sum = 0;

  add(value: number, rate: number): void {
    this.count += 1 / rate;
    this.sum += value / rate;
  }

  merge(other: CounterPartial): void {
    this.count += other.count;
    this.sum += other.sum;
  }

  reset(): void {
    this.count = 0;
    this.sum = 0;
  }
}

/** Values a timer partial keeps as they are before it switches to a sketch. */
const EXACT_VALUES = 32;
/** A timer partial's first value buffer, which grows fourfold up to EXACT_VALUES. */
const FIRST_VALUES = 4;

export class TimerPartial {
  readonly type = 'timer';
  /** Rate-adjusted sample count (Σ 1/rate), as Etsy's `count`. */
  count = 0;
  /** Raw number of values recorded; the mean is sum / samples. */
  samples = 0;
  sum = 0;
  sumSquares = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  /**
   * The first values of the interval, kept as they are: most 5-second
   * partials hold a few values, and a sketch costs about 2.4 KB. Past
   * EXACT_VALUES they move into a sketch (bench/README.md: 31 KB → 4.5 KB
   * per live timer series at one value per interval). A plain array of
   * doubles, not a Float64Array: past 64 bytes a typed array's backing store
   * is off-heap, and at 25 values an interval it cost 11.2 KB per series and
   * twice the RSS, against 6.2 KB in an array. Its length is its capacity,
   * set by grownValues: appending would let V8 grow it to 17 and then 43.
   */
  #values: number[] | null = null;
  #valueCount = 0;
  #sketch: QuantileSketch | null = null;

  add(value: number, rate: number): void {
    this.count += 1 / rate;
    this.samples++;
    this.sum += value;
    this.sumSquares += value * value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.#record(value);
  }

  merge(other: TimerPartial): void {
    this.count += other.count;
    this.samples += other.samples;
    this.sum += other.sum;
    this.sumSquares += other.sumSquares;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    // DDSketch.merge leaves out the other's negative bins (DataDog/sketches-js#22): timer values
    // are never negative (the parser and partial-figures refuse them), so none are lost.
    if (other.#sketch !== null) this.#materialize().merge(other.#sketch);
    else for (let i = 0; i < other.#valueCount; i++) this.#record(other.#values![i] as number);
  }

  /** The distribution as a sketch (built from the kept values on first use); null before any value. */
  get sketch(): QuantileSketch | null {
    return this.#sketch === null && this.#valueCount === 0 ? null : this.#materialize();
  }

  /** A copy of the values recorded while there is no sketch yet (at most 32); null once there is. */
  get values(): readonly number[] | null {
    if (this.#sketch !== null) return null;
    return this.#values === null ? [] : this.#values.slice(0, this.#valueCount);
  }

  /** Adds one value to the distribution only (a decoded partial's); the counts and sums are the caller's. */
  recordValue(value: number): void {
    this.#record(value);
  }

  /** Replaces the distribution (a sketch decoded or rebuilt from elsewhere); the counts and sums are the caller's. */
  set sketch(sketch: QuantileSketch | null) {
    this.#sketch = sketch;
    this.#valueCount = 0;
  }

  reset(): void {
    this.count = 0;
    this.samples = 0;
    this.sum = 0;
    this.sumSquares = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    // The value buffer is kept for the slot's next interval.
    this.#valueCount = 0;
    this.#sketch = null;
  }

  #record(value: number): void {
    if (this.#sketch !== null) return this.#sketch.accept(value);
    const values = appendValue(this.#values, this.#valueCount, value);
    if (values === null) return this.#materialize().accept(value);
    this.#values = values;
    this.#valueCount++;
  }

  #materialize(): QuantileSketch {
    if (this.#sketch === null) {
      this.#sketch = sketchOfValues(this.#values, this.#valueCount);
      this.#valueCount = 0;
    }
    return this.#sketch;
  }
}

/**
 * Puts `value` after the `count` exact values in `values`, in a grown buffer
 * when it is full; returns the buffer, or null when the timer already holds
 * EXACT_VALUES and the value belongs in a sketch. Shared by TimerPartial and
 * a timer series' ring (aggregate/timer-ring.ts).
 */
export function appendValue(values: number[] | null, count: number, value: number): number[] | null {
  if (count === EXACT_VALUES) return null;
  const buffer = values === null || values.length === count ? grownValues(values, count) : values;
  buffer[count] = value;
  return buffer;
}

/** A sketch of the first `count` of `values`. */
function sketchOfValues(values: readonly number[] | null, count: number): QuantileSketch {
  const sketch = createSketch();
  for (let i = 0; i < count; i++) sketch.accept(values![i] as number);
  return sketch;
}

/** A value buffer with room for more than `count` values, holding the first `count` of `values`. */
function grownValues(values: number[] | null, count: number): number[] {
  const grown = new Array<number>(Math.min(EXACT_VALUES, Math.max(FIRST_VALUES, count * 4)));
  for (let i = 0; i < count; i++) grown[i] = values![i] as number;
  return grown;
}

export class GaugePartial {
  readonly type = 'gauge';
  /** Number of updates. */
  count = 0;
  /** Sum of the values the gauge took, for its average. */
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  last = 0;
  /**
   * When `last` was set (the start of its interval, ms). Merging keeps the
   * later `last`; on a tie the larger value, so the result is order-free.
   */
  lastAtMs = Number.NEGATIVE_INFINITY;

  /** Records the value the gauge took (deltas are resolved by the series). */
  add(value: number, atMs: number): void {
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    // Timestamped (late) samples can arrive out of order: the newest one is the last value.
    if (atMs >= this.lastAtMs) {
      this.last = value;
      this.lastAtMs = atMs;
    }
  }

  merge(other: GaugePartial): void {
    if (other.count === 0) return;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (other.lastAtMs > this.lastAtMs || (other.lastAtMs === this.lastAtMs && other.last > this.last)) {
      this.last = other.last;
      this.lastAtMs = other.lastAtMs;
    }
  }

  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = Number.NEGATIVE_INFINITY;
    this.last = 0;
    this.lastAtMs = Number.NEGATIVE_INFINITY;
  }
}

/**
 * A set partial's distinct members: a Set of its own, or, in a series' ring,
 * its interval's share of the series' MemberRing (aggregate/member-ring.ts).
 */
export interface Members extends Iterable<string> {
  readonly size: number;
  has(member: string): boolean;
  add(member: string): void;
  clear(): void;
}

export class SetPartial {
  readonly type = 'set';
  /** Number of adds (sample rates do not apply to sets). */
  count = 0;
  readonly members: Members;

  constructor(members: Members = new Set<string>()) {
    this.members = members;
  }

  add(member: string): void {
    this.count++;
    this.members.add(member);
  }

  merge(other: SetPartial): void {
    this.count += other.count;
    for (const member of other.members) this.members.add(member);
  }

  reset(): void {
    this.count = 0;
    this.members.clear();
  }
}

export function createPartial(type: MetricType): Partial {
  switch (type) {
    case 'counter':
      return new CounterPartial();
    case 'timer':
      return new TimerPartial();
    case 'gauge':
      return new GaugePartial();
    case 'set':
      return new SetPartial();
  }
}

/** Merges `source` into `target`; both must be of the same type. */
export function mergePartial(target: Partial, source: Partial): void {
  switch (target.type) {
    case 'counter':
      target.merge(source as CounterPartial);
      return;
    case 'timer':
      target.merge(source as TimerPartial);
      return;
    case 'gauge':
      target.merge(source as GaugePartial);
      return;
    case 'set':
      target.merge(source as SetPartial);
      return;
  }
}
