import { DDSketch } from '@datadog/sketches-js';
import { SKETCH_RELATIVE_ACCURACY } from '../protocol/metric-type.js';

/**
 * The quantile sketch: DDSketch with 1% relative error, from Datadog's
 * maintained implementation. It merges exactly (bin counts add), so a minute's
 * p99 is the p99 of all its samples within 1%, whatever the merge order.
 */
export type QuantileSketch = DDSketch;
type Store = DDSketch['store'];

export function createSketch(): QuantileSketch {
  return new DDSketch({ relativeAccuracy: SKETCH_RELATIVE_ACCURACY });
}

/**
 * Our own compact encoding of a 1%-accuracy DDSketch, used instead of the
 * library's protobuf one: sketches-js resolves its protobuf module with
 * require() on every toProto/fromProto call, which measured ~25% of a
 * 10k-series minute flush, and protobuf stores every bin as an 8-byte double.
 * (So the optional protobufjs peer dependency is not installed at all.)
 *
 *   byte 0       1 = counts are unsigned LEB128 integers, 2 = float64 LE
 *   count        zero count
 *   store × 2    positive then negative values: bin count n (LEB128), and
 *                when n > 0 the first key (zigzag LEB128) and n counts
 */
const INTEGER_COUNTS = 1;
const FLOAT_COUNTS = 2;

export function encodeSketch(sketch: QuantileSketch): Uint8Array {
  const { store, negativeStore: negative } = sketch;
  const integers = Number.isSafeInteger(sketch.zeroCount) && integerBins(store) && integerBins(negative);
  const writer = startWriting(integers, sketch.zeroCount);
  writeDenseStore(writer, integers, store);
  writeDenseStore(writer, integers, negative);
  return writer.bytes.slice(0, writer.at);
}

/** Whether a DDSketch store's counts, from its min to its max key, are all safe integers. */
function integerBins(store: Store): boolean {
  return allIntegers(store.bins, store.minKey - store.offset, store.maxKey - store.offset);
}

/** A DDSketch store's keys from its min to its max key; none when it is empty. */
function writeDenseStore(writer: Writer, integers: boolean, store: Store): void {
  const n = store.count === 0 ? 0 : store.maxKey - store.minKey + 1;
  writeStore(writer, integers, store.bins, store.offset, store.minKey, n);
}

/**
 * The encoding of a sketch of `zeroCount` zeros and the positive bins
 * counts[first..first + n), the first of them key `minKey`, and no negative
 * ones: how a timer slot's bins (slot-sketches.ts) are sealed without a
 * DDSketch. A view of a shared buffer, good until the next encoding.
 */
export function encodePositiveBins(zeroCount: number, counts: ArrayLike<number>, first: number, n: number, minKey: number): Uint8Array {
  const integers = Number.isSafeInteger(zeroCount) && allIntegers(counts, first, first + n - 1);
  const writer = startWriting(integers, zeroCount);
  writeStore(writer, integers, counts, minKey - first, minKey, n);
  writeStore(writer, integers, counts, 0, 0, 0);
  return writer.bytes.subarray(0, writer.at);
}

export function decodeSketch(bytes: Uint8Array): QuantileSketch {
  const bins = SketchBins.decode(bytes);
  const sketch = createSketch();
  sketch.zeroCount = bins.zeroCount;
  for (const [store, from] of [
    [sketch.store, bins.positive],
    [sketch.negativeStore, bins.negative],
  ] as const) {
    if (from.counts.length === 0) continue;
    // The same state DenseStore.copy() leaves behind.
    store.bins = from.counts;
    store.offset = from.minKey;
    store.minKey = from.minKey;
    store.maxKey = from.minKey + from.counts.length - 1;
    store.count = sumOf(from.counts);
  }
  sketch.count = sketch.zeroCount + sketch.store.count + sketch.negativeStore.count;
  return sketch;
}

