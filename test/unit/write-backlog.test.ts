import { pino } from 'pino';
import t from 'tap';
import type { MinuteAggregate } from '../../src/aggregate/summarize.js';
import { CHUNK_ROWS, INLINE_ROWS, RETRY_FIRST_MS, RETRY_MAX_MS, SLICE_BUDGET_MS, WriteBacklog, type Pacing } from '../../src/flush/write-backlog.js';

/**
 * A sink that fails while `failing` is set and records what it wrote; the
 * backlog's deferred slices wait in `deferred` until `runDeferred()`.
 */
function harness(maxBatches: number, pacing?: Pacing) {
  let nowMs = 0;
  let elapsedMs = 0;
  // Every row written costs 0.1 ms of the slice's time budget.
  const state = { failing: false, attempts: 0, written: [] as string[], deferred: [] as (() => void)[], msPerRow: 0.1 };
  const logs: { level: number; msg: string; [key: string]: unknown }[] = [];
  const counters = { flushErrors: 0, backlogDropped: 0, flushBacklog: 0 };
  const backlog = new WriteBacklog({
    sink: {
      writeMinute(rows) {
        state.attempts++;
        if (state.failing) throw new Error('database is locked');
        elapsedMs += rows.length * state.msPerRow;
        state.written.push(rows.map((row) => row.name).join());
      },
    },
    maxBatches,
    nowMs: () => nowMs,
    elapsedMs: () => elapsedMs,
    defer: (next) => void state.deferred.push(next),
    logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    counters,
    ...(pacing === undefined ? {} : { pacing }),
    onProgress: (batches, rowsOfNext) => progress.push([batches, rowsOfNext]),
  });
  /** Every progress report: batches settled, rows of the next written. */
  const progress: [number, number][] = [];
  const batch = (name: string): MinuteAggregate[] => [{ name } as MinuteAggregate];
  /** A batch of `count` rows named `name.0`, `name.1`, … */
  const rows = (name: string, count: number): MinuteAggregate[] => Array.from({ length: count }, (_, i) => ({ name: `${name}.${i}` }) as MinuteAggregate);
  const runDeferred = (): number => {
    const next = state.deferred.splice(0);
    for (const run of next) run();
    return next.length;
  };
  return { backlog, state, logs, counters, progress, batch, rows, runDeferred, advance: (ms: number) => (nowMs += ms) };
}

t.test('healthy writes pass straight through', async (t) => {
  const h = harness(3);
  h.backlog.writeMinute(h.batch('m0'));
  h.backlog.writeMinute(h.batch('m1'));
  t.same(h.state.written, ['m0', 'm1']);
  t.equal(h.backlog.pending, 0);
  t.same(h.logs, [], 'nothing to say');
});

t.test('failed minutes wait, are retried with backoff, and land in order', async (t) => {
  const h = harness(10);
  h.state.failing = true;
  h.backlog.writeMinute(h.batch('m0'));
  t.equal(h.backlog.pending, 1);
  t.equal(h.counters.flushBacklog, 1);
  h.advance(1_000);
  h.backlog.writeMinute(h.batch('m1'));
  t.equal(h.state.attempts, 1, 'no retry before the backoff has passed: m1 queues behind m0');
  h.backlog.retry();
  t.equal(h.state.attempts, 1);
  h.advance(RETRY_FIRST_MS);
  h.backlog.retry();
  t.equal(h.state.attempts, 2, 'retried after 5 s');
  h.advance(RETRY_FIRST_MS);
  h.backlog.retry();
  t.equal(h.state.attempts, 2, 'the wait doubled to 10 s');
  h.advance(RETRY_FIRST_MS);
  h.backlog.retry();
  t.equal(h.state.attempts, 3);
  for (let i = 0; i < 10; i++) {
    h.advance(RETRY_MAX_MS);
    h.backlog.retry();
  }
  t.equal(h.state.attempts, 13, 'the wait stops growing at 60 s');
  t.equal(h.counters.flushErrors, 13, 'every failed attempt counted');
  t.equal(h.logs.filter((l) => l.level >= 40).length, 1, 'one log line for the whole outage');
  t.match(h.logs[0], { level: 50, msg: 'writing to the database failed; keeping minutes in memory and retrying', err: { message: 'database is locked' } });

  h.state.failing = false;
  h.backlog.writeMinute(h.batch('m2'));
  t.same(h.state.written, [], 'still waiting for the retry time');
  h.advance(RETRY_MAX_MS);
  h.backlog.retry();
  t.same(h.state.written, ['m0', 'm1', 'm2'], 'written in order once the fault clears');
  t.equal(h.backlog.pending, 0);
  t.equal(h.counters.flushBacklog, 0);
  t.match(h.logs.at(-1), { level: 40, msg: 'database writes recovered; kept minutes written', batches: 3, dropped: 0 });

  h.state.failing = true;
  h.backlog.writeMinute(h.batch('m3'));
  h.advance(RETRY_FIRST_MS);
  h.state.failing = false;
  h.backlog.retry();
  t.same(h.state.written.at(-1), 'm3', 'after a recovery the backoff starts again at 5 s');
});

