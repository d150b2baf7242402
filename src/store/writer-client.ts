import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { pino } from 'pino';
import type { MinuteAggregate } from '../aggregate/summarize.js';
import { DattssError } from '../errors.js';
import type { MinuteSink, MinuteStream } from '../flush/flusher.js';
import type { Logger } from '../log.js';
import type { DogEvent, ServiceCheck } from '../protocol/events.js';
import { encodeRows, transferablesOf } from './row-batch.js';
import type { SettlePacing, SqliteStoreOptions } from './sqlite-store.js';
import { hostWriter } from './writer-host.js';
import { decodeProgress, type FromWriter, type ToWriter, type WriterData, type WriterProgress, type WriterState } from './writer-protocol.js';

/**
 * Rows handed to the writer thread per event-loop turn. Copying a row into
 * the message costs ~0.7 µs, so a turn's share stays near 3 ms, and a
 * minute of 100k series crosses in about 25 turns.
 */
export const POST_ROWS_PER_TURN = 4000;

/**
 * Rows handed over and not yet written, at most, while the store writes: the
 * thread writes a minute's rows as they come (flush/write-backlog.ts), so it
 * holds a few thousand instead of a structured clone of the whole minute,
 * about 49 MiB at 100k series, for the seconds the writing takes. This side
 * keeps every row until written anyway. While the store fails, minutes are
 * handed over whole, for the thread's backlog to keep and bound.
 */
export const MAX_ROWS_IN_FLIGHT = 2 * POST_ROWS_PER_TURN;
/** How often a full hand-over looks again at what the thread has written. */
const IN_FLIGHT_POLL_MS = 5;

/**
 * How much a tick settles of the minute rows (SqliteStore.settle). An hour of
 * 100k series is about 35 s of settling on a database with history, 50 ms a
 * tick: the writer thread may take 100 ms a tick in slices of 200 series ids
 * (70 ms each there). In the daemon's own thread, ticks settle only as long as
 * they prune, in slices of 25 ids (about 10 ms), which keeps up with some 40k
 * series.
 */
const THREAD_SETTLE: SettlePacing = { budgetMs: 100, sliceIds: 200 };
const DAEMON_THREAD_SETTLE_SLICE_IDS = 25;

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
 * A thread that dies this many times in a row, each time before it has
 * written anything, is not started again: something in the process is
 * broken, and restarting it would only spin.
 */
export const MAX_RESTARTS_WITHOUT_PROGRESS = 3;

const NO_STATE: WriterState = { failing: false, flushErrors: 0, backlogDropped: 0, flushBacklog: 0 };

/**
 * A minute not known to be written. A streamed one gets its rows from the
 * stream as they are handed over. Rows the thread has written are let go of
 * (undefined) before the whole minute is: they are never handed over again.
 */
interface HeldMinute {
  rows: (MinuteAggregate | undefined)[];
  stream: MinuteStream | undefined;
}

/** A started writer, and the progress it keeps in shared memory (store/writer-protocol.ts). */
interface Launched {
  writer: Worker | MessagePort;
  progress: Float64Array<SharedArrayBuffer>;
}

/**
 * The daemon's side of the writer (store/writer-host.ts), which owns the
 * SQLite connection and the write backlog: minutes, events and ticks go
 * there as messages, and the backlog's state comes back. In a worker thread,
 * writing never runs on the thread that reads the sockets; only summarizing
 * and the copy into messages do.
 *
 * A minute stays here until the thread has written it (the thread counts
 * its progress in shared memory with each commit), so that a thread that
 * dies (an uncaught error, terminated) is replaced by a new one that writes
 * what the old one had not, from the first row it had not, none twice.
 * While the store fails, minutes handed over are let go: they wait in the
 * thread's backlog only, and a thread that dies then loses them (counted as
 * dropped).
 */
export class WriterClient implements MinuteSink {
  readonly #options: WriterClientOptions;
  /** Undefined while a new thread starts. */
  #writer: Worker | MessagePort | undefined;
  /** The current writer's progress (store/writer-protocol.ts); set with it by #attach. */
  #progress!: Float64Array<SharedArrayBuffer>;
  /**
   * Minutes not known to be written, in order: the first `#posted` are with
   * the thread, the next has `#postedOfNext` rows there. The first is the
   * thread's minute number `#firstIndex`, counted from its start.
   */
  #minutes: HeldMinute[] = [];
  #posted = 0;
  #postedOfNext = 0;
  #firstIndex = 0;
  /** A stream gave fewer rows than asked, its time for the turn spent: post again next turn. */
  #streamPaused = false;
  #postScheduled = false;
  /** `idle` requests by id: resolved with true when answered, false when the thread died first. */
  readonly #idleWaiters = new Map<number, (answered: boolean) => void>();
  #nextIdleId = 1;
  #state: WriterState = NO_STATE;
  /** Events and checks that arrived while a new thread started. */
  readonly #heldNotes: ToWriter[] = [];
  #restarting: Promise<void> | undefined;
  #deathsWithoutProgress = 0;
  #closed: Promise<number> | undefined;
  #onClosed: ((lostBatches: number) => void) | undefined;
  /** Set when no thread can be started: nothing more can be written. */
  #dead = false;

