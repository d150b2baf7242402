import { decodeSketch, encodePositiveBins, SKETCH_MAPPING, type QuantileSketch } from './sketch.js';

/**
 * The sketches of a timer series' slots that passed 32 values
 * (timer-ring.ts), without a DDSketch per slot. The slot being added to has
 * its bins open: a typed array of counts spanning its keys, as DDSketch's
 * accept and merge would leave them. When another slot needs the open bins,
 * they are sealed: encoded as the store encodes a sketch (sketch.ts), a byte
 * or so a key, into one buffer that all the series' sealed slots share. A
 * DDSketch per slot took about 4.5 KB while open, its bins grown 128 keys at
 * a time as 8-byte numbers, and 1.8 KB sealed into a typed array of its own,
 * whose objects cost more than its counts (bench/README.md). Negative values
 * have no bins here: timers refuse them (the parser, partial-figures.ts).
 */
export class SlotSketches {
  /** The slot whose bins are open, or -1. */
  #openSlot = -1;
  readonly #open = new OpenBins();
  /** The sealed slots' encodings side by side, in no order, and how many of its bytes they take. */
  #sealed = EMPTY;
  #sealedBytes = 0;
  /** Each slot's encoding in #sealed: where it starts and its length, 0 for none. */
  readonly #segments: number[];

  constructor(slots: number) {
    this.#segments = new Array<number>(2 * slots).fill(0);
  }

  /** Whether slot `slot` holds a sketch. */
  has(slot: number): boolean {
    return slot === this.#openSlot || (this.#segments[2 * slot + 1] as number) > 0;
  }

  /** Whether no slot holds a sketch. */
  get empty(): boolean {
    return this.#openSlot === -1 && this.#sealedBytes === 0;
  }

  /** DDSketch.accept of `value` into slot `slot`'s sketch, made if it has none. */
  add(slot: number, value: number): void {
    this.#opened(slot).add(value);
  }

  /** DDSketch.merge of `sketch` into slot `slot`'s sketch, made if it has none. */
  merge(slot: number, sketch: QuantileSketch): void {
    this.#opened(slot).merge(sketch);
  }

