import type { MinuteAggregate } from '../aggregate/summarize.js';
import { aggregateOf, summarizeMinute } from '../aggregate/summarize.js';
import type { Registry } from '../aggregate/registry.js';
import type { Series } from '../aggregate/series.js';
import { MINUTE_MS, minuteStart } from '../protocol/metric-type.js';
import type { Logger } from '../log.js';
import type { SelfMetrics } from '../self-metrics.js';
import type { Clock, TimerHandle } from './clock.js';

/** Where finished minutes go; the SQLite store in the daemon, anything in tests. */
export interface MinuteSink {
  /** Writes (merging into existing rows) all rows of one minute, atomically. */
  writeMinute(rows: MinuteAggregate[]): void;
  /**
   * Takes a large minute whose rows are summarized as the sink takes them,
   * so that the writing starts at once and only the rows not yet written
   * are held, not the whole minute's (about 40 MiB at 100k series). Never
   * throws. A sink without it is handed large minutes whole.
   */
  streamMinute?(minute: MinuteStream): void;
}

/** A minute's rows, summarized as they are taken (MinuteSink.streamMinute), in order. */
export interface MinuteStream {
  /**
   * Up to `limit` more rows, summarized now for at most SUMMARIZE_BUDGET_MS,
   * so possibly fewer; none once every row has been taken.
   */
  take(limit: number): MinuteAggregate[];
  /** True once every row has been taken. */
  readonly done: boolean;
}

/** A registry of up to this many series is summarized inside the tick that ends its minute. */
export const INLINE_SERIES = 1000;
/**
 * A larger one is summarized in later event-loop turns of about this many
 * milliseconds each (a timer series takes ~15 µs), finished at the latest
 * by the next tick, before the registry reuses the minute's ring slots.
 * A scavenge of the rows a turn leaves behind takes 5–11 ms at 100k series
 * and can fall inside a turn: with 10 ms turns the loop was held 20–23 ms
 * at times, with 5 ms at most 20 and the minute as soon written (bench/README.md).
 */
export const SUMMARIZE_BUDGET_MS = 5;
/** Series summarized between two looks at the clock. */
const SERIES_PER_CLOCK_READ = 64;
/**
 * A streamed minute the sink has not taken to the end this long after its
 * tick is summarized ahead in the flusher's own turns, the rows waiting for
 * the sink: the minute must be summarized before the next tick (5 s later),
 * and without this a slow writer would leave the rest to that tick, all at once.
 */
export const STREAM_AHEAD_AFTER_MS = 2500;

/** A minute being summarized, perhaps across event-loop turns. */
interface PendingMinute {
  minuteStartMs: number;
  /** The series when the minute ended; the next `next` of them are done. */
  series: Series[];
  next: number;
  /** Rows summarized: all of the minute when handed whole; of a streamed one, those not yet taken. */
  rows: MinuteAggregate[];
  /** The self-metrics of the minute, taken when it ended. */
  selfRows: MinuteAggregate[];
  /** Time spent on it in turns before the current one. */
  busyMs: number;
  /** Set when the minute's tick found series to evict: done in a turn of its own once the minute is summarized. */
  evictBeforeMs?: number;
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
  /** Runs the next step of a large minute after pending I/O (setImmediate in the daemon). */
  defer: (next: () => void) => void;
  /** Times STREAM_AHEAD_AFTER_MS. */
  timers: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
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
  /** A minute the flusher summarizes in turns of its own, to hand whole. */
  #pending: PendingMinute | undefined;
  /** A minute the sink summarizes as it takes rows, not yet summarized to the end. */
  #streaming: PendingMinute | undefined;
  /** Set while #streaming is: STREAM_AHEAD_AFTER_MS. */
  #streamAheadTimer: TimerHandle | undefined;
  readonly #idleWaiters: (() => void)[] = [];

  constructor(options: FlusherOptions) {
    this.#options = options;
    this.#flushedBeforeMs = minuteStart(options.registry.currentIntervalMs);
  }

