import { EventEmitter, once } from 'node:events';
import { join } from 'node:path';
import * as workerThreads from 'node:worker_threads';
import t, { type Test } from 'tap';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { CounterPartial } from '../../src/aggregate/partial.js';
import { aggregateOf, type MinuteAggregate } from '../../src/aggregate/summarize.js';
import type { RowBatch } from '../../src/store/row-batch.js';
import type * as WriterClientModule from '../../src/store/writer-client.js';
import type { WriterClientOptions } from '../../src/store/writer-client.js';
import type { MinuteStream } from '../../src/flush/flusher.js';
import { decodeProgress, type FromWriter, type WriterData, type WriterProgress } from '../../src/store/writer-protocol.js';
import { tempDir } from '../helpers/daemon.js';

// A writer thread that dies (an uncaught error, or terminated) is replaced:
// the new thread writes every row the old one had not, and no row twice.
// The threads are real; the test only keeps a hand on each one it starts.

const TS = 1_767_225_600; // 2026-01-01T00:00:00Z

function counters(rows: number, tsSec: number, prefix: string): MinuteAggregate[] {
  return Array.from({ length: rows }, (_, i) => {
    const partial = new CounterPartial();
    partial.add(i + 1, 1);
    return aggregateOf(partial, `${prefix}${i}`, '', tsSec) as MinuteAggregate;
  });
}

interface Harness {
  writerModule: typeof WriterClientModule;
  /** Every thread started, in order. */
  threads: workerThreads.Worker[];
  /** Resolves with the n-th thread (from 1) once it is started. */
  thread(n: number): Promise<workerThreads.Worker>;
  /** `crashOnStart`: every new thread is sent a message it dies of as soon as it is ready. */
  control: { crashOnStart: boolean };
  /** For each part of a minute handed to a thread: rows of its minutes handed over and not yet written, counting that part. */
  inFlight: number[];
  options: WriterClientOptions;
  logs: { level: number; msg: string; [key: string]: unknown }[];
  dbPath: string;
}

async function harness(t: Test): Promise<Harness> {
  const threads: workerThreads.Worker[] = [];
  const started = new EventEmitter();
  const control = { crashOnStart: false };
  const inFlight: number[] = [];
  const postedRows = new WeakMap<workerThreads.Worker, number[]>();
  class RecordedWorker extends workerThreads.Worker {
    override postMessage(message: unknown, transfer?: readonly workerThreads.Transferable[]): void {
      const part = message as { type: string; batch: RowBatch | null; last: boolean };
      if (part.type === 'rows' && part.batch !== null) {
        // Rows handed over per minute, and what the thread says it has written of them.
        const minutes = postedRows.get(this) ?? [0];
        postedRows.set(this, minutes);
        minutes[minutes.length - 1] = (minutes.at(-1) as number) + part.batch.names.length;
        const written = progressOf(this)();
        const done = minutes.slice(0, written.minutes).reduce((total, rows) => total + rows, 0) + written.rowsOfNext;
        inFlight.push(minutes.reduce((total, rows) => total + rows, 0) - done);
        if (part.last) minutes.push(0);
      }
      super.postMessage(message, transfer);
    }

    constructor(...args: ConstructorParameters<typeof workerThreads.Worker>) {
      super(...args);
      threads.push(this);
      threadData.set(this, args[1]?.workerData as WriterData);
      this.on('message', (message: FromWriter) => {
        if (message.type === 'ready' && control.crashOnStart) crash(this);
      });
      started.emit('thread');
    }
  }
  const writerModule = await t.mockImport<typeof WriterClientModule>('../../src/store/writer-client.js', {
    'node:worker_threads': { ...workerThreads, Worker: RecordedWorker },
  });
  const dbPath = join(tempDir(t), 'w.db');
  const logs: Harness['logs'] = [];
  const options: WriterClientOptions = {
    thread: true,
    store: { path: dbPath, busyTimeoutMs: 50, retention: { minuteDays: 8, hourDays: 400, dayDays: 0 } },
    maxBatches: 60,
    pruneBudgetMs: 20,
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    counters: { flushErrors: 0, backlogDropped: 0, flushBacklog: 0 },
    defer: setImmediate,
  };
  return {
    writerModule,
    threads,
    thread: async (n) => {
      while (threads.length < n) await once(started, 'thread');
      return threads[n - 1] as workerThreads.Worker;
    },
    control,
    inFlight,
    options,
    logs,
    dbPath,
  };
}