  /** Slot `slot`'s sketch as a new DDSketch, to read and merge from; null when it has none. */
  sketch(slot: number): QuantileSketch | null {
    if (slot === this.#openSlot) return decodeSketch(this.#open.encode());
    const length = this.#segments[2 * slot + 1] as number;
    if (length === 0) return null;
    const at = this.#segments[2 * slot] as number;
    return decodeSketch(this.#sealed.subarray(at, at + length));
  }

  /** Lets go of slot `slot`'s sketch: its interval is over and written. */
  drop(slot: number): void {
    if (slot !== this.#openSlot) return this.#removeSegment(slot);
    this.#open.reset();
    this.#openSlot = -1;
  }

  /** The open bins, as slot `slot`'s: the slot open until now is sealed, and `slot`'s sealed sketch (if any) reopened. */
  #opened(slot: number): OpenBins {
    const open = this.#open;
    if (slot === this.#openSlot) return open;
    if (this.#openSlot !== -1) {
      this.#appendSegment(this.#openSlot, open.encode());
      open.reset();
    }
    const sealed = this.sketch(slot);
    if (sealed !== null) {
      open.merge(sealed);
      this.#removeSegment(slot);
    }
    this.#openSlot = slot;
    return open;
  }

  #appendSegment(slot: number, bytes: Uint8Array): void {
    const used = this.#sealedBytes + bytes.length;
    // Room for every slot but the open one to seal as many bytes, and a sixteenth to spare: a series busy
    // enough to seal one slot mostly seals them all, and growing the buffer step by step left the freed
    // buffers to fragment the process's memory (bench/README.md).
    if (used > this.#sealed.length) this.#reallocate(Math.ceil(Math.max(used, (this.#segments.length / 2 - 1) * bytes.length) * SPARE));
    this.#sealed.set(bytes, this.#sealedBytes);
    this.#segments[2 * slot] = this.#sealedBytes;
    this.#segments[2 * slot + 1] = bytes.length;
    this.#sealedBytes = used;
  }

  /** Closes the gap slot `slot`'s encoding leaves; gives memory back once the buffer is mostly unused. */
  #removeSegment(slot: number): void {
    const segments = this.#segments;
    const at = segments[2 * slot] as number;
    const length = segments[2 * slot + 1] as number;
    if (length === 0) return;
    this.#sealed.copyWithin(at, at + length, this.#sealedBytes);
    this.#sealedBytes -= length;
    segments[2 * slot] = 0;
    segments[2 * slot + 1] = 0;
    for (let i = 0; i < segments.length; i += 2) if ((segments[i] as number) > at) segments[i] = (segments[i] as number) - length;
    if (this.#sealed.length > 2 * this.#sealedBytes + SHRINK_SLACK) this.#reallocate(Math.ceil(this.#sealedBytes * SPARE));
  }

  #reallocate(capacity: number): void {
    const sealed = capacity === 0 ? EMPTY : new Uint8Array(capacity);
    sealed.set(this.#sealed.subarray(0, this.#sealedBytes));
    this.#sealed = sealed;
  }
}

const EMPTY = new Uint8Array(0);
/** A sealed buffer's room, as a multiple of the bytes it is made for. */
const SPARE = 1 + 1 / 16;
/** Spare bytes a sealed buffer keeps before it shrinks: less than one small slot's encoding is not worth a copy. */
const SHRINK_SLACK = 256;
/** Keys of room left on each side when open bins grow, so that a spread of values does not regrow them key by key. */
const GROWTH_ROOM = 16;

/**
 * One slot's bins while it is added to: the zero count and the counts of
 * the positive keys, in 16-bit integers until a count passes 65,535 or is
 * fractional (a merged sketch's), then in doubles. Kept for the next slot
 * to open: reset empties them and keeps the array.
 */
class OpenBins {
  zeroCount = 0;
  /** counts[i] is the count of key #offset + i. */
  #counts: Uint16Array | Float64Array = new Uint16Array(0);
  #offset = 0;
  /** The least and greatest keys with a count; lowest > highest when none has. */
  #lowest = Number.POSITIVE_INFINITY;
  #highest = Number.NEGATIVE_INFINITY;

  /** DDSketch.accept(value). */
  add(value: number): void {
    if (value > SKETCH_MAPPING.minPossible) this.#addToKey(SKETCH_MAPPING.key(value), 1);
    else if (value >= -SKETCH_MAPPING.minPossible) this.zeroCount++;
    else throw new RangeError(`a timer value cannot be negative (${value})`);
  }

  /** DDSketch.merge(sketch), which leaves out the other's negative bins (DataDog/sketches-js#22) as this does. */
  merge(sketch: QuantileSketch): void {
    this.zeroCount += sketch.zeroCount;
    const { bins, offset, minKey, maxKey, count } = sketch.store;
    if (count === 0) return;
    for (let key = minKey; key <= maxKey; key++) {
      const weight = bins[key - offset] as number;
      if (weight > 0) this.#addToKey(key, weight);
    }
  }

  /** The bins encoded (encodePositiveBins: good until the next encoding). */
  encode(): Uint8Array {
    const lowest = this.#lowest;
    const n = lowest > this.#highest ? 0 : this.#highest - lowest + 1;
    return encodePositiveBins(this.zeroCount, this.#counts, lowest - this.#offset, n, lowest);
  }

  reset(): void {
    this.zeroCount = 0;
    if (this.#lowest <= this.#highest) {
      if (this.#counts instanceof Float64Array) this.#counts = new Uint16Array(this.#counts.length);
      else this.#counts.fill(0, this.#lowest - this.#offset, this.#highest - this.#offset + 1);
    }
    this.#lowest = Number.POSITIVE_INFINITY;
    this.#highest = Number.NEGATIVE_INFINITY;
  }

  #addToKey(key: number, weight: number): void {
    let i = key - this.#offset;
    if (i < 0 || i >= this.#counts.length) i = this.#grow(key);
    const count = (this.#counts[i] as number) + weight;
    if ((count > 0xffff || count % 1 !== 0) && this.#counts instanceof Uint16Array) this.#counts = Float64Array.from(this.#counts);
    this.#counts[i] = count;
    if (key < this.#lowest) this.#lowest = key;
    if (key > this.#highest) this.#highest = key;
  }

  /** Makes room for key `key` beside the keys in use; returns its index. */
  #grow(key: number): number {
    const used = this.#lowest <= this.#highest;
    const low = used ? Math.min(key, this.#lowest) : key;
    const high = used ? Math.max(key, this.#highest) : key;
    const offset = low - GROWTH_ROOM;
    const counts = this.#counts instanceof Float64Array ? new Float64Array(high - offset + 1 + GROWTH_ROOM) : new Uint16Array(high - offset + 1 + GROWTH_ROOM);
    if (used) counts.set(this.#counts.subarray(this.#lowest - this.#offset, this.#highest - this.#offset + 1), this.#lowest - offset);
    this.#counts = counts;
    this.#offset = offset;
    return key - offset;
  }
}
