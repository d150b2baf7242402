import { HyperLogLog } from '../aggregate/hll.js';
import { SketchBins } from '../aggregate/sketch.js';
import type { MinuteAggregate } from '../aggregate/summarize.js';
import type { MetricType } from '../protocol/metric-type.js';

/**
 * A stored aggregate of any resolution (minute, hour, day), decoded: the unit
 * the store merges. Merging is the same operation as merging partials —
 * associative and commutative — so an hour row is the merge of its minutes in
 * whatever order and however many writes they arrived in.
 */
export interface StoredAggregate {
  type: MetricType;
  count: number;
  samples: number;
  sum: number | null;
  sumSquares: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  lastAtMs: number | null;
  /** Timers: the distribution's bins (aggregate/sketch.ts). */
  sketch: SketchBins | null;
  /** Sets, minute rows: the exact members. */
  members: Set<string> | null;
  /** Sets, hour and day rows: the union as a HyperLogLog. */
  hll: HyperLogLog | null;
}

/** A row as SQLite returns it from an *_aggregates table. */
export interface AggregateRow extends MergeableRow {
  series_id: number;
  ts: number;
}

/** The columns a row is decoded from, without its key and its derived percentiles. */
export interface MergeableRow {
  count: number;
  samples: number;
  sum: number | null;
  sum_squares: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  last_at_ms: number | null;
  sketch: Uint8Array | null;
  members?: string | null;
  hll?: Uint8Array | null;
}

/**
 * The write statements' parameters in their column order (paramColumns in
 * store/sqlite-store.ts). Positional: binding 17 named parameters cost about
 * 1.2 µs a row more (bench/README.md). The last column is a minute row's
 * members or an hour or day row's HyperLogLog; an aggregate holds at most one.
 */
export type AggregateParams = [seriesId: number, ts: number, ...exact: ExactParams, ...derived: DerivedParams];

/** A row's exact fields as parameters, in their column order. */
export type ExactParams = [
  count: number,
  samples: number,
  sum: number | null,
  sumSquares: number | null,
  min: number | null,
  max: number | null,
  last: number | null,
  lastAtMs: number | null,
];

/**
 * The parameters derived from a row's distribution and members, after its
 * exact fields. better-sqlite3 binds a Uint8Array, a view included, as the
 * BLOB of its bytes: no Buffer need be made for it (0.3 µs each).
 */
type DerivedParams = [
  p50: number | null,
  p90: number | null,
  p95: number | null,
  p99: number | null,
  uniques: number | null,
  sketch: Uint8Array | null,
  membersOrHll: string | Uint8Array | null,
];

export function fromMinuteAggregate(row: MinuteAggregate): StoredAggregate {
  return {
    type: row.type,
    ...exactFieldsOf(row),
    sketch: row.sketch === null ? null : SketchBins.decode(row.sketch),
    members: row.members === null ? null : new Set(row.members),
    hll: null,
  };
}

export function fromRow(type: MetricType, row: MergeableRow): StoredAggregate {
  return {
    type,
    count: row.count,
    samples: row.samples,
    sum: row.sum,
    sumSquares: row.sum_squares,
    min: row.min,
    max: row.max,
    last: row.last,
    lastAtMs: row.last_at_ms,
    sketch: row.sketch == null ? null : SketchBins.decode(row.sketch),
    members: row.members == null ? null : new Set(JSON.parse(row.members) as string[]),
    hll: row.hll == null ? null : HyperLogLog.decode(row.hll),
  };
}

/** The mergeable columns of a row as it was written with `params` (toParams' order). */
export function mergeableOfParams(params: AggregateParams): MergeableRow {
  const [, , count, samples, sum, sumSquares, min, max, last, lastAtMs, , , , , , sketch, membersOrHll] = params;
  return {
    count,
    samples,
    sum,
    sum_squares: sumSquares,
    min,
    max,
    last,
    last_at_ms: lastAtMs,
    sketch,
    members: typeof membersOrHll === 'string' ? membersOrHll : null,
    hll: typeof membersOrHll === 'string' ? null : membersOrHll,
  };
}

