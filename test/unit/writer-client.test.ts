import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { CounterPartial } from '../../src/aggregate/partial.js';
import { aggregateOf, type MinuteAggregate } from '../../src/aggregate/summarize.js';
import { RETRY_FIRST_MS } from '../../src/flush/write-backlog.js';
import { POST_ROWS_PER_TURN, WriterClient, type WriterClientOptions } from '../../src/store/writer-client.js';
import { WRITER_NICE } from '../../src/store/writer-protocol.js';
import { tempDir } from '../helpers/daemon.js';

// The daemon's side of the writer thread: minutes handed over in parts
// across event-loop turns land whole and in order, the thread's failures
// come back as state, counters and log lines, and close() loses nothing.

const TS = 1_767_225_600; // 2026-01-01T00:00:00Z

function counters(rows: number, tsSec = TS, prefix = 'c'): MinuteAggregate[] {
  return Array.from({ length: rows }, (_, i) => {
    const partial = new CounterPartial();
    partial.add(i + 1, 1);
    return aggregateOf(partial, `${prefix}${i}`, '', tsSec) as MinuteAggregate;
  });
}

interface Harness {
  options: WriterClientOptions;
  logs: { level: number; msg: string; [key: string]: unknown }[];
  deferred: number;
}

function harness(thread: boolean, dbPath: string, busyTimeoutMs = 1000): Harness {
  const h: Harness = {
    logs: [],
    deferred: 0,
    options: {
      thread,
      store: { path: dbPath, busyTimeoutMs, retention: { minuteDays: 8, hourDays: 400, dayDays: 0 } },
      maxBatches: 60,
      pruneBudgetMs: 20,
      logger: pino({ level: 'info' }, { write: (line: string) => void h.logs.push(JSON.parse(line)) }),
      counters: { flushErrors: 0, backlogDropped: 0, flushBacklog: 0 },
      defer: (next) => {
        h.deferred++;
        setImmediate(next);
      },
    },
  };
  return h;
}

function stored(dbPath: string): { name: string; value: number; ts: number }[] {
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT name, value, ts FROM metrics_1m ORDER BY ts, value').all() as { name: string; value: number; ts: number }[];
  } finally {
    db.close();
  }
}