t.test('beyond maxBatches the oldest are dropped and counted, logged once', async (t) => {
  const h = harness(2);
  h.state.failing = true;
  for (const name of ['m0', 'm1', 'm2', 'm3']) h.backlog.writeMinute(h.batch(name));
  t.equal(h.backlog.pending, 2);
  t.equal(h.counters.backlogDropped, 2);
  t.equal(h.logs.filter((l) => l.msg.startsWith('the write backlog is full')).length, 1);
  h.state.failing = false;
  h.advance(RETRY_FIRST_MS);
  h.backlog.retry();
  t.same(h.state.written, ['m2', 'm3'], 'the newest minutes survive');
  t.match(h.logs.at(-1), { msg: 'database writes recovered; kept minutes written', dropped: 2 });
});

t.test('close makes one last attempt and says what is lost', async (t) => {
  const h = harness(5);
  h.state.failing = true;
  h.backlog.writeMinute(h.batch('m0'));
  h.backlog.writeMinute(h.batch('m1'));
  t.equal(h.backlog.close(), 2, 'still failing: two batches lost');
  t.match(h.logs.at(-1), { level: 50, msg: 'stopping with unwritten minutes; they are lost', batches: 2, rows: 2 });
  const healed = harness(5);
  healed.state.failing = true;
  healed.backlog.writeMinute(healed.batch('m0'));
  healed.state.failing = false;
  t.equal(healed.backlog.close(), 0, 'the last attempt ignores the backoff');
  t.same(healed.state.written, ['m0']);
});

/** The names of every row the sink wrote, in order. */
const rowNames = (written: string[]): string[] => written.flatMap((call) => call.split(','));

t.test('a large minute is written in later event-loop turns, within a time budget each, in order, each row once', async (t) => {
  const h = harness(5);
  const big = h.rows('big', INLINE_ROWS + 700);
  h.backlog.writeMinute(big);
  t.same(h.state.written, [], 'nothing written inside the call');
  t.equal(h.backlog.pending, 1);
  h.backlog.writeMinute(h.batch('small'));
  t.same(h.state.written, [], 'a small minute queues behind the large one');
  let idle = false;
  const waiting = h.backlog.idle().then(() => (idle = true));
  // 0.1 ms a row: a 15 ms budget takes three chunks of 50 rows, 150 rows a turn.
  const perTurn = Math.ceil(SLICE_BUDGET_MS / (CHUNK_ROWS * h.state.msPerRow)) * CHUNK_ROWS;
  let turns = 0;
  while (h.runDeferred() > 0) {
    turns++;
    t.ok(h.state.written.length <= turns * (perTurn / CHUNK_ROWS) + 1, `turn ${turns} kept to its budget`);
  }
  await waiting;
  t.ok(idle, 'idle() resolved once all was written');
  t.equal(turns, Math.ceil((big.length + 1) / perTurn), `${turns} turns of ${perTurn} rows`);
  t.same(rowNames(h.state.written), [...big.map((row) => row.name), 'small'], 'every row once, in order');
  t.ok(h.state.written.slice(0, -1).every((call) => call.split(',').length === CHUNK_ROWS), 'in chunks of CHUNK_ROWS rows');
  t.equal(h.backlog.pending, 0);
  t.equal(h.counters.flushBacklog, 0);
  t.equal(h.backlog.failing, false);
});

t.test('a writer with a turn of its own paces itself coarser: its chunks and its time per turn', async (t) => {
  const h = harness(5, { chunkRows: 200, sliceBudgetMs: 50 });
  const big = h.rows('big', 1000);
  h.backlog.writeMinute(big);
  h.backlog.writeMinute(h.batch('small'));
  let turns = 0;
  while (h.runDeferred() > 0) turns++;
  // 0.1 ms a row: 50 ms takes three chunks of 200 rows a turn.
  t.equal(turns, 2, 'two turns of 600 rows');
  t.same(
    h.state.written.map((call) => call.split(',').length),
    [200, 200, 200, 200, 200, 1],
  );
  t.same(h.progress, [[0, 200], [0, 400], [0, 600], [0, 800], [1, 0], [2, 0]], 'progress after every commit');
});

