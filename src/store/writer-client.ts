import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import type { MinuteAggregate } from '../aggregate/summarize.js';
import { DattssError } from '../errors.js';
import type { MinuteSink } from '../flush/flusher.js';
import type { Logger } from '../log.js';
import type { DogEvent, ServiceCheck } from '../protocol/events.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import { hostWriter } from './writer-host.js';
import type { FromWriter, ToWriter, WriterData, WriterState } from './writer-protocol.js';

/**
 * Rows handed to the writer thread per event-loop turn. Copying a row into
 * the message costs ~0.7 µs, so a turn's share stays near 3 ms, and a
 * minute of 100k series crosses in about 25 turns.
 */
export const POST_ROWS_PER_TURN = 4000;

export interface WriterClientOptions {
  store: SqliteStoreOptions;
  /** Run the writer in a worker thread (the default), or in this thread over a MessageChannel. */
  thread: boolean;
  maxBatches: number;
  pruneBudgetMs: number;
  /** The daemon's logger: the thread's log lines are logged again through it. */
  logger: Logger;
  /** The self-metrics the thread's write backlog feeds. */
  counters: { flushErrors: number; backlogDropped: number; flushBacklog: number };
  /** Runs the next part of a large minute's hand-over after pending I/O. */
  defer: (next: () => void) => void;
}

/**
 * The daemon's side of the writer (store/writer-host.ts), which owns the
 * SQLite connection and the write backlog: minutes, events and ticks go
 * there as messages, and the backlog's state comes back. In a worker thread,
 * writing never runs on the thread that reads the sockets; only summarizing
 * and the copy into messages do.
 */
export class WriterClient implements MinuteSink {
  readonly #options: WriterClientOptions;
  readonly #writer: Worker | MessagePort;
  /** Minutes not yet handed over, in order; the first may be partly handed over. */
  readonly #outgoing: MinuteAggregate[][] = [];
  #postedOfFirst = 0;
  #postScheduled = false;
  readonly #idleWaiters = new Map<number, () => void>();
  #nextIdleId = 1;
  #state: WriterState = { failing: false, flushErrors: 0, backlogDropped: 0, flushBacklog: 0 };
  #closed: Promise<number> | undefined;
  #onClosed: ((lostBatches: number) => void) | undefined;
  /** Set when the thread died: nothing more can be written. */
  #dead = false;

