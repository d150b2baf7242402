import type { MinuteAggregate } from '../aggregate/summarize.js';
import { METRIC_TYPES } from '../protocol/metric-type.js';

/**
 * Minute rows as they cross to the writer thread: every row's numbers in one
 * Float64Array and every timer's sketch in one byte array, both moved to the
 * thread rather than copied, and the strings in arrays. A structured clone of
 * 4,000 row objects took 2.8 ms to write and 3.4 ms to read back; this takes
 * 1.05 and 0.75 ms (bench/README.md), and the reading is on the thread
 * that a minute of 100k series keeps busy.
 */
export interface RowBatch {
  /** FIELDS numbers a row, in FIELD order. */
  numbers: Float64Array;
  names: string[];
  tags: string[];
  /** The timers' encoded sketches, one after another; each one's length is its row's SKETCH_BYTES. */
  sketches: Uint8Array;
  /** The sets' members, in the order of their rows. */
  members: string[][];
}

/**
 * A row's numbers. Those from `sum` on may be null: a null one is a set bit
 * of `nulls` (bit 0 for `sum`), and so are a row's members (MEMBERS_NULL).
 */
const FIELD = {
  type: 0,
  tsSec: 1,
  count: 2,
  samples: 3,
  nulls: 4,
  sketchBytes: 5,
  sum: 6,
  sumSquares: 7,
  min: 8,
  max: 9,
  last: 10,
  lastAtMs: 11,
  p50: 12,
  p90: 13,
  p95: 14,
  p99: 15,
} as const;
const FIELDS = 16;
type NullableField = 'sum' | 'sumSquares' | 'min' | 'max' | 'last' | 'lastAtMs' | 'p50' | 'p90' | 'p95' | 'p99';
/** In FIELD order: bit b of `nulls` is field FIELD.sum + b. */
const NULLABLE: readonly NullableField[] = ['sum', 'sumSquares', 'min', 'max', 'last', 'lastAtMs', 'p50', 'p90', 'p95', 'p99'];
const MEMBERS_NULL = 1 << NULLABLE.length;

export function encodeRows(rows: readonly MinuteAggregate[]): RowBatch {
  const numbers = new Float64Array(rows.length * FIELDS);
  const names = new Array<string>(rows.length);
  const tags = new Array<string>(rows.length);
  const members: string[][] = [];
  let sketchBytes = 0;
  for (const row of rows) if (row.sketch !== null) sketchBytes += row.sketch.length;
  const sketches = new Uint8Array(sketchBytes);
  let sketchAt = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as MinuteAggregate;
    const at = i * FIELDS;
    names[i] = row.name;
    tags[i] = row.tags;
    numbers[at + FIELD.type] = METRIC_TYPES.indexOf(row.type);
    numbers[at + FIELD.tsSec] = row.tsSec;
    numbers[at + FIELD.count] = row.count;
    numbers[at + FIELD.samples] = row.samples;
    let nulls = row.members === null ? MEMBERS_NULL : 0;
    for (let bit = 0; bit < NULLABLE.length; bit++) {
      const value = row[NULLABLE[bit] as NullableField];
      if (value === null) nulls |= 1 << bit;
      else numbers[at + FIELD.sum + bit] = value;
    }
    numbers[at + FIELD.nulls] = nulls;
    if (row.sketch !== null) {
      sketches.set(row.sketch, sketchAt);
      sketchAt += row.sketch.length;
      numbers[at + FIELD.sketchBytes] = row.sketch.length;
    } else {
      numbers[at + FIELD.sketchBytes] = -1;
    }
    if (row.members !== null) members.push(row.members);
  }
  return { numbers, names, tags, sketches, members };
}

/** What postMessage may move instead of copying. */
export function transferablesOf(batch: RowBatch): ArrayBuffer[] {
  return [batch.numbers.buffer, batch.sketches.buffer] as ArrayBuffer[];
}

/** The rows again; their sketches are views of the batch's bytes. */
export function decodeRows({ numbers, names, tags, sketches, members }: RowBatch): MinuteAggregate[] {
  const rows = new Array<MinuteAggregate>(names.length);
  let sketchAt = 0;
  let setIndex = 0;
  for (let i = 0; i < rows.length; i++) {
    const at = i * FIELDS;
    const nulls = numbers[at + FIELD.nulls] as number;
    const type = METRIC_TYPES[numbers[at + FIELD.type] as number];
    if (type === undefined) throw new Error(`not a row batch: type ${numbers[at + FIELD.type]}`);
    const sketchBytes = numbers[at + FIELD.sketchBytes] as number;
    let sketch: Uint8Array | null = null;
    if (sketchBytes >= 0) {
      sketch = sketches.subarray(sketchAt, sketchAt + sketchBytes);
      sketchAt += sketchBytes;
    }
    rows[i] = {
      type,
      name: names[i] as string,
      tags: tags[i] as string,
      tsSec: numbers[at + FIELD.tsSec] as number,
      count: numbers[at + FIELD.count] as number,
      samples: numbers[at + FIELD.samples] as number,
      sum: nullableAt(numbers, at, nulls, FIELD.sum),
      sumSquares: nullableAt(numbers, at, nulls, FIELD.sumSquares),
      min: nullableAt(numbers, at, nulls, FIELD.min),
      max: nullableAt(numbers, at, nulls, FIELD.max),
      last: nullableAt(numbers, at, nulls, FIELD.last),
      lastAtMs: nullableAt(numbers, at, nulls, FIELD.lastAtMs),
      p50: nullableAt(numbers, at, nulls, FIELD.p50),
      p90: nullableAt(numbers, at, nulls, FIELD.p90),
      p95: nullableAt(numbers, at, nulls, FIELD.p95),
      p99: nullableAt(numbers, at, nulls, FIELD.p99),
      sketch,
      members: nulls & MEMBERS_NULL ? null : (members[setIndex++] as string[]),
    };
  }
  return rows;
}

function nullableAt(numbers: Float64Array, at: number, nulls: number, field: number): number | null {
  return nulls & (1 << (field - FIELD.sum)) ? null : (numbers[at + field] as number);
}