/** One sign's bins: counts[i] is the count of key minKey + i; no counts when empty. */
interface KeyedCounts {
  minKey: number;
  counts: number[];
}

/**
 * A sketch as stored, its bins and nothing else: what the store decodes,
 * merges, reads percentiles from and encodes again for every timer's hour and
 * day row each minute, in about 5 µs a row where DDSketch's objects took 6.6
 * (bench/README.md). Its merge and quantiles are DDSketch's, bin for bin.
 */
export class SketchBins {
  zeroCount: number;
  positive: KeyedCounts;
  negative: KeyedCounts;
  /** The count of all bins, and of the negative ones, kept as DDSketch keeps them: summed once, then added on merges. */
  count: number;
  #negativeCount: number;

  private constructor(zeroCount: number, positive: KeyedCounts, negative: KeyedCounts) {
    this.zeroCount = zeroCount;
    this.positive = positive;
    this.negative = negative;
    this.#negativeCount = sumOf(negative.counts);
    this.count = zeroCount + sumOf(positive.counts) + this.#negativeCount;
  }

  static empty(): SketchBins {
    return new SketchBins(0, { minKey: 0, counts: [] }, { minKey: 0, counts: [] });
  }

  static decode(bytes: Uint8Array): SketchBins {
    const format = bytes[0];
    if (format !== INTEGER_COUNTS && format !== FLOAT_COUNTS) throw new Error(`not a dattss sketch (format byte ${format})`);
    const reader = { bytes, at: 1 };
    const integers = format === INTEGER_COUNTS;
    const zeroCount = readCount(reader, integers);
    const positive = readStore(reader, integers);
    const negative = readStore(reader, integers);
    if (reader.at !== bytes.length) throw new Error(`not a dattss sketch (${bytes.length - reader.at} trailing bytes)`);
    return new SketchBins(zeroCount, positive, negative);
  }

  merge(other: SketchBins): void {
    this.zeroCount += other.zeroCount;
    this.positive = mergeCounts(this.positive, other.positive);
    this.negative = mergeCounts(this.negative, other.negative);
    this.count += other.count;
    this.#negativeCount += other.#negativeCount;
  }

  encode(): Uint8Array {
    const { positive, negative } = this;
    const integers = Number.isSafeInteger(this.zeroCount) && allIntegers(positive.counts) && allIntegers(negative.counts);
    const writer = startWriting(integers, this.zeroCount);
    writeStore(writer, integers, positive.counts, positive.minKey, positive.minKey, positive.counts.length);
    writeStore(writer, integers, negative.counts, negative.minKey, negative.minKey, negative.counts.length);
    return writer.bytes.slice(0, writer.at);
  }

  /** quantileOf for these bins: the same value DDSketch holding them gives. */
  quantile(q: number, min: number, max: number): number {
    return clamp(this.#valueAtQuantile(nearestRankQuantile(q, this.count)), min, max);
  }

  /** DDSketch.getValueAtQuantile, on these bins. */
  #valueAtQuantile(quantile: number): number {
    const rank = quantile * (this.count - 1);
    const negativeCount = this.#negativeCount;
    if (rank < negativeCount) return -SKETCH_MAPPING.value(keyAtRank(this.negative, negativeCount - rank - 1, false));
    if (rank < this.zeroCount + negativeCount) return 0;
    return SKETCH_MAPPING.value(keyAtRank(this.positive, rank - this.zeroCount - negativeCount, true));
  }
}

/** Whether counts[first..last] are all safe integers, so the counts take the integer encoding. */
function allIntegers(counts: ArrayLike<number>, first = 0, last = counts.length - 1): boolean {
  for (let i = first; i <= last; i++) if (!Number.isSafeInteger(counts[i])) return false;
  return true;
}

/** The key mapping every dattss sketch shares (1% relative accuracy). */
export const SKETCH_MAPPING = createSketch().mapping;

