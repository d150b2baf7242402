import { PARTIAL_INTERVAL_MS, PARTIALS_PER_MINUTE, type MetricType } from '../protocol/metric-type.js';
import { MemberRing } from './member-ring.js';
import { CounterPartial, createPartial, SetPartial, type Partial } from './partial.js';

/**
 * One series (type, name, canonical tags) in memory: a ring of thirteen
 * 5-second partials indexed by wall-clock interval. The slot of the current
 * interval is the "current partial"; the other twelve are the sealed ones —
 * the last full minute — which serve the moving averages and, at the minute
 * boundary, the minute aggregate. A slot is cleared lazily when its interval
 * comes round again, 65 s later and so after its minute was flushed; sealing
 * costs nothing per series. A slot's partial is made the first time its
 * interval gets a sample, so a new or sparse series holds only the partials
 * it uses (creating thirteen at once made a burst of new series costly).
 * A set series' slots share one MemberRing, which holds each member once,
 * and a slot gets a new partial for each interval instead of a cleared one.
 * A counter series keeps no partial objects: its slots are two sums each in
 * one array of doubles (addCounts), and a reader visits them as partials.
 */
/** Twelve sealed partials plus the current one. */
export const RING_SLOTS = PARTIALS_PER_MINUTE + 1;

export class Series {
  readonly type: MetricType;
  readonly name: string;
  readonly tags: string;
  /** The slots' partials; null for a counter, whose slots are #counterSums. */
  readonly #slots: (Partial | undefined)[] | null;
  /**
   * A counter's Σ 1/rate and Σ value/rate for each slot, side by side: 224
   * bytes, where a CounterPartial per slot and their array took about 750
   * (bench/README.md). NaN until a slot is first used; null for the other types.
   */
  readonly #counterSums: number[] | null;
  /**
   * Interval start (ms) of the data in each slot; NaN for a never-used slot.
   * A plain array of doubles: a Float64Array of 13 has an off-heap backing
   * store, twice as slow to create and ~160 bytes larger per series.
   */
  readonly slotStartMs: number[];
  /** A gauge's current value, which `+N`/`-N` samples change. */
  gaugeValue = 0;
  hasGaugeValue = false;
  /** Interval start (ms) of the newest sample, for idle eviction. */
  lastSampleMs: number;
  /** A set's distinct members admitted in the minute starting at `memberMinuteMs`, for maxSetMembers. */
  memberMinuteMs = Number.NaN;
  minuteMembers = 0;
  /** A set's members across its slots; null for the other types. */
  readonly #members: MemberRing | null;

  constructor(type: MetricType, name: string, tags: string, nowIntervalMs: number) {
    this.type = type;
    this.name = name;
    this.tags = tags;
    this.#slots = type === 'counter' ? null : new Array<Partial | undefined>(RING_SLOTS).fill(undefined);
    // Filled with a double, so that the array holds unboxed doubles from the start.
    this.#counterSums = type === 'counter' ? new Array<number>(2 * RING_SLOTS).fill(Number.NaN) : null;
    this.slotStartMs = new Array<number>(RING_SLOTS).fill(Number.NaN);
    this.lastSampleMs = nowIntervalMs;
    this.#members = type === 'set' ? new MemberRing() : null;
  }

  /**
   * The partial for the interval starting at `intervalStartMs`, cleared if it
   * held an older interval; for every type but counters, which addCounts.
   */
  partialAt(intervalStartMs: number): Partial {
    const slots = this.#slots;
    if (slots === null) throw new TypeError('a counter series has no partials to add to: use addCounts');
    const index = slotIndex(intervalStartMs);
    let partial = slots[index];
    if (partial !== undefined && this.slotStartMs[index] === intervalStartMs) return partial;
    if (this.#members !== null) {
      partial = new SetPartial(this.#members.startInterval(intervalStartMs / PARTIAL_INTERVAL_MS));
      slots[index] = partial;
    } else if (partial === undefined) {
      partial = createPartial(this.type);
      slots[index] = partial;
    } else {
      partial.reset();
    }
    this.slotStartMs[index] = intervalStartMs;
    return partial;
  }

  /**
   * Adds to a counter's interval starting at `intervalStartMs` what
   * CounterPartial.add or merge would: `count` (Σ 1/rate) and `sum` (Σ value/rate).
   */
  addCounts(intervalStartMs: number, count: number, sum: number): void {
    const sums = this.#counterSums as number[];
    const index = slotIndex(intervalStartMs);
    const at = 2 * index;
    if (this.slotStartMs[index] !== intervalStartMs) {
      // The slot held an older interval (or none): it restarts from zero, as CounterPartial.reset.
      this.slotStartMs[index] = intervalStartMs;
      sums[at] = 0;
      sums[at + 1] = 0;
    }
    sums[at] = (sums[at] as number) + count;
    sums[at + 1] = (sums[at + 1] as number) + sum;
  }

  /** Empties every slot, once their data is written: after the wall clock stepped back, their intervals come round again. */
  clear(): void {
    // A counter's sums restart with their slot's next interval.
    for (let i = 0; i < RING_SLOTS; i++) {
      if (this.#members !== null) this.#slots![i] = undefined;
      else this.#slots?.[i]?.reset();
      this.slotStartMs[i] = Number.NaN;
    }
    this.#members?.clear();
    this.memberMinuteMs = Number.NaN;
  }

  /** Calls `visit` for every slot whose interval starts in [fromMs, toMs); a counter's slot as a new CounterPartial. */
  forEachPartial(fromMs: number, toMs: number, visit: (partial: Partial) => void): void {
    for (let i = 0; i < RING_SLOTS; i++) {
      const startMs = this.slotStartMs[i] as number;
      if (startMs >= fromMs && startMs < toMs) visit(this.#slots === null ? this.#counterPartial(i) : (this.#slots[i] as Partial));
    }
  }

  #counterPartial(index: number): CounterPartial {
    const sums = this.#counterSums as number[];
    const partial = new CounterPartial();
    partial.count = sums[2 * index] as number;
    partial.sum = sums[2 * index + 1] as number;
    return partial;
  }
}

export function slotIndex(intervalStartMs: number): number {
  return Math.floor(intervalStartMs / PARTIAL_INTERVAL_MS) % RING_SLOTS;
}
