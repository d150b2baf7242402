import { appendValue, TimerPartial } from './partial.js';
import { SlotSketches } from './slot-sketches.js';

/**
 * The slots of one timer series without a TimerPartial per slot: each slot's
 * figures are doubles side by side in one array, its exact values a buffer
 * of its own, until it passes 32 values and they move into its sketch,
 * kept with the other slots' in a SlotSketches made on first need. A
 * TimerPartial per slot cost its object and boxed min and max, about
 * 136 bytes, where the figures take 56 (bench/README.md). The arithmetic is
 * TimerPartial's add and merge, and its values move into a sketch at the
 * same point (appendValue).
 */

/** Figures per slot, in this order. */
const COUNT = 0;
const SAMPLES = 1;
const SUM = 2;
const SUM_SQUARES = 3;
const MIN = 4;
const MAX = 5;
/** How many exact values the slot's buffer holds; it has none once it has a sketch. */
const VALUE_COUNT = 6;
const FIGURES = 7;

export class TimerRing {
  readonly #figures: number[];
  readonly #values: (number[] | null)[];
  #sketches: SlotSketches | null = null;

  constructor(slots: number) {
    // Filled with a double, so that the array holds unboxed doubles from the start.
    this.#figures = new Array<number>(slots * FIGURES).fill(Number.NaN);
    this.#values = new Array<number[] | null>(slots).fill(null);
  }

  /**
   * Empties slot `index` for a new interval, as TimerPartial.reset; its
   * value buffer is kept, its sketch let go of.
   */
  start(index: number): void {
    const at = index * FIGURES;
    const figures = this.#figures;
    figures[at + COUNT] = 0;
    figures[at + SAMPLES] = 0;
    figures[at + SUM] = 0;
    figures[at + SUM_SQUARES] = 0;
    figures[at + MIN] = Number.POSITIVE_INFINITY;
    figures[at + MAX] = Number.NEGATIVE_INFINITY;
    figures[at + VALUE_COUNT] = 0;
    const sketches = this.#sketches;
    if (sketches === null) return;
    sketches.drop(index);
    if (sketches.empty) this.#sketches = null;
  }

  /** TimerPartial.add on slot `index`. */
  add(index: number, value: number, rate: number): void {
    const at = index * FIGURES;
    const figures = this.#figures;
    figures[at + COUNT] = (figures[at + COUNT] as number) + 1 / rate;
    figures[at + SAMPLES] = (figures[at + SAMPLES] as number) + 1;
    figures[at + SUM] = (figures[at + SUM] as number) + value;
    figures[at + SUM_SQUARES] = (figures[at + SUM_SQUARES] as number) + value * value;
    if (value < (figures[at + MIN] as number)) figures[at + MIN] = value;
    if (value > (figures[at + MAX] as number)) figures[at + MAX] = value;
    this.#record(index, value);
  }

  /** TimerPartial.merge of `other` into slot `index`. */
  merge(index: number, other: TimerPartial): void {
    const at = index * FIGURES;
    const figures = this.#figures;
    figures[at + COUNT] = (figures[at + COUNT] as number) + other.count;
    figures[at + SAMPLES] = (figures[at + SAMPLES] as number) + other.samples;
    figures[at + SUM] = (figures[at + SUM] as number) + other.sum;
    figures[at + SUM_SQUARES] = (figures[at + SUM_SQUARES] as number) + other.sumSquares;
    if (other.min < (figures[at + MIN] as number)) figures[at + MIN] = other.min;
    if (other.max > (figures[at + MAX] as number)) figures[at + MAX] = other.max;
    const values = other.values;
    // As TimerPartial.merge: DDSketch.merge leaves out negative bins (DataDog/sketches-js#22); timer values are never negative.
    if (values === null) this.#materialize(index).merge(index, other.sketch!);
    else for (const value of values) this.#record(index, value);
  }

  /**
   * Slot `index` as a new TimerPartial, for reading and merging from: its
   * values are copied, but a sketch it has is the slot's own, not to be added to.
   */
  partial(index: number): TimerPartial {
    const at = index * FIGURES;
    const figures = this.#figures;
    const partial = new TimerPartial();
    partial.count = figures[at + COUNT] as number;
    partial.samples = figures[at + SAMPLES] as number;
    partial.sum = figures[at + SUM] as number;
    partial.sumSquares = figures[at + SUM_SQUARES] as number;
    partial.min = figures[at + MIN] as number;
    partial.max = figures[at + MAX] as number;
    const sketch = this.#sketches?.sketch(index) ?? null;
    if (sketch !== null) {
      partial.sketch = sketch;
    } else {
      const values = this.#values[index] as number[];
      for (let i = 0; i < (figures[at + VALUE_COUNT] as number); i++) partial.recordValue(values[i] as number);
    }
    return partial;
  }

  #record(index: number, value: number): void {
    const sketches = this.#sketches;
    if (sketches?.has(index) === true) return sketches.add(index, value);
    const at = index * FIGURES + VALUE_COUNT;
    const count = this.#figures[at] as number;
    const values = appendValue(this.#values[index] as number[] | null, count, value);
    if (values === null) return this.#materialize(index).add(index, value);
    this.#values[index] = values;
    this.#figures[at] = count + 1;
  }

  /**
   * The ring's sketches, with slot `index`'s values moved into its sketch.
   * The value buffer goes too: a slot busy enough for a sketch would keep
   * 32 doubles it no longer uses.
   */
  #materialize(index: number): SlotSketches {
    const sketches = (this.#sketches ??= new SlotSketches(this.#values.length));
    if (sketches.has(index)) return sketches;
    const at = index * FIGURES + VALUE_COUNT;
    const values = this.#values[index] as number[] | null;
    for (let i = 0; i < (this.#figures[at] as number); i++) sketches.add(index, values![i] as number);
    this.#values[index] = null;
    this.#figures[at] = 0;
    return sketches;
  }
}
