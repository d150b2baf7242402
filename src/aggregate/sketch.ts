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
  const integers = Number.isSafeInteger(sketch.zeroCount) && allSafeIntegers(sketch.store) && allSafeIntegers(sketch.negativeStore);
  const out: number[] = [integers ? INTEGER_COUNTS : FLOAT_COUNTS];
  const writeCount = integers ? (value: number) => writeUnsigned(out, value) : (value: number) => writeFloat(out, value);
  writeCount(sketch.zeroCount);
  for (const store of [sketch.store, sketch.negativeStore]) {
    if (store.count === 0) {
      writeUnsigned(out, 0);
      continue;
    }
    writeUnsigned(out, store.maxKey - store.minKey + 1);
    writeUnsigned(out, zigzag(store.minKey));
    for (let key = store.minKey; key <= store.maxKey; key++) writeCount(store.bins[key - store.offset] as number);
  }
  return Uint8Array.from(out);
}

export function decodeSketch(bytes: Uint8Array): QuantileSketch {
  const format = bytes[0];
  if (format !== INTEGER_COUNTS && format !== FLOAT_COUNTS) throw new Error(`not a dattss sketch (format byte ${format})`);
  const reader = { bytes, at: 1 };
  const readCount = format === INTEGER_COUNTS ? () => readUnsigned(reader) : () => readFloat(reader);
  const sketch = createSketch();
  sketch.zeroCount = readCount();
  for (const store of [sketch.store, sketch.negativeStore]) {
    const n = readUnsigned(reader);
    if (n === 0) continue;
    const minKey = unzigzag(readUnsigned(reader));
    const bins = new Array<number>(n);
    let count = 0;
    for (let i = 0; i < n; i++) count += bins[i] = readCount();
    // The same state DenseStore.copy() leaves behind.
    store.bins = bins;
    store.offset = minKey;
    store.minKey = minKey;
    store.maxKey = minKey + n - 1;
    store.count = count;
  }
  if (reader.at !== bytes.length) throw new Error(`not a dattss sketch (${bytes.length - reader.at} trailing bytes)`);
  sketch.count = sketch.zeroCount + sketch.store.count + sketch.negativeStore.count;
  return sketch;
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

function allSafeIntegers(store: Store): boolean {
  for (let key = store.minKey; key <= store.maxKey; key++) {
    if (!Number.isSafeInteger(store.bins[key - store.offset])) return false;
  }
  return true;
}

function writeUnsigned(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

function readUnsigned(reader: { bytes: Uint8Array; at: number }): number {
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

const float = new DataView(new ArrayBuffer(8));

function writeFloat(out: number[], value: number): void {
  float.setFloat64(0, value, true);
  for (let i = 0; i < 8; i++) out.push(float.getUint8(i));
}

function readFloat(reader: { bytes: Uint8Array; at: number }): number {
  if (reader.at + 8 > reader.bytes.length) throw new Error('not a dattss sketch (truncated)');
  for (let i = 0; i < 8; i++) float.setUint8(i, reader.bytes[reader.at++] as number);
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
  const n = sketch.count;
  // 0-based nearest rank; the epsilon keeps 0.99 × 1000 from rounding up to rank 990.
  const rank = Math.max(0, Math.ceil(q * n - 1e-9) - 1);
  const value = n <= 1 ? sketch.getValueAtQuantile(q) : sketch.getValueAtQuantile(Math.min(1, (rank + 0.5) / (n - 1)));
  return value < min ? min : value > max ? max : value;
}
