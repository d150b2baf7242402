/**
 * The writer: owns the SQLite connection and the write backlog, and answers
 * the daemon's messages (store/writer-protocol.ts). It runs in a worker
 * thread (store/writer-thread.ts) so that writing a minute of many series
 * (seconds of work at 100k series) never takes the thread that reads the
 * UDP socket; with `writerThread: false` it runs in the daemon's thread
 * over a MessageChannel, with the same messages.
 */
import { performance } from 'node:perf_hooks';
import { pino, type Level } from 'pino';
import { DattssError } from '../errors.js';
import { WriteBacklog, type Pacing } from '../flush/write-backlog.js';
import { ReopeningStore } from './reopening-store.js';
import { decodeRows } from './row-batch.js';
import { encodeProgress, type FromWriter, type ToWriter, type WriterData, type WriterState } from './writer-protocol.js';

/** What the writer needs of its end of the channel: a MessagePort, or a worker's parentPort. */
export interface WriterPort {
  postMessage(message: FromWriter): void;
  on(event: 'message', listener: (message: ToWriter) => void): unknown;
  close(): void;
}

/** How the writer spreads a large minute over event-loop turns. */
export interface WriterPacing {
  /** Runs the next slice: setImmediate in a thread; in the daemon's thread, its own, which waits while the socket is busy. */
  defer?: (next: () => void) => void;
  /** Rows per transaction and time per turn (flush/write-backlog.ts's defaults when absent). */
  pacing?: Pacing;
}

/**
 * Opens the store and serves the port until `close`; only says `failed` when
 * the store cannot be opened.
 */
export function hostWriter(port: WriterPort, data: WriterData, { defer = setImmediate, pacing }: WriterPacing = {}): void {
  const post = (message: FromWriter): void => port.postMessage(message);
  const logger = pino({ level: data.logLevel as Level, base: null, timestamp: false }, { write: (line: string) => post({ type: 'log', line }) });

  const progress = new Float64Array(data.progress);
  /** The daemon's clock as of its last message: the backlog times its retries by it. */
  let nowMs = 0;
  const counters = { flushErrors: 0, backlogDropped: 0, flushBacklog: 0 };

  let store: ReopeningStore;
  try {
    store = new ReopeningStore(data.store, logger.child({ component: 'store' }));
  } catch (error) {
    const { code, message } = error instanceof DattssError ? error : new DattssError('DATTSS_STORE_OPEN', (error as Error).message);
    post({ type: 'failed', code, message });
    return;
  }

  let reported = '';
  /** Tells the daemon when the backlog's state changed. */
  const reportState = (): void => {
    const state: WriterState = { failing: backlog.failing, ...counters };
    const key = JSON.stringify(state);
    if (key === reported) return;
    reported = key;
    post({ type: 'state', state });
  };

  const backlog = new WriteBacklog({
    sink: store,
    maxBatches: data.maxBatches,
    nowMs: () => nowMs,
    elapsedMs: () => performance.now(),
    // Slices, so that the writer keeps answering messages while it writes a large minute.
    defer: (next) =>
      defer(() => {
        next();
        reportState();
      }),
    logger: logger.child({ component: 'flush' }),
    counters,
    ...(pacing === undefined ? {} : { pacing }),
    onProgress: (minutes, rowsOfNext) => (progress[0] = encodeProgress(minutes, rowsOfNext)),
  });

  /** Maintenance tasks whose last run failed. */
  const failingTasks = new Set<string>();
  /**
   * Runs a task that every tick retries. Like the write backlog, it says once
   * when the task starts failing and once when it works again, not every 5 s
   * of a database fault.
   */
  const maintain = (task: string, run: () => void): void => {
    try {
      run();
      if (failingTasks.delete(task)) logger.info({ task }, `${task} works again`);
    } catch (error) {
      if (failingTasks.has(task)) return;
      failingTasks.add(task);
      logger.warn({ err: error, task }, `${task} failed; retrying on every tick`);
    }
  };

  port.on('message', (message: ToWriter) => {
    switch (message.type) {
      case 'rows':
        backlog.appendRows(decodeRows(message.batch), message.last);
        break;
      case 'notes':
        try {
          store.writeEventsAndChecks(message.events, message.checks);
        } catch (error) {
          counters.flushErrors++;
          logger.error({ err: error, events: message.events.length, checks: message.checks.length }, 'writing events and service checks failed');
        }
        break;
      case 'tick':
        nowMs = message.nowMs;
        backlog.retry();
        maintain('pruning expired rows', () => store.prune(Math.floor(nowMs / 1000), data.pruneBudgetMs));
        maintain('settling minute rows', () => store.settle(Math.floor(nowMs / 1000), data.settle));
        break;
      case 'idle':
        void backlog.idle().then(() => {
          reportState();
          post({ type: 'idle', id: message.id });
        });
        break;
      case 'close': {
        nowMs = message.nowMs;
        const lostBatches = backlog.close();
        store.close();
        reportState();
        post({ type: 'closed', lostBatches });
        port.close();
        return;
      }
    }
    reportState();
  });

  post({ type: 'ready' });
}
