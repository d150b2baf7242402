import BetterSqlite3, { type Database } from 'better-sqlite3';
import { DattssError } from '../errors.js';
import type { MetricType } from '../protocol/metric-type.js';
import { RECENT_MINUTES_TABLE, RESOLUTIONS, RESOLUTION_NAMES, bucketStart, type Resolution } from './resolution.js';
import { fromRow, mergeStored, percentileOf, uniquesOf, type AggregateRow, type StoredAggregate } from './stored-aggregate.js';

/**
 * The read side's store API, shared by the CLI, the HTTP API and the
 * dashboard. Everything is computed by merging stored aggregates — sums add,
 * sketches and HyperLogLogs merge — never by averaging averages.
 */

export interface SeriesSelector {
  name: string;
  type: MetricType;
  /** Exact canonical tags (`k:v,k2:v2`, '' for none). */
  tags?: string;
  /** Only series carrying all these tags; the matching tag sets are merged. Ignored when `tags` is given. */
  matchTags?: Readonly<Record<string, string>>;
  // With neither `tags` nor `matchTags`, every tag set of the name is merged.
}

export interface RangeQuery extends SeriesSelector {
  /** Range start, Unix seconds (inclusive); rounded down to the resolution. */
  fromSec: number;
  /** Range end, Unix seconds (exclusive); rounded up to the resolution. */
  toSec: number;
  /** 'auto' (the default) picks the finest resolution with at most `maxPoints` buckets. */
  resolution?: Resolution | 'auto';
  /** Percentiles to compute from the merged sketches, in percent (e.g. 99.9). */
  percentiles?: readonly number[];
  /** Most buckets an automatic resolution may produce. Default 1000. */
  maxPoints?: number;
}

export interface Point {
  /** Bucket start, Unix seconds. */
  ts: number;
  value: number | null;
  count: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  /** Requested percentiles keyed like `p99.9`. */
  percentiles: Record<string, number | null>;
}

export interface RangeResult {
  resolution: Resolution;
  /** The range actually covered, after rounding to the resolution. */
  fromSec: number;
  toSec: number;
  /** Series merged into the result. */
  series: number;
  points: Point[];
}

export const DEFAULT_MAX_POINTS = 1000;

/**
 * Opens a database file for the read side: read-only, so it is safe beside a
 * running daemon (WAL lets readers and the writer proceed together).
 */
export function openReadOnly(path: string): Database {
  try {
    return new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new DattssError('DATTSS_STORE_OPEN', `cannot open ${path} for reading: ${(cause as Error).message}`, { cause });
  }
}

/** Rows read between two calls of a range query's progress callback. */
export const PROGRESS_EVERY_ROWS = 10_000;

/**
 * Rows per bucket at a chosen or automatic resolution, one point per bucket
 * that has data. `onProgress`, if given, hears the rows read so far every
 * PROGRESS_EVERY_ROWS rows (the CLI shows it on a terminal).
 */
export function queryRange(db: Database, query: RangeQuery, onProgress?: (rowsRead: number) => void): RangeResult {
  const range = planRange(query, DEFAULT_MAX_POINTS);
  const ids = matchSeries(db, query);
  const buckets = new Map<number, StoredAggregate>();
  let rowsRead = 0;
  for (const row of readRows(db, range.resolution, ids, range.fromSec, range.toSec)) {
    if (onProgress !== undefined && ++rowsRead % PROGRESS_EVERY_ROWS === 0) onProgress(rowsRead);
    const aggregate = fromRow(query.type, row);
    const existing = buckets.get(row.ts);
    if (existing === undefined) buckets.set(row.ts, aggregate);
    else mergeStored(existing, aggregate);
  }
  const points = [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([ts, aggregate]) => pointOf(ts, aggregate, query.percentiles ?? []));
  return { ...range, series: ids.length, points };
}

/** Buckets merged for a range summary at most; about a day of minutes, so its edges stay sharp. */
const SUMMARY_MAX_BUCKETS = 1500;

/**
 * One aggregate over the whole range ("p99.9 over the last 3 hours"): every
 * bucket of every matching series merged, percentiles from the merged sketch.
 * `summary` is null when the range holds no data.
 */