/** Merges `from` into `into` (same type). */
export function mergeStored(into: StoredAggregate, from: StoredAggregate): void {
  into.count += from.count;
  into.samples += from.samples;
  into.sum = addNullable(into.sum, from.sum);
  into.sumSquares = addNullable(into.sumSquares, from.sumSquares);
  into.min = into.min === null ? from.min : from.min === null ? into.min : Math.min(into.min, from.min);
  into.max = into.max === null ? from.max : from.max === null ? into.max : Math.max(into.max, from.max);
  if (from.lastAtMs !== null && from.last !== null) {
    const newer = into.lastAtMs === null || from.lastAtMs > into.lastAtMs;
    const tieLarger = from.lastAtMs === into.lastAtMs && into.last !== null && from.last > into.last;
    if (newer || tieLarger) {
      into.last = from.last;
      into.lastAtMs = from.lastAtMs;
    }
  }
  if (from.sketch !== null) (into.sketch ??= SketchBins.empty()).merge(from.sketch);
  if (from.members !== null) {
    const members = (into.members ??= new Set());
    for (const member of from.members) members.add(member);
  }
  if (from.hll !== null) (into.hll ??= new HyperLogLog()).merge(from.hll);
}

/** Folds exact members into the HyperLogLog (what a minute contributes to an hour). */
export function withHll(aggregate: StoredAggregate): StoredAggregate {
  if (aggregate.members === null) return aggregate;
  const hll = new HyperLogLog();
  for (const member of aggregate.members) hll.add(member);
  return { ...aggregate, members: null, hll };
}

/** The distinct members: exact from members, estimated from the HLL. */
export function uniquesOf(aggregate: StoredAggregate): number | null {
  if (aggregate.members !== null) return aggregate.members.size;
  if (aggregate.hll !== null) return aggregate.hll.estimate();
  return null;
}

/** Percentile `q` (0..1) from the sketch, nearest rank within 1%; null without a sketch. */
export function percentileOf(aggregate: StoredAggregate, q: number): number | null {
  const { sketch, min, max } = aggregate;
  if (sketch === null || min === null || max === null || sketch.count === 0) return null;
  return sketch.quantile(q, min, max);
}

export function toParams(seriesId: number, ts: number, aggregate: StoredAggregate): AggregateParams {
  const { sketch, members, hll } = aggregate;
  return rowParams(seriesId, ts, aggregate, [
    percentileOf(aggregate, 0.5),
    percentileOf(aggregate, 0.9),
    percentileOf(aggregate, 0.95),
    percentileOf(aggregate, 0.99),
    uniquesOf(aggregate),
    sketch === null ? null : sketch.encode(),
    members !== null ? JSON.stringify([...members]) : hll !== null ? hll.encode() : null,
  ]);
}

/** A minute row's parameters straight from the summary, which already holds its percentiles and encoded sketch. */
export function minuteParams(seriesId: number, row: MinuteAggregate): AggregateParams {
  const { p50, p90, p95, p99, sketch, members } = row;
  return rowParams(seriesId, row.tsSec, row, [
    p50,
    p90,
    p95,
    p99,
    members === null ? null : members.length,
    sketch,
    members === null ? null : JSON.stringify(members),
  ]);
}

/** A row's parameters: its key, its exact fields as they are, then what the caller derived. */
function rowParams(seriesId: number, ts: number, exact: ExactFields, derived: DerivedParams): AggregateParams {
  const { count, samples, sum, sumSquares, min, max, last, lastAtMs } = exact;
  return [seriesId, ts, count, samples, sum, sumSquares, min, max, last, lastAtMs, ...derived];
}

type ExactFields = Pick<StoredAggregate, 'count' | 'samples' | 'sum' | 'sumSquares' | 'min' | 'max' | 'last' | 'lastAtMs'>;

/** The fields a minute summary, a stored aggregate and a row's parameters share as they are. */
function exactFieldsOf(source: ExactFields): ExactFields {
  const { count, samples, sum, sumSquares, min, max, last, lastAtMs } = source;
  return { count, samples, sum, sumSquares, min, max, last, lastAtMs };
}

function addNullable(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : a + b;
}