t.test('progress counts dropped batches as settled', async (t) => {
  const h = harness(1);
  h.state.failing = true;
  h.backlog.writeMinute(h.batch('m0'));
  h.backlog.writeMinute(h.batch('m1'));
  t.same(h.progress, [[1, 0]], 'm0 dropped by the bound');
  h.state.failing = false;
  h.advance(RETRY_FIRST_MS);
  h.backlog.retry();
  t.same(h.progress, [[1, 0], [2, 0]], 'm1 written');
});

t.test('a minute of up to INLINE_ROWS rows is written inside the call, in one write', async (t) => {
  const h = harness(5);
  h.backlog.writeMinute(h.rows('m', INLINE_ROWS));
  t.equal(h.state.written.length, 1);
  t.equal(h.backlog.pending, 0);
  t.equal(h.runDeferred(), 0, 'nothing left for later');
});

t.test('a fault in the middle of a minute retries only the rows not yet written', async (t) => {
  const h = harness(5);
  const big = h.rows('big', INLINE_ROWS * 3);
  h.backlog.writeMinute(big);
  h.runDeferred();
  t.ok(h.state.written.length > 0, 'some chunks written');
  h.state.failing = true;
  h.runDeferred();
  t.equal(h.backlog.failing, true);
  t.equal(h.runDeferred(), 0, 'no slice scheduled while failing');
  await h.backlog.idle();
  h.state.failing = false;
  h.advance(RETRY_FIRST_MS);
  h.backlog.retry();
  while (h.runDeferred() > 0);
  t.same(rowNames(h.state.written), big.map((row) => row.name), 'no row twice, none lost');
  t.equal(h.backlog.failing, false);
  t.match(h.logs.at(-1), { msg: 'database writes recovered; kept minutes written', batches: 1 });
});

t.test('close writes what is left at once, and a slice scheduled before it does nothing', async (t) => {
  const h = harness(5);
  const big = h.rows('big', INLINE_ROWS * 2);
  h.backlog.writeMinute(big);
  t.equal(h.backlog.close(), 0);
  t.same(rowNames(h.state.written), big.map((row) => row.name));
  const calls = h.state.written.length;
  h.runDeferred();
  t.equal(h.state.written.length, calls, 'nothing written after close');
  await h.backlog.idle();
});

t.test('a batch received in parts is written as its parts come, and settles with its last', async (t) => {
  const h = harness(3, { chunkRows: 2, sliceBudgetMs: 100 });
  const part = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ name: `m0.${from + i}` }) as MinuteAggregate);
  h.backlog.appendRows(part(0, 3), false);
  t.equal(h.runDeferred(), 1, 'a part is written in a later turn, like a large batch');
  t.same(h.state.written, ['m0.0,m0.1', 'm0.2'], 'every row of the first part written');
  t.same(h.progress, [
    [0, 2],
    [0, 3],
  ]);
  t.equal(h.backlog.pending, 1, 'the batch is not settled before its last part');
  t.equal(h.runDeferred(), 0, 'nothing to do until the next part');
  h.backlog.appendRows(part(3, 2), true);
  h.runDeferred();
  t.same(h.state.written.slice(2), ['m0.3,m0.4']);
  t.same(h.progress.at(-1), [1, 0], 'settled with its last part');
  t.equal(h.backlog.pending, 0);
  h.backlog.writeMinute(h.batch('m1'));
  t.same(h.state.written.at(-1), 'm1', 'the next batch is a batch of its own');

  // A part that fails is retried; later parts join the same batch behind it.
  h.state.failing = true;
  h.backlog.appendRows(part(10, 2), false);
  h.runDeferred();
  h.backlog.appendRows(part(12, 1), true);
  t.equal(h.backlog.pending, 1, 'one batch, failing');
  h.state.failing = false;
  h.advance(RETRY_FIRST_MS);
  h.backlog.retry();
  while (h.runDeferred() > 0);
  t.equal(h.state.written.at(-1), 'm0.10,m0.11,m0.12', 'written once it can be, whole now that it is complete');
  t.equal(h.backlog.pending, 0);
});
