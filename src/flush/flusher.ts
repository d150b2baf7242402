import type { MinuteAggregate } from '../aggregate/summarize.js';
import { aggregateOf, summarizeMinute } from '../aggregate/summarize.js';
import type { Registry } from '../aggregate/registry.js';
import { MINUTE_MS, minuteStart } from '../protocol/metric-type.js';
import type { Logger } from '../log.js';
import type { SelfMetrics } from '../self-metrics.js';

/** Where finished minutes go; the SQLite store in the daemon, anything in tests. */
export interface MinuteSink {
  /** Writes (merging into existing rows) all rows of one minute, atomically. */
  writeMinute(rows: MinuteAggregate[]): void;
}

export interface FlusherOptions {
  registry: Registry;
  sink: MinuteSink;
  selfMetrics: SelfMetrics;
  logger: Logger;
  /** Series with no sample for this long are evicted after a flush. */
  seriesIdleMs: number;
  /** Monotonic milliseconds, to time a flush. */
  elapsedMs: () => number;
}

/**
 * Turns the registry's partials into minute rows. On every tick it moves the
 * registry's current interval forward and flushes each minute that has ended
 * and may hold data, in order, so a late or skipped tick loses nothing.
 */
export class Flusher {
  readonly #options: FlusherOptions;
  /** Every minute before this one (start, ms) has been written. */
  #flushedBeforeMs: number;
  #closed = false;

  constructor(options: FlusherOptions) {
    this.#options = options;
    this.#flushedBeforeMs = minuteStart(options.registry.currentIntervalMs);
  }

  /** Called by the aligned 5-second scheduler. */
  tick(nowMs: number): void {
    if (this.#closed) return;
    const registry = this.#options.registry;
    if (registry.isBehind(nowMs)) this.#rewind(nowMs);
    const lastDataMinute = minuteStart(registry.currentIntervalMs);
    registry.advance(nowMs);
    const currentMinute = minuteStart(registry.currentIntervalMs);
    const minuteEnded = currentMinute > this.#flushedBeforeMs;
    if (minuteEnded) {
      // Only minutes up to the previous current interval can hold samples: after a
      // forward clock jump the minutes in between are empty and are skipped.
      for (let minute = this.#flushedBeforeMs; minute <= lastDataMinute && minute < currentMinute; minute += MINUTE_MS) {
        this.#flushMinute(minute);
      }
      this.#flushedBeforeMs = currentMinute;
    }
    this.#writeLate();
    if (minuteEnded) {
      const evicted = registry.evictIdle(currentMinute - this.#options.seriesIdleMs);
      if (evicted > 0) this.#options.logger.debug({ evicted, series: registry.size }, 'evicted idle series');
    }
  }

  /**
   * Flushes everything still in memory, the current unfinished minute
   * included (its row merges with any later write of the same minute), and
   * stops. Used on shutdown.
   */
  close(nowMs: number): void {
    if (this.#closed) return;
    this.tick(nowMs);
    this.#flushMinute(this.#flushedBeforeMs);
    this.#closed = true;
  }

  /**
   * The wall clock stepped back (an NTP step, an operator fixing the time).
   * Flushing keeps its pace: everything held is written now, the unfinished
   * minute included, and the registry continues from the new time. Minutes
   * met again merge into their rows, so nothing is lost or counted twice.
   */
  #rewind(nowMs: number): void {
    const registry = this.#options.registry;
    const heldUntilMinute = minuteStart(registry.currentIntervalMs);
    for (let minute = this.#flushedBeforeMs; minute <= heldUntilMinute; minute += MINUTE_MS) this.#flushMinute(minute);
    this.#options.logger.warn(
      { from: new Date(registry.currentIntervalMs).toISOString(), to: new Date(nowMs).toISOString() },
      'the wall clock stepped back; wrote everything held and continue from the new time',
    );
    registry.rewind(nowMs);
    this.#flushedBeforeMs = minuteStart(registry.currentIntervalMs);
  }

  /** Timestamped samples of minutes already written merge into their rows (and rollups). */
  #writeLate(): void {
    const rows: MinuteAggregate[] = [];
    for (const late of this.#options.registry.drainLate()) {
      const row = aggregateOf(late.partial, late.name, late.tags, Math.floor(late.minuteStartMs / 1000));
      if (row !== null) rows.push(row);
    }
    if (rows.length === 0) return;
    try {
      this.#options.sink.writeMinute(rows);
    } catch (error) {
      this.#options.selfMetrics.flushErrors++;
      this.#options.logger.error({ err: error, rows: rows.length }, 'writing late samples failed');
    }
  }

  #flushMinute(minuteStartMs: number): void {
    const { registry, sink, selfMetrics, logger } = this.#options;
    const startedMs = this.#options.elapsedMs();
    const rows: MinuteAggregate[] = [];
    for (const series of registry.series()) {
      const row = summarizeMinute(series, minuteStartMs);
      if (row !== null) rows.push(row);
    }
    const userRows = rows.length;
    rows.push(...selfMetrics.drainMinute(minuteStartMs, registry));
    try {
      sink.writeMinute(rows);
    } catch (error) {
      selfMetrics.flushErrors++;
      logger.error({ err: error, minute: new Date(minuteStartMs).toISOString(), rows: rows.length }, 'minute flush failed');
      return;
    }
    const durationMs = this.#options.elapsedMs() - startedMs;
    selfMetrics.lastFlushDurationMs = durationMs;
    logger.info(
      { minute: new Date(minuteStartMs).toISOString(), series: userRows, rows: rows.length, durationMs: round3(durationMs) },
      'flushed minute',
    );
  }
}


function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