export function summarizeRange(db: Database, query: RangeQuery): Omit<RangeResult, 'points'> & { summary: Point | null } {
  const range = planRange(query, SUMMARY_MAX_BUCKETS);
  const ids = matchSeries(db, query);
  let total: StoredAggregate | undefined;
  for (const row of readRows(db, range.resolution, ids, range.fromSec, range.toSec)) {
    const aggregate = fromRow(query.type, row);
    if (total === undefined) total = aggregate;
    else mergeStored(total, aggregate);
  }
  return { ...range, series: ids.length, summary: total === undefined ? null : pointOf(range.fromSec, total, query.percentiles ?? []) };
}

/** The resolution and the range rounded out to whole buckets. */
function planRange(query: RangeQuery, defaultMaxPoints: number): { resolution: Resolution; fromSec: number; toSec: number } {
  const resolution = chooseResolution({ ...query, maxPoints: query.maxPoints ?? defaultMaxPoints });
  const step = RESOLUTIONS[resolution].seconds;
  return { resolution, fromSec: bucketStart(resolution, query.fromSec), toSec: Math.ceil(query.toSec / step) * step };
}

export function chooseResolution(query: Pick<RangeQuery, 'fromSec' | 'toSec' | 'resolution' | 'maxPoints'>): Resolution {
  if (query.resolution !== undefined && query.resolution !== 'auto') return query.resolution;
  const maxPoints = query.maxPoints ?? DEFAULT_MAX_POINTS;
  for (const resolution of RESOLUTION_NAMES) {
    // Buckets of the range rounded out to whole buckets, as planRange reads it.
    const step = RESOLUTIONS[resolution].seconds;
    if (Math.ceil(query.toSec / step) - Math.floor(query.fromSec / step) <= maxPoints) return resolution;
  }
  return '1d';
}

/** Ids of the series the selector matches. */
export function matchSeries(db: Database, selector: SeriesSelector): number[] {
  const rows = db
    .prepare<[string, string], { id: number; tags: string }>('SELECT id, tags FROM series WHERE name = ? AND type = ?')
    .all(selector.name, selector.type);
  return rows.filter((row) => tagsMatch(row.tags, selector)).map((row) => row.id);
}

function tagsMatch(tags: string, selector: SeriesSelector): boolean {
  if (selector.tags !== undefined) return tags === selector.tags;
  if (selector.matchTags === undefined) return true;
  const present = new Map<string, string>();
  for (const tag of tags === '' ? [] : tags.split(',')) {
    const colon = tag.indexOf(':');
    present.set(colon === -1 ? tag : tag.slice(0, colon), colon === -1 ? '' : tag.slice(colon + 1));
  }
  return Object.entries(selector.matchTags).every(([key, value]) => present.get(key) === value);
}

export function* readRows(db: Database, resolution: Resolution, ids: number[], fromSec: number, toSec: number): Generator<AggregateRow> {
  const rowsOf = (table: string) => `SELECT * FROM ${table} WHERE series_id = @id AND ts >= @fromSec AND ts < @toSec`;
  // A minute row is in one of two tables: settled, or of the last hour or so (migration 005).
  const select = resolution === '1m' ? `${rowsOf(RESOLUTIONS['1m'].table)} UNION ALL ${rowsOf(RECENT_MINUTES_TABLE)}` : rowsOf(RESOLUTIONS[resolution].table);
  const statement = db.prepare<[{ id: number; fromSec: number; toSec: number }], AggregateRow>(`${select} ORDER BY ts`);
  for (const id of ids) yield* statement.iterate({ id, fromSec, toSec });
}

/** The natural single number of an aggregate, as the metrics_* views define `value`. */
export function valueOf(aggregate: StoredAggregate): number | null {
  switch (aggregate.type) {
    case 'counter':
      return aggregate.sum;
    case 'timer':
      return aggregate.samples === 0 || aggregate.sum === null ? null : aggregate.sum / aggregate.samples;
    case 'gauge':
      return aggregate.last;
    case 'set':
      return uniquesOf(aggregate);
  }
}

function pointOf(ts: number, aggregate: StoredAggregate, percentiles: readonly number[]): Point {
  const point: Point = {
    ts,
    value: valueOf(aggregate),
    count: aggregate.count,
    sum: aggregate.sum,
    min: aggregate.min,
    max: aggregate.max,
    last: aggregate.last,
    percentiles: {},
  };
  for (const percent of percentiles) point.percentiles[`p${percent}`] = percentileOf(aggregate, percent / 100);
  return point;
}
