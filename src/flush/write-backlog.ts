import type { MinuteAggregate } from '../aggregate/summarize.js';
import type { Logger } from '../log.js';
import type { MinuteSink } from './flusher.js';

/** First retry after a failed write; the wait doubles per failure up to the maximum. */
export const RETRY_FIRST_MS = 5_000;
export const RETRY_MAX_MS = 60_000;

export interface WriteBacklogOptions {
  sink: MinuteSink;
  /** Batches (a minute's rows, or a tick's late rows) kept while writes fail; older ones are dropped. */
  maxBatches: number;
  nowMs: () => number;
  logger: Logger;
  /** `flushBacklog` mirrors `pending`, for the self-metrics. */
  counters: { flushErrors: number; backlogDropped: number; flushBacklog: number };
}

/**
 * Keeps ingest independent of storage: a batch that cannot be written (the
 * database locked, read-only, full) waits here, in order, and is retried
 * with backoff until the fault clears. Writes merge into existing rows, so
 * a retried batch lands as if it had been written on time. The log says
 * what happened once when writes start failing and once when they recover,
 * never per retry.
 */
export class WriteBacklog implements MinuteSink {
  readonly #options: WriteBacklogOptions;
  readonly #pending: MinuteAggregate[][] = [];
  #retryAtMs = 0;
  #backoffMs = RETRY_FIRST_MS;
  #failingSinceMs: number | undefined;
  #droppedThisEpisode = 0;

  constructor(options: WriteBacklogOptions) {
    this.#options = options;
  }

  /** Batches waiting to be written. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Never throws: a batch that cannot be written now is kept for a retry. */
  writeMinute(rows: MinuteAggregate[]): void {
    this.#pending.push(rows);
    this.#bound();
    // While failing, new batches queue behind the old ones until the next retry is due.
    if (this.#failingSinceMs === undefined || this.#options.nowMs() >= this.#retryAtMs) this.#drain();
    this.#options.counters.flushBacklog = this.#pending.length;
  }

  /** Called every tick: retries when the backoff has passed. */
  retry(): void {
    if (this.#pending.length > 0 && this.#options.nowMs() >= this.#retryAtMs) this.#drain();
    this.#options.counters.flushBacklog = this.#pending.length;
  }

  /** On shutdown: one last attempt whatever the backoff; returns the batches that could not be written. */
  close(): number {
    if (this.#pending.length > 0) this.#drain();
    if (this.#pending.length > 0) {
      this.#options.logger.error({ batches: this.#pending.length, rows: this.#rowCount() }, 'stopping with unwritten minutes; they are lost');
    }
    return this.#pending.length;
  }

  #drain(): void {
    const { sink, nowMs, logger, counters } = this.#options;
    let written = 0;
    while (this.#pending.length > 0) {
      try {
        sink.writeMinute(this.#pending[0] as MinuteAggregate[]);
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
      this.#pending.shift();
      written++;
    }
    if (this.#failingSinceMs !== undefined) {
      logger.warn(
        { batches: written, dropped: this.#droppedThisEpisode, failedForMs: nowMs() - this.#failingSinceMs },
        'database writes recovered; kept minutes written',
      );
      this.#failingSinceMs = undefined;
      this.#droppedThisEpisode = 0;
      this.#backoffMs = RETRY_FIRST_MS;
    }
  }

  #bound(): void {
    while (this.#pending.length > this.#options.maxBatches) {
      const dropped = this.#pending.shift() as MinuteAggregate[];
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
