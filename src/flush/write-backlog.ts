import type { MinuteAggregate } from '../aggregate/summarize.js';
import type { Logger } from '../log.js';
import type { MinuteSink } from './flusher.js';

/** First retry after a failed write; the wait doubles per failure up to the maximum. */
export const RETRY_FIRST_MS = 5_000;
export const RETRY_MAX_MS = 60_000;
/** A minute of up to this many rows is written at once, inside the tick that flushed it. */
export const INLINE_ROWS = 500;
/**
 * A larger minute is written in later event-loop turns, each writing
 * transactions of CHUNK_ROWS rows for about SLICE_BUDGET_MS, so that the
 * flush of many series never holds up the UDP receive loop for long.
 * Rows cost from ~12 µs (a counter) to ~45 µs (a timer, whose sketch is
 * merged into its hour and day), so the budget is in time, not rows.
 * A writer in a thread of its own paces itself more coarsely
 * (store/writer-thread.ts): larger transactions cost less per row.
 */
export const CHUNK_ROWS = 25;
export const SLICE_BUDGET_MS = 10;

/** How a large batch is cut up: rows per transaction, and time per event-loop turn. */
export interface Pacing {
  chunkRows: number;
  sliceBudgetMs: number;
}

export interface WriteBacklogOptions {
  sink: MinuteSink;
  /** Batches (a minute's rows, or a tick's late rows) kept while writes fail; older ones are dropped. */
  maxBatches: number;
  nowMs: () => number;
  /** A monotonic millisecond clock that times the slices (performance.now in the daemon). */
  elapsedMs: () => number;
  /** Runs the next slice after pending I/O (setImmediate in the daemon). */
  defer: (next: () => void) => void;
  logger: Logger;
  /** Defaults to CHUNK_ROWS and SLICE_BUDGET_MS, for a writer in the thread that reads the sockets. */
  pacing?: Pacing;
  /** `flushBacklog` mirrors `pending`, for the self-metrics. */
  counters: { flushErrors: number; backlogDropped: number; flushBacklog: number };
  /**
   * Told after every committed chunk and every dropped batch: `batches`
   * given to writeMinute are written or dropped, and `rowsOfNext` rows of
   * the next one are written.
   */
  onProgress?: (batches: number, rowsOfNext: number) => void;
}

/**
 * Keeps ingest independent of storage: a batch that cannot be written (the
 * database locked, read-only, full) waits here, in order, and is retried
 * with backoff until the fault clears. Writes merge into existing rows, so
 * a retried batch lands as if it had been written on time. The log says
 * what happened once when writes start failing and once when they recover,
 * never per retry. A large batch is written in slices, one event-loop turn
 * each; a chunk written stays written, so a fault in the middle of a batch
 * retries only the rows after it.
 */
export class WriteBacklog implements MinuteSink {
  readonly #options: WriteBacklogOptions;
  readonly #pacing: Pacing;
  /** Batches in order; rows leave the first one as they are written. */
  readonly #pending: MinuteAggregate[][] = [];
  /** Rows of the first pending batch already written (and gone from it). */
  #writtenOfFirst = 0;
  /** The newest pending batch is still receiving rows (appendRows). */
  #open = false;
  /** Batches written or dropped since construction. */
  #settled = 0;
  /** The next slice waits for `defer`. */
  #sliceScheduled = false;
  #closed = false;
  readonly #idleWaiters: (() => void)[] = [];
  #retryAtMs = 0;
  #backoffMs = RETRY_FIRST_MS;
  #failingSinceMs: number | undefined;
  #writtenThisEpisode = 0;
  #droppedThisEpisode = 0;

  constructor(options: WriteBacklogOptions) {
    this.#options = options;
    this.#pacing = options.pacing ?? { chunkRows: CHUNK_ROWS, sliceBudgetMs: SLICE_BUDGET_MS };
  }

  /** Batches waiting to be written, or being written slice by slice. */
  get pending(): number {
    return this.#pending.length;
  }

  /** True while writes fail and batches wait for a retry. */
  get failing(): boolean {
    return this.#failingSinceMs !== undefined;
  }

