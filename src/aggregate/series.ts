import { PARTIAL_INTERVAL_MS, PARTIALS_PER_MINUTE, type MetricType } from '../protocol/metric-type.js';
import { MemberRing } from './member-ring.js';
import { createPartial, SetPartial, type Partial } from './partial.js';

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
 */
/** Twelve sealed partials plus the current one. */
export const RING_SLOTS = PARTIALS_PER_MINUTE + 1;

export class Series {
  readonly type: MetricType;
  readonly name: string;
  readonly tags: string;
  readonly slots: (Partial | undefined)[];
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
    this.slots = new Array<Partial | undefined>(RING_SLOTS).fill(undefined);
    this.slotStartMs = new Array<number>(RING_SLOTS).fill(Number.NaN);
    this.lastSampleMs = nowIntervalMs;
    this.#members = type === 'set' ? new MemberRing() : null;
  }

  /** The partial for the interval starting at `intervalStartMs`, cleared if it held an older interval. */
  partialAt(intervalStartMs: number): Partial {
    const index = slotIndex(intervalStartMs);
    let partial = this.slots[index];
    if (partial !== undefined && this.slotStartMs[index] === intervalStartMs) return partial;
    if (this.#members !== null) {
      partial = new SetPartial(this.#members.startInterval(intervalStartMs / PARTIAL_INTERVAL_MS));
      this.slots[index] = partial;
    } else if (partial === undefined) {
      partial = createPartial(this.type);
      this.slots[index] = partial;
    } else {
      partial.reset();
    }
    this.slotStartMs[index] = intervalStartMs;
    return partial;
  }

  /** Empties every slot, once their data is written: after the wall clock stepped back, their intervals come round again. */
  clear(): void {
    for (let i = 0; i < RING_SLOTS; i++) {
      if (this.#members === null) this.slots[i]?.reset();
      else this.slots[i] = undefined;
      this.slotStartMs[i] = Number.NaN;
    }
    this.#members?.clear();
    this.memberMinuteMs = Number.NaN;
  }

  /** Calls `visit` for every slot whose interval starts in [fromMs, toMs). */
  forEachPartial(fromMs: number, toMs: number, visit: (partial: Partial) => void): void {
    for (let i = 0; i < RING_SLOTS; i++) {
      const startMs = this.slotStartMs[i] as number;
      if (startMs >= fromMs && startMs < toMs) visit(this.slots[i] as Partial);
    }
  }
}

export function slotIndex(intervalStartMs: number): number {
  return Math.floor(intervalStartMs / PARTIAL_INTERVAL_MS) % RING_SLOTS;
}