const threadData = new WeakMap<workerThreads.Worker, WriterData>();

/** A message the thread cannot handle: it throws, uncaught, and the thread dies of it. */
function crash(thread: workerThreads.Worker): void {
  thread.postMessage({ type: 'rows', batch: null, last: true });
}

/** What the thread has written, as it keeps it in the shared memory it was started with. */
function progressOf(thread: workerThreads.Worker): () => WriterProgress {
  const view = new Float64Array((threadData.get(thread) as WriterData).progress);
  return () => decodeProgress(view[0] as number);
}

/** Waits, turn by turn, for a condition another thread makes true; fails after 10 s. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 10 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Each stored minute row's name and value, for the given minute. */
function stored(dbPath: string, tsSec: number): Map<string, number[]> {
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    const rows = db.prepare('SELECT name, value FROM metrics_1m WHERE ts = ?').all(tsSec) as { name: string; value: number }[];
    const byName = new Map<string, number[]>();
    for (const row of rows) byName.set(row.name, [...(byName.get(row.name) ?? []), row.value]);
    return byName;
  } finally {
    db.close();
  }
}

function exited(thread: workerThreads.Worker): Promise<number> {
  return new Promise((resolve) => thread.once('exit', resolve));
}

t.test('a thread that dies in the middle of a minute is replaced, and the minute lands whole, each row once', async (t) => {
  const h = await harness(t);
  const writer = await h.writerModule.WriterClient.start(h.options);
  const first = h.threads[0] as workerThreads.Worker;
  const rows = 20_000; // written in slices of about 10 ms for a few hundred: the crash comes between two
  writer.writeMinute(counters(rows, TS, 'a'));
  const progress = progressOf(first);
  await until(() => progress().rowsOfNext > 0, 'the first rows written');
  crash(first);
  t.equal(await exited(first), 1, 'the first thread died');
  const crashedAfter = progress();
  t.ok(crashedAfter.minutes === 0 && crashedAfter.rowsOfNext < rows, `it had written ${crashedAfter.rowsOfNext} of ${rows} rows`);
  t.equal(writer.failing, true, 'degraded while a new thread starts');
  writer.writeMinute(counters(5, TS + 60, 'b'));
  writer.writeEventsAndChecks(
    [{ tsSec: TS, title: 'deploy', text: 'v2', hostname: null, aggregationKey: null, priority: 'normal', sourceType: null, alertType: 'info', tags: '' }],
    [],
  );
  await writer.idle();
  t.equal(h.threads.length, 2, 'a second thread was started');
  t.equal(writer.failing, false, 'up again');

  const minute = stored(h.dbPath, TS);
  t.equal(minute.size, rows, 'every row of the interrupted minute is there');
  t.ok(
    [...minute].every(([name, values]) => values.length === 1 && values[0] === Number(name.slice(1)) + 1),
    'each once, with its own value: nothing written twice',
  );
  t.equal(stored(h.dbPath, TS + 60).size, 5, 'the minute that came during the restart is written');
  t.same(h.options.counters, { flushErrors: 1, backlogDropped: 0, flushBacklog: 0 });
  const died = h.logs.filter((line) => line.msg === 'the writer thread stopped unexpectedly; starting a new one to write what it had not');
  t.equal(died.length, 1, 'one log line');
  t.match(died[0], { level: 50, exitCode: 1, minutesLost: 0, minutesToWrite: 1, err: { message: /rows is not iterable|null/ } });
  t.equal(await writer.close(Date.now()), 0);
  const db = new BetterSqlite3(h.dbPath, { readonly: true });
  t.teardown(() => db.close());
  t.match(db.prepare('SELECT title FROM events').all(), [{ title: 'deploy' }], 'the event held during the restart is written');
});