  private constructor(options: WriterClientOptions, launched: Launched) {
    this.#options = options;
    this.#attach(launched);
  }

  /** Starts the writer, which opens the database; rejects with the store's DattssError if it cannot. */
  static async start(options: WriterClientOptions): Promise<WriterClient> {
    return new WriterClient(options, await launch(options));
  }

  /** True while the thread's writes fail and minutes wait there for a retry, while a new thread starts, or when none can. */
  get failing(): boolean {
    return this.#dead || this.#restarting !== undefined || this.#state.failing;
  }

  /** Never throws: the rows go to the thread over the next turns, in order. */
  writeMinute(rows: MinuteAggregate[]): void {
    this.#hold({ rows, stream: undefined });
  }

  /** Never throws: the rows are summarized as they are handed to the thread, after every minute before. */
  streamMinute(minute: MinuteStream): void {
    this.#hold({ rows: [], stream: minute });
  }

  #hold(minute: HeldMinute): void {
    if (this.#lost(1)) return;
    this.#forgetWritten();
    this.#minutes.push(minute);
    this.#countBacklog();
    if (this.#postScheduled) return;
    // A stream summarizes as it is handed over: not in the tick that ended its minute.
    if (minute.stream === undefined) return this.#postSome();
    this.#postScheduled = true;
    this.#options.defer(() => this.#postSome());
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
    for (;;) {
      if (this.#restarting !== undefined) await this.#restarting;
      while (this.#postScheduled) await new Promise((resolve) => setImmediate(resolve));
      if (this.#dead || this.#closed !== undefined) return;
      if (this.#restarting !== undefined) continue;
      const id = this.#nextIdleId++;
      const answered = await new Promise<boolean>((resolve) => {
        this.#idleWaiters.set(id, resolve);
        this.#send({ type: 'idle', id });
      });
      if (answered) return;
    }
  }

  /** Hands over everything left, lets the thread write it and close the database; resolves with the minutes lost. */
  close(nowMs: number): Promise<number> {
    this.#closed ??= (async () => {
      if (this.#restarting !== undefined) await this.#restarting;
      return new Promise<number>((resolve) => {
        this.#onClosed = resolve;
        if (this.#dead) return resolve(0);
        while (this.#posted < this.#minutes.length) this.#postRows(Number.POSITIVE_INFINITY);
        this.#send({ type: 'close', nowMs });
      });
    })();
    return this.#closed;
  }

  #attach({ writer, progress }: Launched): void {
    this.#writer = writer;
    this.#progress = progress;
    // A thread replaced after it died has nothing more to say.
    writer.on('message', (message: FromWriter) => this.#writer === writer && this.#receive(message));
    if (!(writer instanceof Worker)) return;
    let error: Error | undefined;
    writer.on('error', (thrown: Error) => (error = thrown));
    writer.on('exit', (exitCode: number) => {
      if (this.#writer !== writer) return;
      if (this.#closed === undefined) this.#died(error, exitCode);
      // Ended while closing, before it could say what it wrote.
      else this.#onClosed?.(this.#minutes.length);
    });
  }

  /**
   * Posts up to POST_ROWS_PER_TURN rows now, no more than MAX_ROWS_IN_FLIGHT
   * ahead of what the thread has written, and schedules the rest.
   */
  #postSome(): void {
    this.#postScheduled = false;
    if (this.#writer === undefined) return;
    const room = this.#state.failing ? Number.POSITIVE_INFINITY : MAX_ROWS_IN_FLIGHT - this.#rowsInFlight();
    let budget = Math.min(POST_ROWS_PER_TURN, room);
    this.#streamPaused = false;
    while (budget > 0 && this.#posted < this.#minutes.length && !this.#streamPaused) budget -= this.#postRows(budget);
    if (this.#posted === this.#minutes.length || this.#closed !== undefined) return;
    this.#postScheduled = true;
    // Stopped by the turn's share or a stream's time: go on next turn. Stopped by the thread: look again shortly.
    const next = () => this.#options.defer(() => this.#postSome());
    if (room > POST_ROWS_PER_TURN || this.#streamPaused) next();
    else setTimeout(next, IN_FLIGHT_POLL_MS);
  }

  /** Rows with the thread and not yet written, as its progress in shared memory says. */
  #rowsInFlight(): number {
    const written = this.#forgetWritten();
    let posted = this.#postedOfNext;
    for (let i = 0; i < this.#posted; i++) posted += (this.#minutes[i] as HeldMinute).rows.length;
    // Written rows of the first minute count only when it is the one the thread is writing.
    const writtenOfFirst = this.#firstIndex === written.minutes ? written.rowsOfNext : 0;
    return posted === 0 ? 0 : posted - writtenOfFirst;
  }

  /**
   * Posts at most `limit` rows of the first minute not yet with the thread,
   * taking them from its stream as needed; returns how many.
   */
  #postRows(limit: number): number {
    const minute = this.#minutes[this.#posted] as HeldMinute;
    const from = this.#postedOfNext;
    const { stream } = minute;
    if (stream !== undefined && minute.rows.length - from < limit) {
      const wanted = limit - (minute.rows.length - from);
      const taken = stream.take(wanted);
      for (const row of taken) minute.rows.push(row);
      if (stream.done) minute.stream = undefined;
      else if (taken.length < wanted) this.#streamPaused = true;
    }
    const rows = (limit >= minute.rows.length && from === 0 ? minute.rows : minute.rows.slice(from, from + limit)) as MinuteAggregate[];
    this.#postedOfNext += rows.length;
    const last = minute.stream === undefined && this.#postedOfNext === minute.rows.length;
    if (last) {
      this.#posted++;
      this.#postedOfNext = 0;
    }
    const batch = encodeRows(rows);
    this.#send({ type: 'rows', batch, last }, transferablesOf(batch));
    if (last && this.#state.failing) this.#letGoOfPosted();
    return Math.max(rows.length, 1);
  }

  #send(message: ToWriter, transfer: ArrayBuffer[] = []): void {
    if (this.#writer !== undefined) this.#writer.postMessage(message, transfer);
    else if (message.type === 'notes' && !this.#dead) this.#heldNotes.push(message);
  }

  #receive(message: FromWriter): void {
    switch (message.type) {
      case 'log':
        relayLog(this.#options.logger, message.line);
        break;
      case 'state': {
        const { counters } = this.#options;
        const { state } = message;
        counters.flushErrors += state.flushErrors - this.#state.flushErrors;
        counters.backlogDropped += state.backlogDropped - this.#state.backlogDropped;
        this.#state = state;
        this.#forgetWritten();
        if (state.failing) this.#letGoOfPosted();
        this.#countBacklog();
        break;
      }
      case 'idle':
        this.#forgetWritten();
        this.#idleWaiters.get(message.id)?.(true);
        this.#idleWaiters.delete(message.id);
        break;
      case 'closed':
        this.#onClosed?.(message.lostBatches);
        break;
    }
  }

  /** While the store fails, the thread's backlog alone keeps what it was given: two copies would double the memory a long fault takes. */
  #letGoOfPosted(): void {
    this.#minutes.splice(0, this.#posted);
    this.#firstIndex += this.#posted;
    this.#posted = 0;
  }

  /** Minutes waiting or being written: in the thread's backlog, and here, not yet handed over. */
  #countBacklog(): void {
    this.#options.counters.flushBacklog = this.#state.flushBacklog + this.#minutes.length - this.#posted;
  }

  /**
   * The thread ended without being asked to: start another, and hand it
   * every minute the old one had not written, from the first row it had not
   * written. Minutes it held alone (let go while the store failed) are lost.
   */
  #died(error: Error | undefined, exitCode: number): void {
    this.#writer = undefined;
    this.#postScheduled = false;
    const { counters, logger } = this.#options;
    counters.flushErrors++;
    const written = this.#forgetWritten();
    if (written.minutes > 0 || written.rowsOfNext > 0) this.#deathsWithoutProgress = 0;
    const lost = Math.max(0, this.#firstIndex - written.minutes);
    counters.backlogDropped += lost;
    // The first minute, whole or in part, is with the thread, which wrote its first rows.
    if ((this.#posted > 0 || this.#postedOfNext > 0) && lost === 0 && written.rowsOfNext > 0) {
      const first = this.#minutes[0] as HeldMinute;
      first.rows = first.rows.slice(written.rowsOfNext);
    }
    this.#posted = 0;
    this.#postedOfNext = 0;
    this.#firstIndex = 0;
    this.#state = NO_STATE;
    for (const resolve of this.#idleWaiters.values()) resolve(false);
    this.#idleWaiters.clear();
    const context = { err: error, exitCode, minutesLost: lost, minutesToWrite: this.#minutes.length };
    if (++this.#deathsWithoutProgress > MAX_RESTARTS_WITHOUT_PROGRESS) {
      logger.error(
        { ...context, restarts: MAX_RESTARTS_WITHOUT_PROGRESS },
        'the writer thread keeps failing before it writes anything; minutes can no longer be written until the daemon restarts',
      );
      return this.#giveUp();
    }
    logger.error(context, 'the writer thread stopped unexpectedly; starting a new one to write what it had not');
    this.#restarting = launch(this.#options).then(
      (launched) => {
        this.#restarting = undefined;
        this.#attach(launched);
        const { writer } = launched;
        for (const note of this.#heldNotes.splice(0)) writer.postMessage(note);
        this.#postSome();
      },
      (startError: unknown) => {
        this.#restarting = undefined;
        logger.error({ err: startError }, 'a new writer thread could not start; minutes can no longer be written until the daemon restarts');
        this.#giveUp();
      },
    );
  }

  /**
   * Lets go of the minutes, and rows of the first one, the thread has
   * written, as it says in the shared memory it keeps current; returns its
   * progress.
   */
  #forgetWritten(): WriterProgress {
    const written = decodeProgress(this.#progress[0] as number);
    while (this.#firstIndex < written.minutes && this.#posted > 0) {
      this.#minutes.shift();
      this.#firstIndex++;
      this.#posted--;
    }
    if (this.#firstIndex === written.minutes && (this.#posted > 0 || this.#postedOfNext > 0)) {
      const rows = (this.#minutes[0] as HeldMinute).rows;
      // The rows let go of are a prefix: back from the last one written to the first already gone.
      for (let i = written.rowsOfNext - 1; i >= 0 && rows[i] !== undefined; i--) rows[i] = undefined;
    }
    return written;
  }

  /** No thread to write: what waits here is dropped and counted, and so is every later minute. */
  #giveUp(): void {
    this.#dead = true;
    this.#lost(this.#minutes.splice(0).length);
    this.#heldNotes.length = 0;
    this.#countBacklog();
  }

  /** After giving up, minutes are dropped and counted. */
  #lost(minutes: number): boolean {
    if (!this.#dead) return false;
    this.#options.counters.backlogDropped += minutes;
    return true;
  }
}

/** Starts a writer and waits until it has opened the database. */
function launch(options: WriterClientOptions): Promise<Launched> {
  const data: WriterData = {
    store: options.store,
    maxBatches: options.maxBatches,
    logLevel: options.logger.level,
    pruneBudgetMs: options.pruneBudgetMs,
    settle: options.thread ? THREAD_SETTLE : { budgetMs: options.pruneBudgetMs, sliceIds: DAEMON_THREAD_SETTLE_SLICE_IDS },
    progress: new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT),
  };
  let writer: Worker | MessagePort;
  if (options.thread) {
    // The thread runs the same kind of file as this one: .js from dist/, .ts under the test runner.
    writer = new Worker(new URL(`./writer-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url), { workerData: data });
  } else {
    const { port1, port2 } = new MessageChannel();
    hostWriter(port2, data, { defer: options.defer });
    writer = port1;
  }
  return new Promise((resolve, reject) => {
    const early = (message: FromWriter): void => {
      if (message.type === 'log') relayLog(options.logger, message.line);
      if (message.type === 'ready') {
        stopListening();
        resolve({ writer, progress: new Float64Array(data.progress) });
      } else if (message.type === 'failed') {
        stopListening();
        // The thread ends by itself, with nothing left to do; a channel is closed here.
        if (!(writer instanceof Worker)) writer.close();
        reject(new DattssError(message.code, message.message));
      }
    };
    const exited = (exitCode: number): void => reject(new DattssError('DATTSS_STORE_OPEN', `the writer thread ended (exit code ${exitCode}) before it opened the database`));
    const stopListening = (): void => {
      writer.off('message', early);
      writer.off('error', reject);
      writer.off('exit', exited);
    };
    writer.on('message', early);
    writer.once('error', reject);
    writer.once('exit', exited);
  });
}

/** Logs one of the thread's JSON lines through the daemon's logger, at its level, with its fields. */
function relayLog(logger: Logger, line: string): void {
  const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg: string };
  const label = pino.levels.labels[level] as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
  logger[label](fields, msg);
}
