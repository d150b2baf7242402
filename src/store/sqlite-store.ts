import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import type { MinuteAggregate } from '../aggregate/summarize.js';
import { DattssError } from '../errors.js';
import type { DogEvent, ServiceCheck } from '../protocol/events.js';
import type { MetricType } from '../protocol/metric-type.js';
import { migrate } from './migrate.js';
import { RESOLUTIONS, bucketStart, type Resolution } from './resolution.js';
import {
  fromMinuteAggregate,
  fromRow,
  mergeStored,
  minuteParams,
  toParams,
  withHll,
  type AggregateParams,
  type MergeableRow,
  type StoredAggregate,
} from './stored-aggregate.js';

export interface RetentionOptions {
  /** Days of minute rows to keep. */
  minuteDays: number;
  /** Days of hour rows to keep. */
  hourDays: number;
  /** Days of day rows to keep; 0 keeps them forever. */
  dayDays: number;
}

export interface SqliteStoreOptions {
  /** File path, created with its directory if missing; ':memory:' for tests. */
  path: string;
  /** How long a write waits for another connection's lock (ms). */
  busyTimeoutMs: number;
  retention: RetentionOptions;
}

/** Rows deleted per statement while pruning: small, so each step is short. */
const PRUNE_BATCH_ROWS = 500;
/** How often the series table is swept for series without rows. */
const ORPHAN_SWEEP_INTERVAL_SEC = 3600;
const BACKLOG_BATCH_ROWS = 1000;
/** Series ids remembered by the writer; past this many the memory starts again empty. */
const MAX_KNOWN_SERIES = 1_000_000;

/**
 * The SQLite store: WAL mode, statements prepared once, one transaction per
 * minute flush. Each minute row merges into its existing row (a restart,
 * late data or two daemons on one file never overwrite), and the same
 * minute merges into its hour and day rows in the same transaction, so the
 * rollups are always up to date and always the merge of their minutes.
 */
export class SqliteStore {
  readonly db: Database;
  readonly #retention: RetentionOptions;
  readonly #upsertSeries: Statement<[string, string, string, number, number], { id: number }>;
  readonly #touchSeries: Statement<[number, number, number, string, string, string]>;
  /**
   * Series ids by `type NUL name NUL tags`, as committed: a series already
   * known costs an UPDATE by its id (~1 µs a row) instead of an upsert that
   * finds it by name (~5 µs).
   */
  readonly #knownSeries = new Map<string, number>();
  /** The columns a merge reads; the percentiles are derived again after it. */
  readonly #select: Record<Resolution, Statement<[number, number], MergeableRow>>;
  /**
   * Writes a row over the one at its key. An upsert updates the row in place,
   * about 2.4 µs, where INSERT OR REPLACE deleted and inserted it again
   * with its index entry, about 6 µs (bench/README.md).
   */
  readonly #write: Record<Resolution, Statement<AggregateParams>>;
  /** Writes a minute row unless one exists (changes 0): the common case needs no read. */
  readonly #insertMinute: Statement<AggregateParams>;
  /** Merges a counter or gauge into its hour or day row inside SQLite: no read, no decoding. */
  readonly #mergeNumeric: Record<Exclude<Resolution, '1m'>, Statement<AggregateParams>>;
  readonly #prune: Record<Resolution, Statement<[number, number]>>;
  readonly #deleteOrphans: Statement<[number]>;
  readonly #insertEvent: Statement<DogEvent>;
  readonly #insertCheck: Statement<ServiceCheck>;
  readonly #pruneEvents: Statement<[number, number]>;
  readonly #pruneChecks: Statement<[number, number]>;
  readonly #writeNotes: (events: DogEvent[], checks: ServiceCheck[]) => void;
  readonly #writeMinute: (rows: MinuteAggregate[], learned: [string, number][]) => void;
  #lastOrphanSweepSec = Number.NEGATIVE_INFINITY;