/** DenseStore.keyAtRank: with `lower`, the first key whose running count exceeds `rank`; else the first reaching rank + 1. */
function keyAtRank({ minKey, counts }: KeyedCounts, rank: number, lower: boolean): number {
  let running = 0;
  for (let i = 0; i < counts.length; i++) {
    running += counts[i] as number;
    if (lower ? running > rank : running >= rank + 1) return minKey + i;
  }
  return minKey + counts.length - 1;
}

/** `into` plus `from`: added in place when `into` spans `from`'s keys (a minute into its hour, mostly), else into a new array. */
function mergeCounts(into: KeyedCounts, from: KeyedCounts): KeyedCounts {
  if (from.counts.length === 0) return into;
  if (into.counts.length === 0) return { minKey: from.minKey, counts: [...from.counts] };
  const start = from.minKey - into.minKey;
  if (start >= 0 && start + from.counts.length <= into.counts.length) {
    for (let i = 0; i < from.counts.length; i++) into.counts[start + i] = (into.counts[start + i] as number) + (from.counts[i] as number);
    return into;
  }
  const minKey = Math.min(into.minKey, from.minKey);
  const length = Math.max(into.minKey + into.counts.length, from.minKey + from.counts.length) - minKey;
  const counts = new Array<number>(length).fill(0);
  for (let i = 0; i < into.counts.length; i++) counts[into.minKey - minKey + i] = into.counts[i] as number;
  for (let i = 0; i < from.counts.length; i++) {
    const at = from.minKey - minKey + i;
    counts[at] = (counts[at] as number) + (from.counts[i] as number);
  }
  return { minKey, counts };
}

function sumOf(counts: number[]): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += counts[i] as number;
  return sum;
}

/**
 * Two sketches that merge back into `sketch`: the positive bins split at the
 * middle of their key range, the zero count and negative bins in the first.
 * The client uses it to send a sketch too long for one datagram.
 */
export function splitSketch(sketch: QuantileSketch): [QuantileSketch, QuantileSketch] {
  const low = createSketch();
  const high = createSketch();
  const store = sketch.store;
  const middle = Math.floor((store.minKey + store.maxKey) / 2);
  if (store.count > 0) {
    for (let key = store.minKey; key <= store.maxKey; key++) {
      const count = store.bins[key - store.offset] as number;
      if (count > 0) (key <= middle ? low : high).store.add(key, count);
    }
  }
  low.zeroCount = sketch.zeroCount;
  low.negativeStore.copy(sketch.negativeStore);
  for (const part of [low, high]) part.count = part.zeroCount + part.store.count + part.negativeStore.count;
  return [low, high];
}

interface Writer {
  bytes: Uint8Array;
  at: number;
}

/** Grown as needed and reused: an encoding is written here and copied out at its length. */
let scratch = new Uint8Array(1024);
const float = new DataView(new ArrayBuffer(8));
const floatBytes = new Uint8Array(float.buffer);

function startWriting(integers: boolean, zeroCount: number): Writer {
  const writer = { bytes: scratch, at: 0 };
  reserve(writer, 9);
  writer.bytes[writer.at++] = integers ? INTEGER_COUNTS : FLOAT_COUNTS;
  writeCount(writer, integers, zeroCount);
  return writer;
}

