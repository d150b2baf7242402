import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import type { MinuteAggregate } from '../aggregate/summarize.js';
import { createSketch, decodeSketch, encodeSketch, quantileOf } from '../aggregate/sketch.js';
import { DattssError } from '../errors.js';
import { migrate } from './migrate.js';

export interface SqliteStoreOptions {
  /** File path, created with its directory if missing; ':memory:' for tests. */
  path: string;
  /** How long a write waits for another connection's lock (ms). */
  busyTimeoutMs: number;
}

/**
 * The SQLite store: WAL mode, statements prepared once, one transaction per
 * minute flush. Writing the same (series, minute) again merges into the row
 * (UPSERT) — counts and sums add, min/max widen, the newer `last` wins, timer
 * sketches and set members are unioned and the percentiles recomputed — so a
 * restart, late data or two daemons on one file never overwrite each other.
 */
export class SqliteStore {
  readonly db: Database;
  readonly #upsertSeries: Statement<[string, string, string, number, number], { id: number }>;
  readonly #upsertMinute: Statement<MinuteParams>;
  readonly #writeMinute: (rows: MinuteAggregate[]) => void;

  constructor(options: SqliteStoreOptions) {
    try {
      if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
      this.db = new BetterSqlite3(options.path, { timeout: options.busyTimeoutMs });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('foreign_keys = ON');
      registerFunctions(this.db);
      migrate(this.db);
    } catch (cause) {
      if (cause instanceof DattssError) throw cause;
      throw new DattssError('DATTSS_STORE_OPEN', `cannot open the database ${options.path}: ${(cause as Error).message}`, { cause });
    }
    this.#upsertSeries = this.db.prepare(UPSERT_SERIES_SQL);
    this.#upsertMinute = this.db.prepare(UPSERT_MINUTE_SQL);
    this.#writeMinute = this.db.transaction((rows: MinuteAggregate[]) => {
      for (const row of rows) {
        const { id } = this.#upsertSeries.get(row.type, row.name, row.tags, row.tsSec, row.tsSec) as { id: number };
        this.#upsertMinute.run(minuteParams(id, row));
      }
    });
  }

  /** Writes one minute's rows in a single transaction, merging into existing rows. */
  writeMinute(rows: MinuteAggregate[]): void {
    try {
      this.#writeMinute(rows);
    } catch (cause) {
      throw new DattssError('DATTSS_STORE_WRITE', `cannot write ${rows.length} rows to ${this.db.name}: ${(cause as Error).message}`, { cause });
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

const UPSERT_SERIES_SQL = `
INSERT INTO series (type, name, tags, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (type, name, tags) DO UPDATE SET
  first_seen = min(first_seen, excluded.first_seen),
  last_seen = max(last_seen, excluded.last_seen)
RETURNING id`;

// In an UPSERT's SET clause every column name refers to the row as it was, so
// the merged sketch is computed once per percentile; conflicts are rare
// (restarts, late data), the plain INSERT path pays nothing for this.
const MERGED_SKETCH = 'dattss_sketch_merge(sketch, excluded.sketch)';
const MERGED_MIN = 'min(min, excluded.min)';
const MERGED_MAX = 'max(max, excluded.max)';
const quantileSql = (q: number): string => `dattss_sketch_quantile(${MERGED_SKETCH}, ${q}, ${MERGED_MIN}, ${MERGED_MAX})`;

const UPSERT_MINUTE_SQL = `
INSERT INTO minute_aggregates
  (series_id, ts, count, samples, sum, sum_squares, min, max, last, last_at_ms, p50, p90, p95, p99, uniques, sketch, members)
VALUES
  (@seriesId, @ts, @count, @samples, @sum, @sumSquares, @min, @max, @last, @lastAtMs, @p50, @p90, @p95, @p99, @uniques, @sketch, @members)
ON CONFLICT (series_id, ts) DO UPDATE SET
  count = count + excluded.count,
  samples = samples + excluded.samples,
  sum = sum + excluded.sum,
  sum_squares = sum_squares + excluded.sum_squares,
  min = ${MERGED_MIN},
  max = ${MERGED_MAX},
  last = CASE WHEN excluded.last_at_ms > last_at_ms OR (excluded.last_at_ms = last_at_ms AND excluded.last > last)
              THEN excluded.last ELSE last END,
  last_at_ms = max(last_at_ms, excluded.last_at_ms),
  p50 = ${quantileSql(0.5)},
  p90 = ${quantileSql(0.9)},
  p95 = ${quantileSql(0.95)},
  p99 = ${quantileSql(0.99)},
  uniques = dattss_set_size(dattss_set_union(members, excluded.members)),
  sketch = ${MERGED_SKETCH},
  members = dattss_set_union(members, excluded.members)`;

interface MinuteParams {
  seriesId: number;
  ts: number;
  count: number;
  samples: number;
  sum: number | null;
  sumSquares: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  lastAtMs: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  uniques: number | null;
  sketch: Buffer | null;
  members: string | null;
}

function minuteParams(seriesId: number, row: MinuteAggregate): MinuteParams {
  return {
    seriesId,
    ts: row.tsSec,
    count: row.count,
    samples: row.samples,
    sum: row.sum,
    sumSquares: row.sumSquares,
    min: row.min,
    max: row.max,
    last: row.last,
    lastAtMs: row.lastAtMs,
    p50: row.p50,
    p90: row.p90,
    p95: row.p95,
    p99: row.p99,
    uniques: row.members === null ? null : row.members.length,
    sketch: row.sketch === null ? null : Buffer.from(row.sketch.buffer, row.sketch.byteOffset, row.sketch.byteLength),
    members: row.members === null ? null : JSON.stringify(row.members),
  };
}

/** SQL functions the merging UPSERT needs; readers of the file never need them. */
function registerFunctions(db: Database): void {
  db.function('dattss_sketch_merge', { deterministic: true }, (a: unknown, b: unknown) => {
    if (!(a instanceof Uint8Array)) return b instanceof Uint8Array ? b : null;
    if (!(b instanceof Uint8Array)) return a;
    const merged = createSketch();
    merged.merge(decodeSketch(a));
    merged.merge(decodeSketch(b));
    return Buffer.from(encodeSketch(merged));
  });
  db.function('dattss_sketch_quantile', { deterministic: true }, (bytes: unknown, q: unknown, min: unknown, max: unknown) => {
    if (!(bytes instanceof Uint8Array) || typeof q !== 'number' || typeof min !== 'number' || typeof max !== 'number') return null;
    return quantileOf(decodeSketch(bytes), q, min, max);
  });
  db.function('dattss_set_union', { deterministic: true }, (a: unknown, b: unknown) => {
    if (typeof a !== 'string') return typeof b === 'string' ? b : null;
    if (typeof b !== 'string') return a;
    const union = new Set<string>(JSON.parse(a) as string[]);
    for (const member of JSON.parse(b) as string[]) union.add(member);
    return JSON.stringify([...union]);
  });
  db.function('dattss_set_size', { deterministic: true }, (members: unknown) =>
    typeof members === 'string' ? (JSON.parse(members) as string[]).length : null,
  );
}