  /** Resolves when no slice is scheduled: everything is written, or waits for a retry. */
  idle(): Promise<void> {
    if (!this.#sliceScheduled) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Never throws: a batch that cannot be written now is kept for a retry. */
  writeMinute(rows: MinuteAggregate[]): void {
    this.appendRows(rows, true);
  }

  /**
   * Never throws: rows of a batch that arrives in parts, complete with
   * `complete`. Its rows are written as they come, so that a writer given a
   * minute a part at a time holds only the parts not yet written.
   */
  appendRows(rows: MinuteAggregate[], complete: boolean): void {
    if (this.#open) {
      const batch = this.#pending.at(-1) as MinuteAggregate[];
      for (const row of rows) batch.push(row);
    } else {
      // A copy: written rows leave it, later parts join it.
      this.#pending.push(rows.slice());
      this.#bound();
    }
    this.#open = !complete;
    // Behind a scheduled slice, or while failing until the next retry is due, new batches queue.
    if (!this.#sliceScheduled && (this.#failingSinceMs === undefined || this.#options.nowMs() >= this.#retryAtMs)) this.#drain('inline');
    this.#options.counters.flushBacklog = this.#pending.length;
  }

  /** Called every tick: retries when the backoff has passed. */
  retry(): void {
    if (this.#pending.length > 0 && !this.#sliceScheduled && this.#options.nowMs() >= this.#retryAtMs) this.#drain('inline');
    this.#options.counters.flushBacklog = this.#pending.length;
  }

  /** On shutdown: everything at once, whatever the backoff; returns the batches that could not be written. */
  close(): number {
    this.#closed = true;
    if (this.#pending.length > 0) this.#drain('all');
    if (this.#pending.length > 0) {
      this.#options.logger.error({ batches: this.#pending.length, rows: this.#rowCount() }, 'stopping with unwritten minutes; they are lost');
    }
    this.#wakeIdleWaiters();
    return this.#pending.length;
  }

  /**
   * Writes pending batches in order. `inline`: small batches at once, and a
   * large one is left to slices; `slice`: chunks until the time budget is
   * spent; `all`: everything, on shutdown.
   */
  #drain(mode: 'inline' | 'slice' | 'all'): void {
    const { sink, nowMs, elapsedMs, logger, counters } = this.#options;
    const { chunkRows, sliceBudgetMs } = this.#pacing;
    const deadline = elapsedMs() + sliceBudgetMs;
    while (this.#pending.length > 0) {
      const batch = this.#pending[0] as MinuteAggregate[];
      const open = this.#open && this.#pending.length === 1;
      // Everything received of a batch still arriving is written: wait for its next part.
      if (open && batch.length === 0) break;
      const whole = !open && this.#writtenOfFirst === 0 && batch.length <= INLINE_ROWS;
      if (mode === 'inline' && !whole) {
        this.#scheduleSlice();
        return;
      }
      if (mode === 'slice' && elapsedMs() >= deadline) {
        this.#scheduleSlice();
        return;
      }
      const chunk = whole && mode !== 'slice' ? batch : batch.slice(0, chunkRows);
      try {
        sink.writeMinute(chunk);
      } catch (error) {
        counters.flushErrors++;
        if (this.#failingSinceMs === undefined) {
          this.#failingSinceMs = nowMs();
          logger.error(
            { err: error, pending: this.#pending.length, maxBatches: this.#options.maxBatches },
            'writing to the database failed; keeping minutes in memory and retrying',
          );
        } else {
          this.#backoffMs = Math.min(this.#backoffMs * 2, RETRY_MAX_MS);
        }
        this.#retryAtMs = nowMs() + this.#backoffMs;
        return;
      }
      this.#writtenOfFirst += chunk.length;
      // Written rows are let go of at once: the rest of a large batch is all this keeps.
      if (chunk !== batch) batch.splice(0, chunk.length);
      if (chunk === batch || (batch.length === 0 && !open)) {
        this.#pending.shift();
        this.#writtenOfFirst = 0;
        this.#settled++;
        this.#writtenThisEpisode++;
      }
      this.#options.onProgress?.(this.#settled, this.#writtenOfFirst);
    }
    if (this.#failingSinceMs !== undefined) {
      logger.warn(
        { batches: this.#writtenThisEpisode, dropped: this.#droppedThisEpisode, failedForMs: nowMs() - this.#failingSinceMs },
        'database writes recovered; kept minutes written',
      );
      this.#failingSinceMs = undefined;
      this.#droppedThisEpisode = 0;
      this.#backoffMs = RETRY_FIRST_MS;
    }
    this.#writtenThisEpisode = 0;
  }

  #scheduleSlice(): void {
    this.#sliceScheduled = true;
    this.#options.defer(() => {
      this.#sliceScheduled = false;
      if (this.#closed) return;
      if (this.#pending.length > 0) this.#drain('slice');
      this.#options.counters.flushBacklog = this.#pending.length;
      if (!this.#sliceScheduled) this.#wakeIdleWaiters();
    });
  }

  #wakeIdleWaiters(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #bound(): void {
    while (this.#pending.length > this.#options.maxBatches) {
      const dropped = this.#pending.shift() as MinuteAggregate[];
      this.#writtenOfFirst = 0;
      this.#settled++;
      this.#options.onProgress?.(this.#settled, 0);
      this.#options.counters.backlogDropped++;
      if (this.#droppedThisEpisode++ === 0) {
        this.#options.logger.error(
          { maxBatches: this.#options.maxBatches, rows: dropped.length },
          'the write backlog is full; dropping the oldest minutes until the database accepts writes',
        );
      }
    }
  }

  #rowCount(): number {
    return this.#pending.reduce((total, batch) => total + batch.length, 0);
  }
}