t.test('a large minute is handed over no faster than the thread writes it', async (t) => {
  const h = await harness(t);
  const writer = await h.writerModule.WriterClient.start(h.options);
  const { MAX_ROWS_IN_FLIGHT } = h.writerModule;
  const rows = 5 * MAX_ROWS_IN_FLIGHT;
  writer.writeMinute(counters(rows, TS, 'big'));
  await writer.idle();
  t.equal(stored(h.dbPath, TS).size, rows, 'every row written');
  t.ok(h.inFlight.length >= rows / h.writerModule.POST_ROWS_PER_TURN, `in ${h.inFlight.length} parts`);
  t.ok(Math.max(...h.inFlight) <= MAX_ROWS_IN_FLIGHT, `the thread never held more than ${MAX_ROWS_IN_FLIGHT} unwritten rows (at most ${Math.max(...h.inFlight)})`);
  await writer.close(Date.now());
});

/**
 * A minute's rows as a stream, as the flusher makes one: rows summarized as
 * they are taken, at most `perTake` a call (the flusher's time budget).
 * Records at each take the rows taken and not yet written, counting those asked for.
 */
function streamOf(rows: MinuteAggregate[], written: () => number, perTake = 1500): MinuteStream & { ahead: number[] } {
  let next = 0;
  const ahead: number[] = [];
  return {
    ahead,
    take(limit) {
      const part = rows.slice(next, next + Math.min(limit, perTake));
      next += part.length;
      ahead.push(next - written());
      return part;
    },
    get done() {
      return next === rows.length;
    },
  };
}

t.test('a streamed minute is taken from its stream no faster than the thread writes it', async (t) => {
  const h = await harness(t);
  const writer = await h.writerModule.WriterClient.start(h.options);
  const { MAX_ROWS_IN_FLIGHT } = h.writerModule;
  const rows = 5 * MAX_ROWS_IN_FLIGHT;
  const progress = progressOf(h.threads[0] as workerThreads.Worker);
  const stream = streamOf(counters(rows, TS, 'big'), () => progress().rowsOfNext);
  writer.streamMinute(stream);
  t.same(stream.ahead, [], 'nothing taken in the call that handed it over');
  await writer.idle();
  t.equal(stored(h.dbPath, TS).size, rows, 'every row written');
  t.ok(stream.ahead.length >= rows / 1500, `taken in ${stream.ahead.length} parts`);
  t.ok(Math.max(...stream.ahead) <= MAX_ROWS_IN_FLIGHT, `never more than ${MAX_ROWS_IN_FLIGHT} rows taken and not written (at most ${Math.max(...stream.ahead)})`);
  await writer.close(Date.now());
});

t.test('a thread that dies in the middle of a streamed minute is replaced, and the minute lands whole, each row once', async (t) => {
  const h = await harness(t);
  const writer = await h.writerModule.WriterClient.start(h.options);
  const first = h.threads[0] as workerThreads.Worker;
  const rows = 20_000;
  const progress = progressOf(first);
  writer.writeMinute(counters(2, TS - 60, 'before'));
  writer.streamMinute(streamOf(counters(rows, TS, 'a'), () => 0));
  writer.writeMinute(counters(2, TS + 60, 'after'));
  await until(() => progress().minutes === 1 && progress().rowsOfNext > 0, 'the first rows of the streamed minute written');
  crash(first);
  t.equal(await exited(first), 1, 'the first thread died');
  t.ok(progress().rowsOfNext < rows, `it had written ${progress().rowsOfNext} of ${rows} rows`);
  await writer.idle();
  t.equal(h.threads.length, 2, 'a second thread was started');
  const minute = stored(h.dbPath, TS);
  t.equal(minute.size, rows, 'every row of the interrupted minute is there');
  t.ok(
    [...minute].every(([name, values]) => values.length === 1 && values[0] === Number(name.slice(1)) + 1),
    'each once, with its own value: nothing written twice',
  );
  t.equal(stored(h.dbPath, TS - 60).size, 2, 'the minute before it');
  t.equal(stored(h.dbPath, TS + 60).size, 2, 'and the one after it');
  t.same(h.options.counters, { flushErrors: 1, backlogDropped: 0, flushBacklog: 0 });
  t.equal(await writer.close(Date.now()), 0);
});

