import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import type { MinuteAggregate } from '../aggregate/summarize.js';
import { DattssError } from '../errors.js';
import type { DogEvent, ServiceCheck } from '../protocol/events.js';
import type { MetricType } from '../protocol/metric-type.js';
import { migrate } from './migrate.js';
import { RECENT_MINUTES_TABLE, RESOLUTIONS, bucketStart, type Resolution } from './resolution.js';
import { SeriesIds, type SeriesIdentity } from './series-ids.js';
import {
  fromMinuteAggregate,
  fromRow,
  mergeStored,
  mergeableOfParams,
  minuteParams,
  toParams,
  withHll,
  type AggregateParams,
  type ExactParams,
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

/** How much settling a call may do (SqliteStore.settle). */
export interface SettlePacing {
  /** Time for a call; it settles one slice at least when there is work. */
  budgetMs: number;
  /**
   * Series ids per transaction: an hour of 100k series settles in about 35 s
   * on a database with history, 70 ms a slice of 200 ids (bench/README.md).
   */
  sliceIds: number;
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
 * Series written this long before the newest are remembered when the store
 * opens, so that the first minute after a restart does not upsert each of
 * them (about 8 µs a series, 0.8 s at 100k).
 */
const RECALL_SEEN_WITHIN_SEC = 3600;
/**
 * An hour's minute rows are settled once the hour has been closed this long:
 * minutes flushed late (a restart, a backlog) still find their row among the
 * recent ones, and the recent table holds about an hour.
 */
const SETTLE_DELAY_SEC = 300;
/**
 * Timers' rollup rows remembered per resolution (#lastRollups); past this
 * many, the others are read. A row takes about 0.5 KB and its sketch's
 * bytes (a few hundred for a busy timer): at most some 90 MB a resolution.
 */
const MAX_REMEMBERED_ROLLUPS = 100_000;

/** A series a write met for the first time, and its id: remembered once the write commits. */
type Learned = [series: SeriesIdentity, id: number];

/** The resolutions a minute is rolled up into. */
type Rollup = Exclude<Resolution, '1m'>;
const ROLLUPS: readonly Rollup[] = ['1h', '1d'];

/** The rows of one bucket (hour or day) as this connection last wrote them, by series id. */
interface LastRollups {
  bucketTs: number;
  rows: Map<number, AggregateParams>;
}

/** The tables rows are written to: a resolution's, or the open hour's minute rows. */
type Table = Resolution | 'recent';

const TABLE_NAMES: Record<Table, string> = {
  '1m': RESOLUTIONS['1m'].table,
  recent: RECENT_MINUTES_TABLE,
  '1h': RESOLUTIONS['1h'].table,
  '1d': RESOLUTIONS['1d'].table,
};

/**
 * The SQLite store: WAL mode, statements prepared once, one transaction per
 * minute flush. Each minute row merges into its existing row (a restart,
 * late data or two daemons on one file never overwrite), and the same
 * minute merges into its hour and day rows in the same transaction, so the
 * rollups are always up to date and always the merge of their minutes.
 * Minute rows are written to the recent table, keyed by time, and settled
 * into minute_aggregates, keyed by series, once their hour has closed
 * (migration 005 says why).
 */
export class SqliteStore {
  readonly db: Database;
  readonly #retention: RetentionOptions;
  readonly #upsertSeries: Statement<[string, string, string, number, number], { id: number }>;
  readonly #touchSeries: Statement<[number, number, number, string, string, string]>;
  /**
   * Series ids as committed: a series already known costs an UPDATE by its
   * id (~1 µs a row) instead of an upsert that finds it by name (~5 µs).
   */
  readonly #knownSeries = new SeriesIds();
  /** The columns a merge reads; the percentiles are derived again after it. */
  readonly #select: Record<Table, Statement<[number, number], MergeableRow>>;
  /**
   * Writes a row over the one at its key. An upsert updates the row in place,
   * about 2.4 µs, where INSERT OR REPLACE deleted and inserted it again
   * with its index entry, about 6 µs (bench/README.md).
   */
  readonly #write: Record<Table, Statement<AggregateParams>>;
  /** Writes a recent minute row unless one exists (changes 0): the common case needs no read. */
  readonly #insertMinute: Statement<AggregateParams>;
  /** Merges a counter or gauge into its hour or day row inside SQLite: no read, no decoding. */
  readonly #mergeNumeric: Record<Rollup, Statement<AggregateParams>>;
  /**
   * Timers' hour and day rows of the newest bucket as this connection last
   * wrote them: the next minute merges into them without reading them back
   * (about 2.7 µs a row, 150 ms of a minute of 100k series; bench/README.md).
   * They hold while no other connection has committed (the same check as the
   * series ids'), and are forgotten when a write rolls back, when pruning
   * reaches their bucket and when a newer bucket starts. Sets are left out:
   * a set's HyperLogLog takes up to 16 KB.
   */
  readonly #lastRollups: Record<Rollup, LastRollups> = {
    '1h': { bucketTs: Number.NEGATIVE_INFINITY, rows: new Map() },
    '1d': { bucketTs: Number.NEGATIVE_INFINITY, rows: new Map() },
  };
  /**
   * A write's rows, staged in a temporary table so that the counters' and
   * gauges' minute, hour and day rows and every series' first and last seen
   * are each written by one statement over all of them: per row, a
   * statement costs about 3 µs, and a row inside one about 1 µs.
   */
  readonly #stage: Statement<StagedParams>;
  readonly #mergeStaged: Statement[];
  /** By the staged rows as they are when they hold one minute, else grouped by series (twice the cost). */
  readonly #touchStaged: { oneMinute: Statement; minutes: Statement };
  readonly #clearStaged: Statement;
  /**
   * Changes when another connection commits (SQLite's data_version). While
   * it stays as it was when the remembered ids were last read or written, no
   * one else can have deleted a series, so they hold without a check per row.
   */
  readonly #dataVersion: Statement<[], number>;
  #dataVersionOfKnownSeries: number | undefined;
  readonly #prune: Record<Table, Statement<[number, number]>>;
  readonly #settledBefore: Statement<[], number>;
  readonly #raiseSettledBefore: Statement<[{ target: number }]>;
  readonly #anyUnsettled: Statement<[number], number>;
  readonly #maxSeriesId: Statement<[], number | null>;
  readonly #settleSlice: (fromId: number, toId: number, before: number) => number;
  /** The next series id to settle; past the largest, settling starts again at 0 for rows written late. */
  #settleCursor = 0;
  readonly #deleteOrphans: Statement<[number]>;
  readonly #insertEvent: Statement<DogEvent>;
  readonly #insertCheck: Statement<ServiceCheck>;
  readonly #pruneEvents: Statement<[number, number]>;
  readonly #pruneChecks: Statement<[number, number]>;
  readonly #writeNotes: (events: DogEvent[], checks: ServiceCheck[]) => void;
  readonly #writeMinute: (rows: MinuteAggregate[], learned: Learned[]) => number;
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
      // The staged rows (STAGED_TABLE_SQL) stay in memory, never in a temp file:
      // about 100 bytes a row, and the writer writes up to 500 rows a transaction.
      this.db.pragma('temp_store = MEMORY');
      migrate(this.db);
      this.db.exec(STAGED_TABLE_SQL);
    } catch (cause) {
      if (cause instanceof DattssError) throw cause;
      throw new DattssError('DATTSS_STORE_OPEN', `cannot open the database ${options.path}: ${(cause as Error).message}`, { cause });
    }
    this.#upsertSeries = this.db.prepare(UPSERT_SERIES_SQL);
    this.#touchSeries = this.db.prepare(
      'UPDATE series SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?) WHERE id = ? AND type = ? AND name = ? AND tags = ?',
    );
    this.#select = perTable((table) =>
      this.db.prepare(`SELECT ${EXACT_COLUMNS.join(', ')}, sketch, ${lastColumn(table)} FROM ${TABLE_NAMES[table]} WHERE series_id = ? AND ts = ?`),
    );
    this.#write = perTable((table) => this.db.prepare(overwriteSql(table)));
    this.#insertMinute = this.db.prepare(`${insertSql('recent')} ON CONFLICT (series_id, ts) DO NOTHING`);
    this.#mergeNumeric = { '1h': this.db.prepare(mergeNumericSql('1h')), '1d': this.db.prepare(mergeNumericSql('1d')) };
    this.#stage = this.db.prepare(`INSERT INTO ${STAGED_TABLE} (${STAGED_COLUMNS.join(', ')}) VALUES (${STAGED_COLUMNS.map(() => '?').join(', ')})`);
    this.#mergeStaged = (['recent', '1h', '1d'] as const).map((table) => this.db.prepare(mergeStagedSql(table)));
    this.#touchStaged = { oneMinute: this.db.prepare(touchStagedSql(STAGED_AS_SPANS)), minutes: this.db.prepare(touchStagedSql(STAGED_SPANS_BY_SERIES)) };
    this.#clearStaged = this.db.prepare(`DELETE FROM ${STAGED_TABLE}`);
    this.#dataVersion = this.db.prepare<[], number>('PRAGMA data_version').pluck();
    this.#prune = perTable((table) =>
      this.db.prepare(
        `DELETE FROM ${TABLE_NAMES[table]} WHERE (series_id, ts) IN
           (SELECT series_id, ts FROM ${TABLE_NAMES[table]} WHERE ts < ? LIMIT ?)`,
      ),
    );
    this.#settledBefore = this.db.prepare<[], number>('SELECT settled_before FROM minute_settle').pluck();
    this.#raiseSettledBefore = this.db.prepare('UPDATE minute_settle SET settled_before = @target WHERE settled_before < @target');
    this.#anyUnsettled = this.db.prepare<[number], number>(`SELECT 1 FROM ${TABLE_NAMES.recent} WHERE ts < ? LIMIT 1`).pluck();
    this.#maxSeriesId = this.db.prepare<[], number | null>('SELECT max(id) FROM series').pluck();
    const settleColumns = paramColumns('1m').join(', ');
    const moveSlice = this.db.prepare<[number, number, number]>(
      `INSERT INTO ${TABLE_NAMES['1m']} (${settleColumns}) SELECT ${settleColumns} FROM ${TABLE_NAMES.recent}
       WHERE series_id >= ? AND series_id < ? AND ts < ? ORDER BY series_id, ts`,
    );
    const deleteSlice = this.db.prepare<[number, number, number]>(
      `DELETE FROM ${TABLE_NAMES.recent} WHERE series_id >= ? AND series_id < ? AND ts < ?`,
    );
    this.#settleSlice = this.db.transaction((fromId: number, toId: number, before: number) => {
      moveSlice.run(fromId, toId, before);
      return deleteSlice.run(fromId, toId, before).changes;
    });
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
    this.#writeMinute = this.db.transaction((rows: MinuteAggregate[], learned: Learned[]) => {
      const settledBefore = this.#settledBefore.get() as number;
      const idsHold = this.#dataVersion.get() === this.#dataVersionOfKnownSeries;
      if (!idsHold) this.#forgetRollups();
      let numericStaged = false;
      let oneMinute = true;
      for (const row of rows) {
        if (row.tsSec !== rows[0]?.tsSec) oneMinute = false;
        const id = this.#seriesId(row, learned, idsHold);
        // A counter or gauge merges in SQL; a minute before the settled line may merge into a settled row, row by row.
        const numeric = (row.type === 'counter' || row.type === 'gauge') && row.tsSec >= settledBefore;
        this.#stage.run(
          id,
          row.tsSec,
          bucketStart('1h', row.tsSec),
          bucketStart('1d', row.tsSec),
          numeric ? 1 : 0,
          row.count,
          row.samples,
          row.sum,
          row.sumSquares,
          row.min,
          row.max,
          row.last,
          row.lastAtMs,
        );
        if (numeric) {
          numericStaged = true;
          continue;
        }
        const minute = fromMinuteAggregate(row);
        this.#writeMinuteRow(id, row, minute, settledBefore);
        this.#rollUp(row.type, id, row.tsSec, minute);
      }
      if (numericStaged) for (const merge of this.#mergeStaged) merge.run();
      if (idsHold) this.#touchStaged[oneMinute ? 'oneMinute' : 'minutes'].run();
      this.#clearStaged.run();
      // Read inside the transaction: a commit by another connection after this one changes it.
      return this.#dataVersion.get() as number;
    });
    this.#catchUpRollups();
    this.#recallSeries();
  }

  /**
   * Writes one minute's rows and their rollups in a single transaction,
   * merging into existing rows.
   */
  writeMinute(rows: MinuteAggregate[]): void {
    const learned: Learned[] = [];
    try {
      this.#dataVersionOfKnownSeries = this.#writeMinute(rows, learned);
    } catch (cause) {
      // Rolled back: what the transaction learned is void.
      this.#knownSeries.clear();
      this.#forgetRollups();
      throw new DattssError('DATTSS_STORE_WRITE', `cannot write ${rows.length} rows to ${this.db.name}: ${(cause as Error).message}`, { cause });
    }
    if (this.#knownSeries.size + learned.length > MAX_KNOWN_SERIES) this.#knownSeries.clear();
    for (const [series, id] of learned) this.#knownSeries.set(series, id);
  }

  /**
   * Moves the minute rows of hours closed SETTLE_DELAY_SEC ago from the
   * recent table into minute_aggregates, a slice of series ids per
   * transaction, so that each series' hour lands at once. Returns the rows
   * moved. Called on every scheduler tick, beside prune.
   */
  settle(nowSec: number, { budgetMs, sliceIds }: SettlePacing): number {
    const deadline = performance.now() + budgetMs;
    const target = bucketStart('1h', nowSec - SETTLE_DELAY_SEC);
    this.#raiseSettledBefore.run({ target });
    const before = this.#settledBefore.get() as number;
    let moved = 0;
    while (this.#anyUnsettled.get(before) !== undefined) {
      if (this.#settleCursor > (this.#maxSeriesId.get() ?? 0)) this.#settleCursor = 0;
      const fromId = this.#settleCursor;
      this.#settleCursor += sliceIds;
      try {
        moved += this.#settleSlice(fromId, this.#settleCursor, before);
      } catch (cause) {
        this.#settleCursor = fromId;
        throw new DattssError('DATTSS_STORE_WRITE', `cannot settle minute rows in ${this.db.name}: ${(cause as Error).message}`, { cause });
      }
      if (performance.now() >= deadline) break;
    }
    return moved;
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
    const minuteCutoff = nowSec - this.#retention.minuteDays * 86400;
    const cutoffs: [Table, number][] = [
      ['1m', minuteCutoff],
      ['recent', minuteCutoff],
      ['1h', nowSec - this.#retention.hourDays * 86400],
    ];
    if (this.#retention.dayDays > 0) cutoffs.push(['1d', nowSec - this.#retention.dayDays * 86400]);
    for (const [table, cutoff] of cutoffs) if ((table === '1h' || table === '1d') && this.#lastRollups[table].bucketTs < cutoff) this.#forgetRollups();
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
   * The row's series id. A known id holds when no other connection has
   * written since the remembered ids were read or last written (`idsHold`;
   * its first and last seen move with the staged rows); otherwise it is confirmed by the UPDATE that
   * moves them, which matches nothing if another connection deleted the
   * series, and perhaps reused its id. An unknown series is upserted, and
   * what that learned goes into `learned`, to be remembered once the
   * transaction commits.
   */
  #seriesId(row: MinuteAggregate, learned: Learned[], idsHold: boolean): number {
    const known = this.#knownSeries.get(row);
    if (known !== undefined && (idsHold || this.#touchSeries.run(row.tsSec, row.tsSec, known, row.type, row.name, row.tags).changes === 1)) {
      return known;
    }
    const { id } = this.#upsertSeries.get(row.type, row.name, row.tags, row.tsSec, row.tsSec) as { id: number };
    learned.push([row, id]);
    return id;
  }

  #rollUp(type: MetricType, seriesId: number, minuteTsSec: number, minute: StoredAggregate): void {
    if (type === 'counter' || type === 'gauge') {
      for (const rollup of ROLLUPS) this.#mergeNumeric[rollup].run(...toParams(seriesId, bucketStart(rollup, minuteTsSec), minute));
      return;
    }
    const contribution = withHll(minute);
    for (const rollup of ROLLUPS) {
      const ts = bucketStart(rollup, minuteTsSec);
      if (type === 'timer') this.#mergeIntoLastRollup(rollup, seriesId, ts, contribution);
      else this.#mergeInto(rollup, type, seriesId, ts, contribution);
    }
  }

  /** #mergeInto a timer's hour or day row, from the row as last written when it is remembered (#lastRollups). */
  #mergeIntoLastRollup(rollup: Rollup, seriesId: number, ts: number, delta: StoredAggregate): void {
    const last = this.#lastRollups[rollup];
    if (ts < last.bucketTs) return void this.#mergeInto(rollup, 'timer', seriesId, ts, delta);
    if (ts > last.bucketTs) {
      last.rows.clear();
      last.bucketTs = ts;
    }
    const written = last.rows.get(seriesId);
    const existing = written === undefined ? this.#select[rollup].get(seriesId, ts) : mergeableOfParams(written);
    const params = this.#mergeInto(rollup, 'timer', seriesId, ts, delta, existing);
    if (written !== undefined || last.rows.size < MAX_REMEMBERED_ROLLUPS) last.rows.set(seriesId, params);
  }

  #forgetRollups(): void {
    for (const rollup of ROLLUPS) this.#lastRollups[rollup].rows.clear();
  }

  /**
   * A minute row goes to the recent table, merging into the row there. A
   * minute before the settled line may have a row in minute_aggregates
   * already, and then merges into that one: a minute row is in one table.
   */
  #writeMinuteRow(seriesId: number, row: MinuteAggregate, minute: StoredAggregate, settledBefore: number): void {
    if (row.tsSec < settledBefore) {
      const settled = this.#select['1m'].get(seriesId, row.tsSec);
      if (settled !== undefined) return void this.#mergeInto('1m', row.type, seriesId, row.tsSec, minute, settled);
    }
    if (this.#insertMinute.run(...minuteParams(seriesId, row)).changes === 0) this.#mergeInto('recent', row.type, seriesId, row.tsSec, minute);
  }

  /** Merges `delta` into the row at (series, ts), or writes it as the row; returns what was written. `delta` is not modified. */
  #mergeInto(
    table: Table,
    type: MetricType,
    seriesId: number,
    ts: number,
    delta: StoredAggregate,
    existing: MergeableRow | undefined = this.#select[table].get(seriesId, ts),
  ): AggregateParams {
    let merged = delta;
    if (existing !== undefined) {
      merged = fromRow(type, existing);
      mergeStored(merged, delta);
    }
    const params = toParams(seriesId, ts, merged);
    this.#write[table].run(...params);
    return params;
  }

  /** Remembers the ids of the series written within RECALL_SEEN_WITHIN_SEC of the newest, as of one snapshot. */
  #recallSeries(): void {
    const recent = this.db.prepare<[number, number], { id: number; type: MetricType; name: string; tags: string }>(
      'SELECT id, type, name, tags FROM series WHERE last_seen >= (SELECT max(last_seen) FROM series) - ? LIMIT ?',
    );
    this.db.transaction(() => {
      for (const series of recent.iterate(RECALL_SEEN_WITHIN_SEC, MAX_KNOWN_SERIES)) this.#knownSeries.set(series, series.id);
      this.#dataVersionOfKnownSeries = this.#dataVersion.get() as number;
    })();
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

function perTable<T>(make: (table: Table) => T): Record<Table, T> {
  return { '1m': make('1m'), recent: make('recent'), '1h': make('1h'), '1d': make('1d') };
}

/** The columns merged as they are; the percentiles and unique count are derived from the sketch and members. */
const EXACT_COLUMNS = ['count', 'samples', 'sum', 'sum_squares', 'min', 'max', 'last', 'last_at_ms'];
const DERIVED_COLUMNS = ['p50', 'p90', 'p95', 'p99', 'uniques'];

/** A minute row's exact members, or an hour or day row's HyperLogLog. */
function lastColumn(table: Table): 'members' | 'hll' {
  return table === '1m' || table === 'recent' ? 'members' : 'hll';
}

/** The columns in the order of AggregateParams (store/stored-aggregate.ts). */
function paramColumns(table: Table): string[] {
  return ['series_id', 'ts', ...EXACT_COLUMNS, ...DERIVED_COLUMNS, 'sketch', lastColumn(table)];
}

function insertSql(table: Table): string {
  const columns = paramColumns(table);
  return `INSERT INTO ${TABLE_NAMES[table]} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

/** Inserts a row, or overwrites every column but the key of the row there. */
function overwriteSql(table: Table): string {
  const values = paramColumns(table).slice(2);
  return `${insertSql(table)} ON CONFLICT (series_id, ts) DO UPDATE SET ${values.map((column) => `${column} = excluded.${column}`).join(', ')}`;
}

/**
 * Inserts a counter's or gauge's hour or day row, or merges into it exactly
 * as mergeStored does (NUMERIC_MERGE_SQL).
 */
function mergeNumericSql(resolution: Rollup): string {
  return `${insertSql(resolution)} ${NUMERIC_MERGE_SQL}`;
}

/**
 * Merges the staged counters and gauges into their rows of `table`: a minute
 * row in the recent table, or its hour or day row. Only minutes at or after
 * the settled line are staged as numeric, so none of them has a settled row.
 */
function mergeStagedSql(table: 'recent' | Rollup): string {
  const exact = EXACT_COLUMNS.join(', ');
  return `INSERT INTO ${TABLE_NAMES[table]} (series_id, ts, ${exact})
  SELECT series_id, ${STAGED_TS[table]}, ${exact} FROM ${STAGED_TABLE} WHERE numeric
  ${NUMERIC_MERGE_SQL}`;
}

const NEWER_LAST = `excluded.last_at_ms IS NOT NULL AND excluded.last IS NOT NULL AND (last_at_ms IS NULL OR excluded.last_at_ms > last_at_ms
      OR (excluded.last_at_ms = last_at_ms AND last IS NOT NULL AND excluded.last > last))`;
const addNullable = (column: string): string => `${column} = coalesce(${column} + excluded.${column}, ${column}, excluded.${column})`;
const widen = (column: string, pick: 'min' | 'max'): string =>
  `"${column}" = CASE WHEN "${column}" IS NULL THEN excluded."${column}" WHEN excluded."${column}" IS NULL THEN "${column}"
      ELSE ${pick}("${column}", excluded."${column}") END`;

/**
 * The upsert clause that merges a counter's or gauge's row into the row at
 * its key exactly as mergeStored does: counts and sums add (null-aware), min
 * and max widen, the newest last wins (the larger on a tie). Every
 * right-hand side reads the row as it was before the update. Their derived
 * columns are null and stay so.
 */
const NUMERIC_MERGE_SQL = `
  ON CONFLICT (series_id, ts) DO UPDATE SET
    count = count + excluded.count,
    samples = samples + excluded.samples,
    ${addNullable('sum')},
    ${addNullable('sum_squares')},
    ${widen('min', 'min')},
    ${widen('max', 'max')},
    last = CASE WHEN ${NEWER_LAST} THEN excluded.last ELSE last END,
    last_at_ms = CASE WHEN ${NEWER_LAST} THEN excluded.last_at_ms ELSE last_at_ms END`;

/** This connection's staging table for a write's rows (SqliteStore's #stage). */
const STAGED_TABLE = 'temp.staged_minute_rows';
const STAGED_COLUMNS = ['series_id', 'ts', 'hour_ts', 'day_ts', 'numeric', ...EXACT_COLUMNS];
const STAGED_TABLE_SQL = `CREATE TABLE ${STAGED_TABLE} (
  series_id INTEGER NOT NULL, ts INTEGER NOT NULL, hour_ts INTEGER NOT NULL, day_ts INTEGER NOT NULL,
  numeric INTEGER NOT NULL, ${EXACT_COLUMNS.join(', ')})`; // untyped: values kept as given

/** The staged column holding a row's key in each table the staged rows merge into. */
const STAGED_TS = { recent: 'ts', '1h': 'hour_ts', '1d': 'day_ts' } as const;

/** A staged row's parameters in STAGED_COLUMNS' order. */
type StagedParams = [seriesId: number, ts: number, hourTs: number, dayTs: number, numeric: 0 | 1, ...exact: ExactParams];

/**
 * Moves every staged series' first and last seen. UPDATE … FROM takes one
 * row per series, any of them, so a write of several minutes (a backlog,
 * late rows) reads the staged rows grouped by series.
 */
function touchStagedSql(staged: string): string {
  return `UPDATE series SET first_seen = min(first_seen, staged.first), last_seen = max(last_seen, staged.last)
  FROM ${staged} AS staged WHERE series.id = staged.series_id`;
}

const STAGED_AS_SPANS = `(SELECT series_id, ts AS first, ts AS last FROM ${STAGED_TABLE})`;
const STAGED_SPANS_BY_SERIES = `(SELECT series_id, min(ts) AS first, max(ts) AS last FROM ${STAGED_TABLE} GROUP BY series_id)`;

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
    AND NOT EXISTS (SELECT 1 FROM recent_minute_aggregates WHERE series_id = s.id)
    AND NOT EXISTS (SELECT 1 FROM hour_aggregates WHERE series_id = s.id)
    AND NOT EXISTS (SELECT 1 FROM day_aggregates WHERE series_id = s.id)
  LIMIT ?)`;