  /** Resolves when no minute is being summarized across turns: every ended minute is with the sink. */
  idle(): Promise<void> {
    if (this.#pending === undefined) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Called by the aligned 5-second scheduler. */
  tick(nowMs: number): void {
    if (this.#closed) return;
    // Before the registry moves on: from the next interval it reuses the pending minute's ring slots.
    this.#finishPending();
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
        this.#flushMinute(minute, true);
      }
      this.#flushedBeforeMs = currentMinute;
    }
    this.#writeLate();
    if (minuteEnded) {
      const evictBeforeMs = currentMinute - this.#options.seriesIdleMs;
      // Eviction scans every series (a few ms at 100k): a large minute's eviction waits for its summary.
      if (this.#pending !== undefined) this.#pending.evictBeforeMs = evictBeforeMs;
      else if (this.#streaming !== undefined) this.#options.defer(() => this.#evictIdle(evictBeforeMs));
      else this.#evictIdle(evictBeforeMs);
    }
  }

  #evictIdle(beforeMs: number): void {
    const evicted = this.#options.registry.evictIdle(beforeMs);
    if (evicted > 0) this.#options.logger.debug({ evicted, series: this.#options.registry.size }, 'evicted idle series');
  }

  /**
   * Flushes everything still in memory, the current unfinished minute
   * included (its row merges with any later write of the same minute), and
   * stops. Used on shutdown.
   */
  close(nowMs: number): void {
    if (this.#closed) return;
    this.tick(nowMs);
    this.#finishPending();
    this.#flushMinute(this.#flushedBeforeMs, false);
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
    for (let minute = this.#flushedBeforeMs; minute <= heldUntilMinute; minute += MINUTE_MS) this.#flushMinute(minute, false);
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

  /**
   * Summarizes one ended minute and hands its rows to the sink: at once for a
   * small registry or when `mayDefer` is false, otherwise across event-loop
   * turns. Minutes reach the sink in order.
   */
  #flushMinute(minuteStartMs: number, mayDefer: boolean): void {
    const { registry, selfMetrics, elapsedMs } = this.#options;
    this.#finishPending();
    const startedMs = elapsedMs();
    const job: PendingMinute = {
      minuteStartMs,
      series: registry.snapshot(),
      next: 0,
      rows: [],
      selfRows: selfMetrics.drainMinute(minuteStartMs, registry),
      busyMs: 0,
    };
    if (!mayDefer || job.series.length <= INLINE_SERIES) {
      summarizeSome(job, Number.POSITIVE_INFINITY, elapsedMs);
      this.#hand(job, startedMs);
      return;
    }
    job.busyMs = elapsedMs() - startedMs;
    const { sink } = this.#options;
    if (sink.streamMinute !== undefined) {
      this.#streaming = job;
      this.#streamAheadTimer = this.#options.timers.setTimeout(() => {
        this.#streamAheadTimer = undefined;
        this.#options.logger.debug(
          { minute: new Date(minuteStartMs).toISOString(), summarized: job.next, series: job.series.length },
          'the writer is slow to take the minute; summarizing the rest ahead',
        );
        this.#summarizeAhead(job);
      }, STREAM_AHEAD_AFTER_MS);
      sink.streamMinute(this.#streamOf(job));
      return;
    }
    this.#pending = job;
    this.#options.defer(() => this.#step(job));
  }

  /**
   * The job's rows as the sink takes them: summarized on demand, or ahead
   * by #finishPending before the registry moved on, then the self-metrics.
   * The last row taken completes the flush.
   */
  #streamOf(job: PendingMinute): MinuteStream {
    const { elapsedMs } = this.#options;
    const selfRows = job.selfRows.length;
    let given = 0;
    let done = false;
    return {
      take: (limit) => {
        if (done) return [];
        const startedMs = elapsedMs();
        if (job.rows.length < limit) summarizeSome(job, startedMs + SUMMARIZE_BUDGET_MS, elapsedMs, limit);
        if (job.next === job.series.length) {
          if (this.#streaming === job) this.#endStreaming();
          for (const row of job.selfRows.splice(0)) job.rows.push(row);
        }
        const taken = job.rows.splice(0, limit);
        given += taken.length;
        done = job.next === job.series.length && job.rows.length === 0;
        job.busyMs += elapsedMs() - startedMs;
        if (done) this.#flushed(job.minuteStartMs, given - selfRows, given, job.busyMs);
        return taken;
      },
      get done() {
        return done;
      },
    };
  }

  /** A turn's worth of a streamed minute the sink is slow to take, and the next turn's. */
  #summarizeAhead(job: PendingMinute): void {
    if (this.#streaming !== job) return;
    summarizeTimed(job, SUMMARIZE_BUDGET_MS, this.#options.elapsedMs);
    if (job.next < job.series.length) this.#options.defer(() => this.#summarizeAhead(job));
    else this.#endStreaming();
  }

  #endStreaming(): void {
    this.#streaming = undefined;
    if (this.#streamAheadTimer !== undefined) this.#options.timers.clearTimeout(this.#streamAheadTimer);
    this.#streamAheadTimer = undefined;
  }

  /** One turn's worth of the pending minute; a step left over from a finished minute does nothing. */
  #step(job: PendingMinute): void {
    if (this.#pending !== job) return;
    const { elapsedMs } = this.#options;
    summarizeTimed(job, SUMMARIZE_BUDGET_MS, elapsedMs);
    if (job.next < job.series.length) this.#options.defer(() => this.#step(job));
    else this.#complete(job, elapsedMs());
  }

  /**
   * Summarizes what is left of the pending minute at once, and of a
   * streamed one, whose rows then wait for the sink.
   */
  #finishPending(): void {
    const { elapsedMs } = this.#options;
    const streaming = this.#streaming;
    if (streaming !== undefined) {
      this.#endStreaming();
      summarizeTimed(streaming, Number.POSITIVE_INFINITY, elapsedMs);
    }
    const job = this.#pending;
    if (job === undefined) return;
    summarizeTimed(job, Number.POSITIVE_INFINITY, elapsedMs);
    this.#complete(job, elapsedMs());
  }

  #complete(job: PendingMinute, startedMs: number): void {
    this.#pending = undefined;
    this.#hand(job, startedMs);
    const { evictBeforeMs } = job;
    if (evictBeforeMs !== undefined) this.#options.defer(() => this.#evictIdle(evictBeforeMs));
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /**
   * Gives a summarized minute's rows to the sink. The flush's duration is the
   * time since `startedMs` plus what earlier turns spent on it.
   */
  #hand(job: PendingMinute, startedMs: number): void {
    const { sink, selfMetrics, logger, elapsedMs } = this.#options;
    const { minuteStartMs, rows } = job;
    const userRows = rows.length;
    rows.push(...job.selfRows);
    try {
      sink.writeMinute(rows);
    } catch (error) {
      selfMetrics.flushErrors++;
      logger.error({ err: error, minute: new Date(minuteStartMs).toISOString(), rows: rows.length }, 'minute flush failed');
      return;
    }
    this.#flushed(minuteStartMs, userRows, rows.length, job.busyMs + elapsedMs() - startedMs);
  }

  /** Records a minute handed to the sink: `durationMs` is the time spent summarizing and handing it. */
  #flushed(minuteStartMs: number, series: number, rows: number, durationMs: number): void {
    this.#options.selfMetrics.lastFlushDurationMs = durationMs;
    this.#options.logger.info({ minute: new Date(minuteStartMs).toISOString(), series, rows, durationMs: round3(durationMs) }, 'flushed minute');
  }
}

/**
 * Summarizes the job's series in order until all are done, the job holds
 * `rowLimit` rows, or, checked every few series, `deadline` has passed.
 */
function summarizeSome(job: PendingMinute, deadline: number, elapsedMs: () => number, rowLimit = Number.POSITIVE_INFINITY): void {
  const { series, minuteStartMs, rows } = job;
  while (job.next < series.length && rows.length < rowLimit) {
    const row = summarizeMinute(series[job.next] as Series, minuteStartMs);
    if (row !== null) rows.push(row);
    job.next++;
    if (job.next % SERIES_PER_CLOCK_READ === 0 && deadline !== Number.POSITIVE_INFINITY && elapsedMs() >= deadline) return;
  }
}

/** summarizeSome for at most `budgetMs` (infinite: to the end), the time it took added to the job's busyMs. */
function summarizeTimed(job: PendingMinute, budgetMs: number, elapsedMs: () => number): void {
  const startedMs = elapsedMs();
  summarizeSome(job, startedMs + budgetMs, elapsedMs);
  job.busyMs += elapsedMs() - startedMs;
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