/** A store of `n` bins from `minKey`, read from `bins` at `key - offset`: n, and when n > 0 the first key and n counts. */
function writeStore(writer: Writer, integers: boolean, bins: ArrayLike<number>, offset: number, minKey: number, n: number): void {
  reserve(writer, 16 + 8 * n); // n and the first key, then n counts, each at most 8 bytes
  writeUnsigned(writer, n);
  if (n === 0) return;
  writeUnsigned(writer, zigzag(minKey));
  const first = minKey - offset;
  if (!integers) {
    for (let i = first; i < first + n; i++) writeCount(writer, false, bins[i] as number);
    return;
  }
  // writeUnsigned inlined, with the position in a local: the loop every stored sketch's encoding spends its time in.
  const bytes = writer.bytes;
  let at = writer.at;
  for (let i = first; i < first + n; i++) {
    let value = bins[i] as number;
    while (value >= 0x80) {
      bytes[at++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    bytes[at++] = value;
  }
  writer.at = at;
}

/** Room for `more` bytes, which the writes after it rely on: the scratch buffer doubles when short. */
function reserve(writer: Writer, more: number): void {
  if (writer.at + more <= writer.bytes.length) return;
  const grown = new Uint8Array(Math.max(writer.bytes.length * 2, writer.at + more));
  grown.set(writer.bytes.subarray(0, writer.at));
  writer.bytes = scratch = grown;
}

function writeCount(writer: Writer, integers: boolean, value: number): void {
  if (integers) return writeUnsigned(writer, value);
  float.setFloat64(0, value, true);
  writer.bytes.set(floatBytes, writer.at);
  writer.at += 8;
}

/** LEB128, at most 8 bytes for a safe integer. */
function writeUnsigned(writer: Writer, value: number): void {
  const bytes = writer.bytes;
  while (value >= 0x80) {
    bytes[writer.at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  bytes[writer.at++] = value;
}

interface Reader {
  bytes: Uint8Array;
  at: number;
}

function readStore(reader: Reader, integers: boolean): KeyedCounts {
  const n = readUnsigned(reader);
  if (n === 0) return { minKey: 0, counts: [] };
  const minKey = unzigzag(readUnsigned(reader));
  const counts = new Array<number>(n);
  if (!integers) {
    for (let i = 0; i < n; i++) counts[i] = readFloat(reader);
    return { minKey, counts };
  }
  // A count under 128 read inline: the loop every sketch read back spends its time in.
  const bytes = reader.bytes;
  for (let i = 0; i < n; i++) {
    const byte = bytes[reader.at];
    if (byte !== undefined && byte < 0x80) {
      counts[i] = byte;
      reader.at++;
    } else {
      counts[i] = readUnsigned(reader);
    }
  }
  return { minKey, counts };
}

function readCount(reader: Reader, integers: boolean): number {
  return integers ? readUnsigned(reader) : readFloat(reader);
}

function readUnsigned(reader: Reader): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = reader.bytes[reader.at++];
    if (byte === undefined) throw new Error('not a dattss sketch (truncated)');
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
  }
}

function readFloat(reader: Reader): number {
  if (reader.at + 8 > reader.bytes.length) throw new Error('not a dattss sketch (truncated)');
  floatBytes.set(reader.bytes.subarray(reader.at, reader.at + 8));
  reader.at += 8;
  return float.getFloat64(0, true);
}

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

/**
 * The nearest-rank quantile `q` (0..1): the smallest recorded value with at
 * least q·n values at or below it — for 1..1000, p99 is 990; for [10, 30], 30 —
 * within the sketch's 1% relative error. DDSketch's own getValueAtQuantile
 * reads the value at 0-based rank floor(q·(n−1)), which for small n lies well
 * below what users mean by p99 (10 for [10, 30]), so the rank is translated.
 * The result is clamped into the exact [min, max] tracked beside the sketch:
 * a bucket's representative value can lie just outside the observed range.
 */
export function quantileOf(sketch: QuantileSketch, q: number, min: number, max: number): number {
  return clamp(sketch.getValueAtQuantile(nearestRankQuantile(q, sketch.count)), min, max);
}

/** The quantile that DDSketch's getValueAtQuantile reads as the nearest rank of `q` among `n` values. */
function nearestRankQuantile(q: number, n: number): number {
  if (n <= 1) return q;
  // 0-based nearest rank; the epsilon keeps 0.99 × 1000 from rounding up to rank 990.
  const rank = Math.max(0, Math.ceil(q * n - 1e-9) - 1);
  return Math.min(1, (rank + 0.5) / (n - 1));
}

function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}
