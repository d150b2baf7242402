import type { ErrorCode } from '../errors.js';
import type { DogEvent, ServiceCheck } from '../protocol/events.js';
import type { RowBatch } from './row-batch.js';
import type { SettlePacing, SqliteStoreOptions } from './sqlite-store.js';

/**
 * The messages between the daemon and its writer thread (store/writer-thread.ts),
 * which owns the SQLite connection and the write backlog. Only data crosses:
 * the two sides share these types, this constant, the progress encoding and
 * the rows' (store/row-batch.ts), nothing else.
 */

/**
 * The writer thread's nice value (Linux sets one per thread). Writing a
 * minute is seconds of work that can wait; reading the socket cannot. Where
 * the two threads share a core, the scheduler gives the reads about ten times
 * the writer's share; where a core is free, the writer runs at full speed.
 */
export const WRITER_NICE = 10;

export interface WriterData {
  store: SqliteStoreOptions;
  /** The write backlog's bound, in minutes. */
  maxBatches: number;
  /** The daemon's log level: the thread logs at the same level, through the daemon. */
  logLevel: string;
  /** Rows deleted per tick for at most this long. */
  pruneBudgetMs: number;
  /** How much settling of minute rows a tick does (SqliteStore.settle). */
  settle: SettlePacing;
  /** One float64 the writer keeps current with `encodeProgress`, read by the daemon if the thread dies. */
  progress: SharedArrayBuffer;
}

/**
 * How far the writer has got: `minutes` it was given are written or dropped,
 * and `rowsOfNext` rows of the next are written. Both go in one number, set
 * with one store after each commit, so that a thread stopped at any point
 * leaves either the old or the new value, never half of each.
 */
export interface WriterProgress {
  minutes: number;
  rowsOfNext: number;
}

const ROWS_RANGE = 2 ** 32;

export function encodeProgress(minutes: number, rowsOfNext: number): number {
  return minutes * ROWS_RANGE + rowsOfNext;
}

export function decodeProgress(encoded: number): WriterProgress {
  return { minutes: Math.floor(encoded / ROWS_RANGE), rowsOfNext: encoded % ROWS_RANGE };
}

export type ToWriter =
  /** Part of a minute's rows; the minute is complete with `last`. */
  | { type: 'rows'; batch: RowBatch; last: boolean }
  | { type: 'notes'; events: DogEvent[]; checks: ServiceCheck[] }
  /** The daemon's 5-second tick, with its clock: retries when due, then prunes and settles. */
  | { type: 'tick'; nowMs: number }
  /** Answered with `idle` once nothing is being written. */
  | { type: 'idle'; id: number }
  /** Writes everything left, closes the database, answers `closed`. */
  | { type: 'close'; nowMs: number };

/** What the daemon's self-metrics and health need to know of the writer. */
export interface WriterState {
  failing: boolean;
  /** Cumulative over the thread's life. */
  flushErrors: number;
  backlogDropped: number;
  /** Minutes waiting or being written. */
  flushBacklog: number;
}

export type FromWriter =
  | { type: 'ready' }
  | { type: 'failed'; code: ErrorCode; message: string }
  /** A pino JSON line the daemon logs again through its own logger. */
  | { type: 'log'; line: string }
  | { type: 'state'; state: WriterState }
  | { type: 'idle'; id: number }
  | { type: 'closed'; lostBatches: number };
