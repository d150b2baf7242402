import { PARTIAL_INTERVAL_MS, PARTIALS_PER_MINUTE, type MetricType } from '../protocol/metric-type.js';
import { MemberRing } from './member-ring.js';
import { CounterPartial, createPartial, SetPartial, type Partial, type TimerPartial } from './partial.js';
import { TimerRing } from './timer-ring.js';

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
 * Counter and timer series keep no partial objects: a counter's slots are
 * two sums each in one array of doubles (addCounts), a timer's a TimerRing
 * (addTimer, mergeTimer), and a reader visits them as partials.
 */
/** Twelve sealed partials plus the current one. */
export const RING_SLOTS = PARTIALS_PER_MINUTE + 1;

export class Series {
  readonly type: MetricType;
  readonly name: string;
  readonly tags: string;
  /** The slots' partials, for gauges and sets; null for counters (#counterSums) and timers (#timers). */
  readonly #slots: (Partial | undefined)[] | null;
  /**
   * A counter's Σ 1/rate and Σ value/rate for each slot, side by side: 224
   * bytes, where a CounterPartial per slot and their array took about 750
   * (bench/README.md). NaN until a slot is first used; null for the other types.
   */
  readonly #counterSums: number[] | null;
  /** A timer's slots; null for the other types. */
  readonly #timers: TimerRing | null;
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
  /** Set when the registry lets the series go: whatever still holds it must not add to it. */
  removed = false;
  /** A set's distinct members admitted in the minute starting at `memberMinuteMs`, for maxSetMembers. */
  memberMinuteMs = Number.NaN;
  minuteMembers = 0;
  /** A set's members across its slots; null for the other types. */
  readonly #members: MemberRing | null;

  constructor(type: MetricType, name: string, tags: string, nowIntervalMs: number) {
    this.type = type;
    this.name = name;
    this.tags = tags;
    this.#slots = type === 'counter' || type === 'timer' ? null : new Array<Partial | undefined>(RING_SLOTS).fill(undefined);
    // Filled with a double, so that the array holds unboxed doubles from the start.
    this.#counterSums = type === 'counter' ? new Array<number>(2 * RING_SLOTS).fill(Number.NaN) : null;
    this.slotStartMs = new Array<number>(RING_SLOTS).fill(Number.NaN);
    this.lastSampleMs = nowIntervalMs;
    this.#members = type === 'set' ? new MemberRing() : null;
    this.#timers = type === 'timer' ? new TimerRing(RING_SLOTS) : null;
  }

  /**
   * The partial for the interval starting at `intervalStartMs`, cleared if it
   * held an older interval; for gauges and sets (counters addCounts, timers addTimer).
   */
  partialAt(intervalStartMs: number): Partial {
    const slots = this.#slots;
    if (slots === null) throw new TypeError(`a ${this.type} series has no partials to add to`);
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
    const at = 2 * this.#claimSlot(intervalStartMs);
    sums[at] = (sums[at] as number) + count;
    sums[at + 1] = (sums[at + 1] as number) + sum;
  }

  /** TimerPartial.add on a timer's interval starting at `intervalStartMs`. */
  addTimer(intervalStartMs: number, value: number, rate: number): void {
    (this.#timers as TimerRing).add(this.#claimSlot(intervalStartMs), value, rate);
  }

  /** TimerPartial.merge of `partial` into a timer's interval starting at `intervalStartMs`. */
  mergeTimer(intervalStartMs: number, partial: TimerPartial): void {
    (this.#timers as TimerRing).merge(this.#claimSlot(intervalStartMs), partial);
  }

  /** A counter's or timer's slot for the interval, restarted from zero (as a partial's reset) if it held an older one or none. */
  #claimSlot(intervalStartMs: number): number {
    const index = slotIndex(intervalStartMs);
    if (this.slotStartMs[index] !== intervalStartMs) {
      this.slotStartMs[index] = intervalStartMs;
      if (this.#timers !== null) {
        this.#timers.start(index);
      } else {
        const sums = this.#counterSums as number[];
        sums[2 * index] = 0;
        sums[2 * index + 1] = 0;
      }
    }
    return index;
  }

  /** Empties every slot, once their data is written: after the wall clock stepped back, their intervals come round again. */
  clear(): void {
    // A counter's or timer's slot restarts with its next interval (#claimSlot).
    for (let i = 0; i < RING_SLOTS; i++) {
      if (this.#members !== null) this.#slots![i] = undefined;
      else this.#slots?.[i]?.reset();
      this.slotStartMs[i] = Number.NaN;
    }
    this.#members?.clear();
    this.memberMinuteMs = Number.NaN;
  }

  /**
   * Calls `visit` for every slot whose interval starts in [fromMs, toMs); a
   * counter's or timer's slot as a new partial, to read or merge from.
   */
  forEachPartial(fromMs: number, toMs: number, visit: (partial: Partial) => void): void {
    for (let i = 0; i < RING_SLOTS; i++) {
      const startMs = this.slotStartMs[i] as number;
      if (startMs >= fromMs && startMs < toMs) visit(this.#partialOf(i));
    }
  }

  #partialOf(index: number): Partial {
    if (this.#slots !== null) return this.#slots[index] as Partial;
    return this.#timers !== null ? this.#timers.partial(index) : this.#counterPartial(index);
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