  constructor(options: SqliteStoreOptions) {
    this.#retention = options.retention;
    try {
      if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
      this.db = new BetterSqlite3(options.path, { timeout: options.busyTimeoutMs });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // Checkpoint the WAL at 16 MB instead of SQLite's 4 MB: a minute of 100k
      // series appends tens of MB, and each checkpoint writes and syncs the
      // file; a minute was written 5% sooner (bench/README.md).
      this.db.pragma('wal_autocheckpoint = 4096');
      this.db.pragma('foreign_keys = ON');
      migrate(this.db);
    } catch (cause) {
      if (cause instanceof DattssError) throw cause;
      throw new DattssError('DATTSS_STORE_OPEN', `cannot open the database ${options.path}: ${(cause as Error).message}`, { cause });
    }
    this.#upsertSeries = this.db.prepare(UPSERT_SERIES_SQL);
    this.#touchSeries = this.db.prepare(
      'UPDATE series SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?) WHERE id = ? AND type = ? AND name = ? AND tags = ?',
    );
    this.#select = perResolution((r) =>
      this.db.prepare(`SELECT ${EXACT_COLUMNS.join(', ')}, sketch, ${lastColumn(r)} FROM ${RESOLUTIONS[r].table} WHERE series_id = ? AND ts = ?`),
    );
    this.#write = perResolution((r) => this.db.prepare(overwriteSql(r)));
    this.#insertMinute = this.db.prepare(`${insertSql('1m')} ON CONFLICT (series_id, ts) DO NOTHING`);
    this.#mergeNumeric = { '1h': this.db.prepare(mergeNumericSql('1h')), '1d': this.db.prepare(mergeNumericSql('1d')) };
    this.#prune = perResolution((r) =>
      this.db.prepare(
        `DELETE FROM ${RESOLUTIONS[r].table} WHERE (series_id, ts) IN
           (SELECT series_id, ts FROM ${RESOLUTIONS[r].table} WHERE ts < ? LIMIT ?)`,
      ),
    );
    this.#deleteOrphans = this.db.prepare(DELETE_ORPHANS_SQL);
    this.#insertEvent = this.db.prepare(
      `INSERT INTO events (ts, title, text, hostname, aggregation_key, priority, source_type, alert_type, tags)
       VALUES (@tsSec, @title, @text, @hostname, @aggregationKey, @priority, @sourceType, @alertType, @tags)`,
    );
    this.#insertCheck = this.db.prepare(
      `INSERT INTO service_checks (ts, name, status, hostname, message, tags)
       VALUES (@tsSec, @name, @status, @hostname, @message, @tags)`,
    );
    this.#pruneEvents = this.db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE ts < ? LIMIT ?)');
    this.#pruneChecks = this.db.prepare('DELETE FROM service_checks WHERE id IN (SELECT id FROM service_checks WHERE ts < ? LIMIT ?)');
    this.#writeNotes = this.db.transaction((events: DogEvent[], checks: ServiceCheck[]) => {
      for (const event of events) this.#insertEvent.run(event);
      for (const check of checks) this.#insertCheck.run(check);
    });
    this.#writeMinute = this.db.transaction((rows: MinuteAggregate[], learned: [string, number][]) => {
      for (const row of rows) {
        const id = this.#seriesId(row, learned);
        const minute = fromMinuteAggregate(row);
        if (this.#insertMinute.run(...minuteParams(id, row)).changes === 0) this.#mergeInto('1m', row.type, id, row.tsSec, minute);
        this.#rollUp(row.type, id, row.tsSec, minute);
      }
    });
    this.#catchUpRollups();
  }

  /**
   * Writes one minute's rows and their rollups in a single transaction,
   * merging into existing rows.
   */
  writeMinute(rows: MinuteAggregate[]): void {
    const learned: [string, number][] = [];
    try {
      this.#writeMinute(rows, learned);
    } catch (cause) {
      // Rolled back: what the transaction learned is void.
      this.#knownSeries.clear();
      throw new DattssError('DATTSS_STORE_WRITE', `cannot write ${rows.length} rows to ${this.db.name}: ${(cause as Error).message}`, { cause });
    }
    if (this.#knownSeries.size + learned.length > MAX_KNOWN_SERIES) this.#knownSeries.clear();
    for (const [key, known] of learned) this.#knownSeries.set(key, known);
  }

  /** Appends DogStatsD events and service checks, in one transaction. */
  writeEventsAndChecks(events: DogEvent[], checks: ServiceCheck[]): void {
    if (events.length === 0 && checks.length === 0) return;
    try {
      this.#writeNotes(events, checks);
    } catch (cause) {
      throw new DattssError('DATTSS_STORE_WRITE', `cannot write events and service checks to ${this.db.name}: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  /**
   * Deletes expired rows in small batches for at most `budgetMs`, oldest
   * resolution first, and now and then the series left without any row.
   * Returns the number of rows deleted. Called on every scheduler tick, so a
   * large backlog is worked off a slice at a time without stalling ingest.
   */
  prune(nowSec: number, budgetMs: number): number {
    const deadline = performance.now() + budgetMs;
    let deleted = 0;
    const cutoffs: [Resolution, number][] = [
      ['1m', nowSec - this.#retention.minuteDays * 86400],
      ['1h', nowSec - this.#retention.hourDays * 86400],
    ];
    if (this.#retention.dayDays > 0) cutoffs.push(['1d', nowSec - this.#retention.dayDays * 86400]);
    // Events and service checks are kept as long as hour rows.
    const prunes: [Statement<[number, number]>, number][] = cutoffs.map(([resolution, cutoff]) => [this.#prune[resolution], cutoff]);
    const hourCutoff = nowSec - this.#retention.hourDays * 86400;
    prunes.push([this.#pruneEvents, hourCutoff], [this.#pruneChecks, hourCutoff]);
    for (const [statement, cutoff] of prunes) {
      for (;;) {
        const { changes } = statement.run(cutoff, PRUNE_BATCH_ROWS);
        deleted += changes;
        if (changes < PRUNE_BATCH_ROWS) break;
        if (performance.now() >= deadline) return deleted;
      }
    }
    if (nowSec - this.#lastOrphanSweepSec >= ORPHAN_SWEEP_INTERVAL_SEC) {
      this.#lastOrphanSweepSec = nowSec;
      let changes = PRUNE_BATCH_ROWS;
      while (changes === PRUNE_BATCH_ROWS && performance.now() < deadline) {
        changes = this.#deleteOrphans.run(PRUNE_BATCH_ROWS).changes;
        if (changes > 0) this.#knownSeries.clear();
      }
    }
    return deleted;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * The row's series id. A known id is confirmed by the UPDATE that moves its
   * first and last seen (it matches nothing if the series was deleted, and
   * its id perhaps reused, by another connection); otherwise the series is
   * upserted, and what that learned goes into `learned`, to be remembered
   * once the transaction commits.
   */
  #seriesId(row: MinuteAggregate, learned: [string, number][]): number {
    const key = `${row.type}\0${row.name}\0${row.tags}`;
    const known = this.#knownSeries.get(key);
    if (known !== undefined && this.#touchSeries.run(row.tsSec, row.tsSec, known, row.type, row.name, row.tags).changes === 1) return known;
    const { id } = this.#upsertSeries.get(row.type, row.name, row.tags, row.tsSec, row.tsSec) as { id: number };
    learned.push([key, id]);
    return id;
  }

  #rollUp(type: MetricType, seriesId: number, minuteTsSec: number, minute: StoredAggregate): void {
    if (type === 'counter' || type === 'gauge') {
      for (const resolution of ['1h', '1d'] as const) {
        this.#mergeNumeric[resolution].run(...toParams(seriesId, bucketStart(resolution, minuteTsSec), minute));
      }
      return;
    }
    const contribution = withHll(minute);
    this.#mergeInto('1h', type, seriesId, bucketStart('1h', minuteTsSec), contribution);
    this.#mergeInto('1d', type, seriesId, bucketStart('1d', minuteTsSec), contribution);
  }

  /** Merges `delta` into the row at (series, ts), or writes it as the row. `delta` is not modified. */
  #mergeInto(resolution: Resolution, type: MetricType, seriesId: number, ts: number, delta: StoredAggregate): void {
    const existing = this.#select[resolution].get(seriesId, ts);
    let merged = delta;
    if (existing !== undefined) {
      merged = fromRow(type, existing);
      mergeStored(merged, delta);
    }
    this.#write[resolution].run(...toParams(seriesId, ts, merged));
  }

  /** Rolls up minute rows that predate the rollup tables (see migration 002). */
  #catchUpRollups(): void {
    const next = this.db.prepare<[number], { series_id: number; ts: number; type: MetricType }>(
      `SELECT b.series_id, b.ts, s.type FROM rollup_backlog AS b JOIN series AS s ON s.id = b.series_id LIMIT ?`,
    );
    const done = this.db.prepare<[number, number]>('DELETE FROM rollup_backlog WHERE series_id = ? AND ts = ?');
    const batch = this.db.transaction((items: { series_id: number; ts: number; type: MetricType }[]) => {
      for (const { series_id: seriesId, ts, type } of items) {
        const row = this.#select['1m'].get(seriesId, ts);
        if (row !== undefined) this.#rollUp(type, seriesId, ts, fromRow(type, row));
        done.run(seriesId, ts);
      }
    });
    for (;;) {
      const items = next.all(BACKLOG_BATCH_ROWS);
      if (items.length === 0) break;
      batch(items);
    }
    this.db.exec('DELETE FROM rollup_backlog'); // entries whose series no longer exists
  }
}

function perResolution<T>(make: (resolution: Resolution) => T): Record<Resolution, T> {
  return { '1m': make('1m'), '1h': make('1h'), '1d': make('1d') };
}

/** The columns merged as they are; the percentiles and unique count are derived from the sketch and members. */
const EXACT_COLUMNS = ['count', 'samples', 'sum', 'sum_squares', 'min', 'max', 'last', 'last_at_ms'];
const DERIVED_COLUMNS = ['p50', 'p90', 'p95', 'p99', 'uniques'];

/** A minute row's exact members, or an hour or day row's HyperLogLog. */
function lastColumn(resolution: Resolution): 'members' | 'hll' {
  return resolution === '1m' ? 'members' : 'hll';
}

/** The columns in the order of AggregateParams (store/stored-aggregate.ts). */
function paramColumns(resolution: Resolution): string[] {
  return ['series_id', 'ts', ...EXACT_COLUMNS, ...DERIVED_COLUMNS, 'sketch', lastColumn(resolution)];
}

function insertSql(resolution: Resolution): string {
  const columns = paramColumns(resolution);
  return `INSERT INTO ${RESOLUTIONS[resolution].table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

/** Inserts a row, or overwrites every column but the key of the row there. */
function overwriteSql(resolution: Resolution): string {
  const values = paramColumns(resolution).slice(2);
  return `${insertSql(resolution)} ON CONFLICT (series_id, ts) DO UPDATE SET ${values.map((column) => `${column} = excluded.${column}`).join(', ')}`;
}

/**
 * Inserts a counter's or gauge's hour or day row, or merges into it exactly
 * as mergeStored does: counts and sums add (null-aware), min and max widen,
 * the newest last wins (the larger on a tie). Every right-hand side reads
 * the row as it was before the update.
 */
function mergeNumericSql(resolution: Exclude<Resolution, '1m'>): string {
  const newer = `excluded.last_at_ms IS NOT NULL AND excluded.last IS NOT NULL AND (last_at_ms IS NULL OR excluded.last_at_ms > last_at_ms
      OR (excluded.last_at_ms = last_at_ms AND last IS NOT NULL AND excluded.last > last))`;
  const addNullable = (column: string) => `${column} = coalesce(${column} + excluded.${column}, ${column}, excluded.${column})`;
  const widen = (column: string, pick: 'min' | 'max') =>
    `"${column}" = CASE WHEN "${column}" IS NULL THEN excluded."${column}" WHEN excluded."${column}" IS NULL THEN "${column}"
      ELSE ${pick}("${column}", excluded."${column}") END`;
  return `${insertSql(resolution)}
  ON CONFLICT (series_id, ts) DO UPDATE SET
    count = count + excluded.count,
    samples = samples + excluded.samples,
    ${addNullable('sum')},
    ${addNullable('sum_squares')},
    ${widen('min', 'min')},
    ${widen('max', 'max')},
    last = CASE WHEN ${newer} THEN excluded.last ELSE last END,
    last_at_ms = CASE WHEN ${newer} THEN excluded.last_at_ms ELSE last_at_ms END`;
}

const UPSERT_SERIES_SQL = `
INSERT INTO series (type, name, tags, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (type, name, tags) DO UPDATE SET
  first_seen = min(first_seen, excluded.first_seen),
  last_seen = max(last_seen, excluded.last_seen)
RETURNING id`;

const DELETE_ORPHANS_SQL = `
DELETE FROM series WHERE id IN (
  SELECT id FROM series AS s
  WHERE NOT EXISTS (SELECT 1 FROM minute_aggregates WHERE series_id = s.id)
    AND NOT EXISTS (SELECT 1 FROM hour_aggregates WHERE series_id = s.id)
    AND NOT EXISTS (SELECT 1 FROM day_aggregates WHERE series_id = s.id)
  LIMIT ?)`;