t.test('minutes the dead thread had written are not written again', async (t) => {
  const h = await harness(t);
  const writer = await h.writerModule.WriterClient.start(h.options);
  writer.writeMinute(counters(3, TS, 'w'));
  await writer.idle();
  const first = h.threads[0] as workerThreads.Worker;
  crash(first);
  await exited(first);
  await writer.idle();
  t.equal(h.threads.length, 2);
  t.same([...stored(h.dbPath, TS).values()], [[1], [2], [3]], 'each row once');
  t.match(h.logs.find((line) => line.msg.startsWith('the writer thread stopped unexpectedly')), { minutesLost: 0, minutesToWrite: 0 });
  t.equal(await writer.close(Date.now()), 0);
});

t.test('a terminated thread is replaced too; minutes it held alone while the store failed are counted as lost', async (t) => {
  const h = await harness(t);
  const writer = await h.writerModule.WriterClient.start(h.options);
  const lock = new BetterSqlite3(h.dbPath);
  t.teardown(() => lock.open && lock.close());
  lock.exec('BEGIN EXCLUSIVE');
  writer.writeMinute(counters(2, TS, 'locked'));
  await writer.idle();
  t.equal(writer.failing, true, 'the store fails: the minute waits in the thread');
  t.equal(h.options.counters.flushBacklog, 1);

  const first = h.threads[0] as workerThreads.Worker;
  await first.terminate();
  lock.exec('COMMIT');
  writer.writeMinute(counters(3, TS + 60, 'after'));
  await writer.idle();
  t.equal(h.threads.length, 2);
  t.equal(writer.failing, false);
  t.equal(stored(h.dbPath, TS).size, 0, 'the minute only the dead thread held is gone');
  t.equal(stored(h.dbPath, TS + 60).size, 3, 'later minutes are written');
  t.match(h.options.counters, { backlogDropped: 1, flushBacklog: 0 }, 'and counted as dropped');
  t.match(h.logs.find((line) => line.msg.startsWith('the writer thread stopped unexpectedly')), { exitCode: 1, minutesLost: 1, minutesToWrite: 0 });
  t.equal(await writer.close(Date.now()), 0);
});

t.test('a thread that keeps dying before it writes anything is given up after MAX_RESTARTS_WITHOUT_PROGRESS restarts', async (t) => {
  const h = await harness(t);
  const writer = await h.writerModule.WriterClient.start(h.options);
  const { MAX_RESTARTS_WITHOUT_PROGRESS } = h.writerModule;
  h.control.crashOnStart = true;
  crash(await h.thread(1));
  writer.writeMinute(counters(2, TS, 'doomed'));
  for (let n = 1; n <= MAX_RESTARTS_WITHOUT_PROGRESS + 1; n++) t.equal(await exited(await h.thread(n)), 1, `thread ${n} died`);
  await writer.idle();
  t.equal(h.threads.length, MAX_RESTARTS_WITHOUT_PROGRESS + 1, 'no further thread');
  t.equal(writer.failing, true, 'degraded for good');
  t.equal(h.logs.filter((line) => line.msg.startsWith('the writer thread stopped unexpectedly')).length, MAX_RESTARTS_WITHOUT_PROGRESS);
  t.match(h.logs.at(-1), { level: 50, restarts: MAX_RESTARTS_WITHOUT_PROGRESS, msg: /^the writer thread keeps failing before it writes anything/ });
  t.equal(h.options.counters.backlogDropped, 1, 'the minute it could not write is counted');
  writer.writeMinute(counters(1, TS + 60, 'later'));
  t.equal(h.options.counters.backlogDropped, 2, 'and so is every later one');
  t.equal(await writer.close(Date.now()), 0);
  t.equal(stored(h.dbPath, TS).size, 0);
});