  private constructor(options: WriterClientOptions, writer: Worker | MessagePort) {
    this.#options = options;
    this.#writer = writer;
    writer.on('message', (message: FromWriter) => this.#receive(message));
    writer.on('error', (error: Error) => this.#died(error));
  }

  /** Starts the writer, which opens the database; rejects with the store's DattssError if it cannot. */
  static start(options: WriterClientOptions): Promise<WriterClient> {
    const data: WriterData = {
      store: options.store,
      maxBatches: options.maxBatches,
      logLevel: options.logger.level,
      pruneBudgetMs: options.pruneBudgetMs,
    };
    let writer: Worker | MessagePort;
    if (options.thread) {
      // The thread runs the same kind of file as this one: .js from dist/, .ts under the test runner.
      writer = new Worker(new URL(`./writer-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url), { workerData: data });
    } else {
      const { port1, port2 } = new MessageChannel();
      hostWriter(port2, data, options.defer);
      writer = port1;
    }
    return new Promise((resolve, reject) => {
      const early = (message: FromWriter): void => {
        if (message.type === 'log') relayLog(options.logger, message.line);
        if (message.type === 'ready') {
          writer.off('message', early);
          writer.off('error', reject);
          resolve(new WriterClient(options, writer));
        } else if (message.type === 'failed') {
          writer.off('message', early);
          // The thread ends by itself, with nothing left to do; a channel is closed here.
          if (!(writer instanceof Worker)) writer.close();
          reject(new DattssError(message.code, message.message));
        }
      };
      writer.on('message', early);
      writer.once('error', reject);
    });
  }

  /** True while the thread's writes fail and minutes wait there for a retry, or when the thread died. */
  get failing(): boolean {
    return this.#dead || this.#state.failing;
  }

  /** Never throws: the rows go to the thread over the next turns, in order. */
  writeMinute(rows: MinuteAggregate[]): void {
    if (this.#lost(rows.length)) return;
    this.#outgoing.push(rows);
    this.#options.counters.flushBacklog = this.#state.flushBacklog + this.#outgoing.length;
    if (!this.#postScheduled) this.#postSome();
  }

  writeEventsAndChecks(events: DogEvent[], checks: ServiceCheck[]): void {
    if (events.length === 0 && checks.length === 0) return;
    this.#send({ type: 'notes', events, checks });
  }

  /** The daemon's tick: the thread retries failed writes when due and prunes expired rows. */
  tick(nowMs: number): void {
    this.#send({ type: 'tick', nowMs });
  }

  /** Resolves when every minute handed over so far is written, or waits in the thread for a retry. */
  async idle(): Promise<void> {
    while (this.#postScheduled) await new Promise((resolve) => setImmediate(resolve));
    if (this.#dead || this.#closed !== undefined) return;
    const id = this.#nextIdleId++;
    await new Promise<void>((resolve) => {
      this.#idleWaiters.set(id, resolve);
      this.#send({ type: 'idle', id });
    });
  }

  /** Hands over everything left, lets the thread write it and close the database; resolves with the minutes lost. */
  close(nowMs: number): Promise<number> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closed = new Promise((resolve) => {
      this.#onClosed = resolve;
      if (this.#dead) return resolve(this.#outgoing.length);
      while (this.#outgoing.length > 0) this.#postRows(Number.POSITIVE_INFINITY);
      this.#send({ type: 'close', nowMs });
    });
    return this.#closed;
  }

  /** Posts up to POST_ROWS_PER_TURN rows now and schedules the rest. */
  #postSome(): void {
    this.#postScheduled = false;
    let budget = POST_ROWS_PER_TURN;
    while (budget > 0 && this.#outgoing.length > 0) budget -= this.#postRows(budget);
    if (this.#outgoing.length === 0 || this.#closed !== undefined) return;
    this.#postScheduled = true;
    this.#options.defer(() => this.#postSome());
  }

  /** Posts at most `limit` rows of the first outgoing minute; returns how many. */
  #postRows(limit: number): number {
    const minute = this.#outgoing[0] as MinuteAggregate[];
    const rows = limit >= minute.length && this.#postedOfFirst === 0 ? minute : minute.slice(this.#postedOfFirst, this.#postedOfFirst + limit);
    this.#postedOfFirst += rows.length;
    const last = this.#postedOfFirst === minute.length;
    if (last) {
      this.#outgoing.shift();
      this.#postedOfFirst = 0;
    }
    this.#send({ type: 'rows', rows, last });
    return Math.max(rows.length, 1);
  }

  #send(message: ToWriter): void {
    if (!this.#dead) this.#writer.postMessage(message);
  }

  #receive(message: FromWriter): void {
    switch (message.type) {
      case 'log':
        relayLog(this.#options.logger, message.line);
        break;
      case 'state': {
        const { counters } = this.#options;
        counters.flushErrors += message.state.flushErrors - this.#state.flushErrors;
        counters.backlogDropped += message.state.backlogDropped - this.#state.backlogDropped;
        counters.flushBacklog = message.state.flushBacklog + this.#outgoing.length;
        this.#state = message.state;
        break;
      }
      case 'idle':
        this.#idleWaiters.get(message.id)?.();
        this.#idleWaiters.delete(message.id);
        break;
      case 'closed':
        this.#onClosed?.(message.lostBatches);
        break;
    }
  }

  /** An unexpected error in the thread ended it: say so once; from now on minutes are counted as dropped. */
  #died(error: Error): void {
    this.#dead = true;
    this.#options.counters.flushErrors++;
    this.#options.logger.error({ err: error }, 'the writer thread failed; minutes can no longer be written until the daemon restarts');
    this.#lost(this.#outgoing.splice(0).length);
    for (const resolve of this.#idleWaiters.values()) resolve();
    this.#idleWaiters.clear();
    this.#onClosed?.(0);
  }

  /** After the thread died, minutes are dropped and counted. */
  #lost(minutes: number): boolean {
    if (!this.#dead) return false;
    this.#options.counters.backlogDropped += minutes;
    return true;
  }
}

/** Logs one of the thread's JSON lines through the daemon's logger, at its level, with its fields. */
function relayLog(logger: Logger, line: string): void {
  const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg: string };
  const label = pino.levels.labels[level] as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  logger[label](fields, msg);
}