/** The nice value of each of this process's threads (Linux: field 19 of /proc/self/task/<tid>/stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

t.test('the writer thread runs at a lower priority than the thread reading the socket', async (t) => {
  if (!existsSync('/proc/thread-self')) {
    t.plan(0, 'no per-thread nice values here (not Linux): skipped');
    return;
  }
  const before = threadNiceValues();
  t.notOk(before.includes(WRITER_NICE), 'no thread of the process is at the writer\'s nice value before');
  const writer = await WriterClient.start(harness(true, join(tempDir(t), 'nice.db')).options);
  t.ok(threadNiceValues().includes(WRITER_NICE), `a thread at nice ${WRITER_NICE} once the writer runs`);
  t.equal(threadNiceValues()[0], before[0], 'the main thread keeps its priority');
  await writer.close(Date.now());
});

// Both transports run the same writer (store/writer-host.ts) and must behave alike.
for (const thread of [true, false]) {
  const mode = thread ? 'worker thread' : 'same thread';

  t.test(`${mode}: a large minute crosses in parts over several turns and lands whole, in order, each row once`, async (t) => {
    const dbPath = join(tempDir(t), 'w.db');
    const h = harness(thread, dbPath);
    const writer = await WriterClient.start(h.options);
    const rows = POST_ROWS_PER_TURN * 2 + 10;
    writer.writeMinute(counters(rows, TS));
    writer.writeMinute(counters(3, TS + 60, 'next'));
    t.equal(h.deferred, 1, 'the rest of the first minute waits for a later turn');
    t.equal(h.options.counters.flushBacklog, 2, 'both minutes counted as waiting');
    await writer.idle();
    t.ok(h.deferred >= 2, `handed over in ${h.deferred + 1} turns`);
    const written = stored(dbPath);
    t.equal(written.length, rows + 3);
    t.same(
      written.filter((row) => row.ts === TS).map((row) => row.value),
      Array.from({ length: rows }, (_, i) => i + 1),
      'every row of the large minute once',
    );
    t.same(
      written.filter((row) => row.ts === TS + 60).map((row) => row.name),
      ['next0', 'next1', 'next2'],
    );
    t.equal(h.options.counters.flushBacklog, 0);
    t.equal(await writer.close(Date.now()), 0, 'nothing lost');
    t.match(
      h.logs.find((line) => line.msg === 'stopping with unwritten minutes; they are lost'),
      undefined,
    );
  });

  t.test(`${mode}: a streamed minute is taken over later turns and lands whole, in order between the minutes around it`, async (t) => {
    const dbPath = join(tempDir(t), 'stream.db');
    const h = harness(thread, dbPath);
    const writer = await WriterClient.start(h.options);
    const rows = counters(POST_ROWS_PER_TURN * 2 + 10, TS);
    const takes: number[] = [];
    let next = 0;
    writer.writeMinute(counters(2, TS - 60, 'before'));
    writer.streamMinute({
      take(limit) {
        // At most 1,000 rows a call, as a summarizing budget spent would give.
        const part = rows.slice(next, next + Math.min(limit, 1000));
        next += part.length;
        takes.push(part.length);
        return part;
      },
      get done() {
        return next === rows.length;
      },
    });
    writer.writeMinute(counters(3, TS + 60, 'after'));
    t.same(takes, [], 'nothing taken in the call that handed it over');
    t.equal(h.options.counters.flushBacklog, 2, 'the streamed minute and the one after it counted as waiting on this side');
    await writer.idle();
    t.ok(takes.length >= rows.length / 1000, `taken in ${takes.length} parts`);
    const written = stored(dbPath);
    t.same(
      written.filter((row) => row.ts === TS).map((row) => row.value),
      Array.from({ length: rows.length }, (_, i) => i + 1),
      'every row of the streamed minute once',
    );
    t.same(
      written.filter((row) => row.ts !== TS).map((row) => row.name),
      ['before0', 'before1', 'after0', 'after1', 'after2'],
      'and the minutes around it',
    );
    t.equal(h.options.counters.flushBacklog, 0);
    t.equal(await writer.close(Date.now()), 0, 'nothing lost');
  });

  t.test(`${mode}: the writer's failures come back as state, counters and one log line each way`, async (t) => {
    const dbPath = join(tempDir(t), 'locked.db');
    const h = harness(thread, dbPath, 50);
    const writer = await WriterClient.start(h.options);
    const lock = new BetterSqlite3(dbPath);
    t.teardown(() => lock.close());
    lock.exec('BEGIN EXCLUSIVE');
    const nowMs = TS * 1000 + 120_000;
    writer.tick(nowMs);
    writer.writeMinute(counters(2));
    await writer.idle();
    t.equal(writer.failing, true, 'failing while the database is locked');
    t.equal(h.options.counters.flushErrors, 1);
    t.equal(h.options.counters.flushBacklog, 1, 'the minute waits in the thread');
    const failed = h.logs.filter((line) => line.msg === 'writing to the database failed; keeping minutes in memory and retrying');
    t.equal(failed.length, 1, 'logged once, through the daemon logger');
    t.match(failed[0], { level: 50, component: 'flush', err: { message: /database is locked/ } }, 'with its level and fields');

    lock.exec('COMMIT');
    writer.tick(nowMs + RETRY_FIRST_MS - 1);
    await writer.idle();
    t.equal(writer.failing, true, 'no retry before the backoff has passed');
    writer.tick(nowMs + RETRY_FIRST_MS);
    await writer.idle();
    t.equal(writer.failing, false, 'recovered');
    t.equal(h.options.counters.flushBacklog, 0);
    t.same(
      stored(dbPath).map((row) => row.value),
      [1, 2],
    );
    t.ok(h.logs.some((line) => line.msg === 'database writes recovered; kept minutes written' && line.level === 40));
    await writer.close(nowMs);
  });

  t.test(`${mode}: close hands over and writes what is still waiting on this side`, async (t) => {
    const dbPath = join(tempDir(t), 'close.db');
    const h = harness(thread, dbPath);
    const writer = await WriterClient.start(h.options);
    writer.writeMinute(counters(POST_ROWS_PER_TURN * 3));
    writer.writeEventsAndChecks(
      [{ tsSec: TS, title: 'deploy', text: 'v2', hostname: null, aggregationKey: null, priority: 'normal', sourceType: null, alertType: 'info', tags: '' }],
      [],
    );
    t.equal(await writer.close(TS * 1000), 0);
    t.equal(await writer.close(TS * 1000), 0, 'a second close is the same close');
    t.equal(stored(dbPath).length, POST_ROWS_PER_TURN * 3, 'every row written before the thread closed the database');
    const db = new BetterSqlite3(dbPath, { readonly: true });
    t.teardown(() => db.close());
    t.match(db.prepare('SELECT title FROM events').all(), [{ title: 'deploy' }]);
    await writer.idle(); // after close: resolves at once
  });

  t.test(`${mode}: start rejects with the store's own error when the database cannot be opened`, async (t) => {
    const h = harness(thread, '/etc/hostname/dattss.db');
    await t.rejects(WriterClient.start(h.options), { code: 'DATTSS_STORE_OPEN', message: /cannot open the database \/etc\/hostname\/dattss.db/ });
  });
}
