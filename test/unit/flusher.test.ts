import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { Registry } from '../../src/aggregate/registry.js';
import type { MinuteAggregate } from '../../src/aggregate/summarize.js';
import type { TimerHandle } from '../../src/flush/clock.js';
import { Flusher, INLINE_SERIES, SUMMARIZE_BUDGET_MS, type MinuteSink, type MinuteStream } from '../../src/flush/flusher.js';
import type { Sample } from '../../src/ingest/parser.js';
import type { MetricType } from '../../src/protocol/metric-type.js';
import { SelfMetrics } from '../../src/self-metrics.js';

// The Flusher driven by hand, tick by tick, with an in-memory sink: which
// minutes get written, when, how often, with which rows, across late ticks,
// clock jumps both ways, shutdown, failing writes and idle eviction.

const SEC = 1000;
const MINUTE_MS = 60 * SEC;
const DAY_MS = 24 * 60 * MINUTE_MS;
const M0 = Date.UTC(2026, 0, 5, 10, 20, 0); // a minute start
const M = (n: number): number => M0 + n * MINUTE_MS;
const PREFIX = 'dattss.';
const FLUSH_MS = 1.25; // every flush "takes" this long on the fake monotonic clock

/** Every self-metric row a minute batch carries, in the order SelfMetrics writes them. */
const SELF_METRIC_NAMES = [
  'packets_received',
  'lines_received',
  'bad_lines',
  'udp_drops',
  'partials_received',
  'series_dropped',
  'late_samples',
  'set_members_dropped',
  'late_dropped',
  'events_received',
  'service_checks_received',
  'notes_dropped',
  'flush_errors',
  'backlog_dropped',
  'http_items_received',
  'http_requests_rejected',
  'http_connections_refused',
  'internal_errors',
  'tcp_connections_refused',
  'series_live',
  'udp_queue_bytes',
  'flush_backlog',
  'flush_duration_ms',
  'rss_bytes',
  'heap_used_bytes',
].map((name) => PREFIX + name);

t.test('docs/metrics.md has a section for every self-metric and no other', async (t) => {
  const docs = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  t.same([...docs.matchAll(/^### (dattss\.\w+)$/gm)].map((m) => m[1]).sort(), [...SELF_METRIC_NAMES].sort());
});

t.test("udp_drops is left out where the kernel's count cannot be read", async (t) => {
  const registry = new Registry({ maxSeries: 10, lateWindowMs: 0, maxSetMembers: 10 }, M0);
  const selfMetrics = new SelfMetrics(PREFIX);
  const dropsOf = () => selfMetrics.counters(registry).filter((metric) => metric.name === 'udp_drops');
  t.same(dropsOf(), [], 'before the daemon is bound');
  selfMetrics.kernelUdpDrops = () => undefined;
  t.same(dropsOf(), [], 'not Linux');
  selfMetrics.kernelUdpDrops = () => 3;
  t.match(dropsOf(), [{ name: 'udp_drops', value: 3 }]);
});

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

interface Harness {
  registry: Registry;
  selfMetrics: SelfMetrics;
  flusher: Flusher;
  /** What the sink accepted, one entry per writeMinute call. */
  batches: MinuteAggregate[][];
  /** Every writeMinute call, accepted or not, by its first row's minute (Unix s). */
  writeAttempts: number[];
  logs: LogLine[];
  /** Ticks on every 5 s boundary after the last tick up to and including `toMs`, calling `between` after each. */
  tickUntil(toMs: number, between?: (nowMs: number) => void): void;
  /** One tick at `nowMs` (late, early, anywhere). */
  tickAt(nowMs: number): void;
  add(type: MetricType, name: string, value: number, more?: { delta?: boolean; member?: string; rate?: number; timestampSec?: number }): void;
  /** Runs the steps the flusher deferred to later event-loop turns; returns how many ran. */
  runDeferred(): number;
  /** Streams a streaming sink was given (options.streaming), in order. */
  streams: MinuteStream[];
  /** Fires the flusher's timers, as if their time had come; returns how many fired. */
  fireTimers(): number;
}

function harness(
  startMs: number,
  options: { seriesIdleMs?: number; failWrite?: (rows: MinuteAggregate[]) => boolean; lateWindowMs?: number; maxSeries?: number; streaming?: boolean } = {},
): Harness {
  const deferred: (() => void)[] = [];
  const timers = new Map<number, () => void>();
  let nextTimer = 1;
  const streams: MinuteStream[] = [];
  const registry = new Registry({ maxSeries: options.maxSeries ?? 1000, lateWindowMs: options.lateWindowMs ?? 0, maxSetMembers: 100_000 }, startMs);
  const selfMetrics = new SelfMetrics(PREFIX);
  // As a daemon bound on Linux has; a test that counts drops replaces it.
  selfMetrics.kernelUdpDrops = () => 0;
  const batches: MinuteAggregate[][] = [];
  const writeAttempts: number[] = [];
  const sink: MinuteSink = {
    writeMinute(rows) {
      writeAttempts.push(rows[0]?.tsSec ?? Number.NaN);
      if (options.failWrite?.(rows) === true) throw new Error('disk full');
      batches.push(rows.map((row) => ({ ...row })));
    },
    ...(options.streaming === true ? { streamMinute: (stream: MinuteStream) => void streams.push(stream) } : {}),
  };
  const logs: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  let elapsed = 0;
  const flusher = new Flusher({
    registry,
    sink,
    selfMetrics,
    logger,
    seriesIdleMs: options.seriesIdleMs ?? 10 * MINUTE_MS,
    elapsedMs: () => (elapsed += FLUSH_MS), // read at the start and end of each flush
    defer: (next) => void deferred.push(next),
    timers: {
      setTimeout: (callback) => {
        timers.set(nextTimer, callback);
        return nextTimer++ as unknown as TimerHandle;
      },
      clearTimeout: (handle) => void timers.delete(handle as unknown as number),
    },
  });
  let lastTickMs = startMs - (startMs % 5000);
  const h: Harness = {
    registry,
    selfMetrics,
    flusher,
    batches,
    writeAttempts,
    logs,
    tickUntil(toMs, between) {
      for (let now = lastTickMs + 5000; now <= toMs; now += 5000) {
        h.tickAt(now);
        between?.(now);
      }
    },
    tickAt(nowMs) {
      flusher.tick(nowMs);
      lastTickMs = nowMs - (nowMs % 5000);
    },
    add(type, name, value, more = {}) {
      const sample: Sample = {
        type,
        name,
        tags: '',
        value,
        rate: more.rate ?? 1,
        gaugeDelta: more.delta ?? false,
        member: more.member ?? '',
        timestampSec: more.timestampSec ?? Number.NaN,
      };
      registry.add(sample);
    },
    runDeferred() {
      const due = deferred.splice(0);
      for (const run of due) run();
      return due.length;
    },
    streams,
    fireTimers() {
      const due = [...timers.values()];
      timers.clear();
      for (const fire of due) fire();
      return due.length;
    },
  };
  return h;
}

/** The one minute (Unix s) of a batch; fails the test if a batch mixes minutes. */
function minuteOf(t: Test, batch: MinuteAggregate[]): number {
  const minutes = new Set(batch.map((row) => row.tsSec));
  t.equal(minutes.size, 1, 'a batch holds one minute');
  return batch[0]?.tsSec ?? Number.NaN;
}

const minutesOf = (t: Test, batches: MinuteAggregate[][]): number[] => batches.map((batch) => minuteOf(t, batch));
const sec = (ms: number): number => ms / 1000;
const userRows = (batch: MinuteAggregate[] | undefined): MinuteAggregate[] => (batch ?? []).filter((row) => !row.name.startsWith(PREFIX));
const userNames = (batch: MinuteAggregate[] | undefined): string[] => userRows(batch).map((row) => `${row.type}:${row.name}`).sort();
const row = (batch: MinuteAggregate[] | undefined, name: string): MinuteAggregate | undefined => (batch ?? []).find((r) => r.name === name);
/** A self-metric counter's value in a batch: its increase over that minute. */
const selfCount = (batch: MinuteAggregate[] | undefined, name: string): number | null | undefined => row(batch, PREFIX + name)?.sum;
const selfGauge = (batch: MinuteAggregate[] | undefined, name: string): number | null | undefined => row(batch, PREFIX + name)?.last;

t.test('ticks every 5 s write one batch per ended minute, with the minute\'s rows and the self-metrics', async (t) => {
  const h = harness(M0 + 1_000);
  h.add('counter', 'hits', 1);
  h.selfMetrics.packetsReceived += 1;
  h.selfMetrics.linesReceived += 2;
  h.tickUntil(M0 + 55 * SEC, (now) => {
    if (now === M0 + 30 * SEC) {
      h.add('counter', 'hits', 2, { rate: 0.5 });
      h.add('timer', 'lat', 10);
      h.add('timer', 'lat', 30);
    }
  });
  t.equal(h.batches.length, 0, 'nothing is written before the minute ends');

  h.tickAt(M(1));
  t.equal(h.batches.length, 1, 'the first tick of the next minute writes it');
  h.selfMetrics.badLines += 2; // during M1, which gets no samples
  h.selfMetrics.kernelUdpDrops = () => 5;
  h.tickUntil(M(2), (now) => {
    if (now === M(2)) {
      h.add('gauge', 'temp', 20);
      h.add('counter', 'hits', 7);
      h.selfMetrics.packetsReceived += 3;
      h.selfMetrics.linesReceived += 4;
    }
  });
  h.tickUntil(M(4));

  t.same(minutesOf(t, h.batches), [M(0), M(1), M(2), M(3)].map(sec), 'one batch per minute, in order, stamped with the minute start');
  const [b0, b1, b2, b3] = h.batches;
  t.same(userNames(b0), ['counter:hits', 'timer:lat']);
  t.match(row(b0, 'hits'), { type: 'counter', tags: '', tsSec: sec(M0), count: 3, sum: 5 });
  t.match(row(b0, 'lat'), { type: 'timer', tsSec: sec(M0), count: 2, samples: 2, sum: 40, min: 10, max: 30 });
  t.same(userNames(b1), [], 'a minute without samples has only self-metric rows');
  t.same(userNames(b2), ['counter:hits', 'gauge:temp']);
  t.match(row(b2, 'hits'), { tsSec: sec(M(2)), count: 1, sum: 7 });
  t.match(row(b2, 'temp'), { tsSec: sec(M(2)), last: 20 });
  t.same(userNames(b3), [], 'a gauge gets no row in a minute without samples');

  for (const batch of h.batches) {
    t.same(batch.filter((r) => r.name.startsWith(PREFIX)).map((r) => r.name), SELF_METRIC_NAMES, 'all the self-metrics, prefixed');
  }
  t.same(h.batches.map((b) => selfCount(b, 'packets_received')), [1, 0, 3, 0], 'packets: the increase over each minute');
  t.same(h.batches.map((b) => selfCount(b, 'lines_received')), [2, 0, 4, 0], 'lines: the increase over each minute');
  t.same(h.batches.map((b) => selfCount(b, 'bad_lines')), [0, 2, 0, 0], 'bad lines: the increase over each minute');
  t.same(h.batches.map((b) => selfCount(b, 'udp_drops')), [0, 5, 0, 0], "the kernel's drops: the increase over each minute");
  t.same(h.batches.map((b) => selfCount(b, 'flush_errors')), [0, 0, 0, 0]);
  t.same(h.batches.map((b) => selfGauge(b, 'series_live')), [2, 2, 3, 3], 'series in memory at each flush');
  t.same(h.batches.map((b) => selfGauge(b, 'flush_duration_ms')), [0, FLUSH_MS, FLUSH_MS, FLUSH_MS], 'the previous flush\'s duration');
  for (const batch of h.batches) {
    const rss = selfGauge(batch, 'rss_bytes') as number;
    const heap = selfGauge(batch, 'heap_used_bytes') as number;
    t.ok(heap > 1e6 && rss > heap, `memory at each flush: heap ${heap} in use within rss ${rss}`);
  }
  t.match(row(b0, PREFIX + 'packets_received'), { type: 'counter', tags: '', tsSec: sec(M0) });
  t.match(row(b0, PREFIX + 'series_live'), { type: 'gauge', tsSec: sec(M0) });

  const flushed = h.logs.filter((l) => l.msg === 'flushed minute');
  t.same(flushed.map((l) => [l.minute, l.series]), [
    [new Date(M(0)).toISOString(), 2],
    [new Date(M(1)).toISOString(), 0],
    [new Date(M(2)).toISOString(), 2],
    [new Date(M(3)).toISOString(), 0],
  ], 'one info line per flushed minute');
  t.equal(h.logs.filter((l) => l.level >= 40).length, 0, 'no warnings or errors');
});

t.test('a tick 2.5 minutes late flushes each minute with data once, in order', async (t) => {
  for (const lastOnTimeMs of [M(1) + 30 * SEC, M(1) + 55 * SEC]) {
    t.test(`last on-time tick at +${(lastOnTimeMs - M(1)) / SEC}s`, async (t) => {
      const h = harness(M0);
      h.add('counter', 'hits', 1);
      h.tickUntil(lastOnTimeMs, (now) => {
        if (now === M(1) + 10 * SEC) h.add('counter', 'hits', 10);
      });
      h.add('counter', 'hits', 100); // received after the last on-time tick
      t.same(minutesOf(t, h.batches), [sec(M(0))]);

      h.tickAt(lastOnTimeMs + 150 * SEC);
      t.same(minutesOf(t, h.batches), [M(0), M(1)].map(sec), 'M1 written once by the late tick; the skipped minutes got no samples and no batch');
      t.match(row(h.batches[1], 'hits'), { tsSec: sec(M(1)), sum: 110 }, 'samples received while the tick was late count in the last known interval');

      h.add('counter', 'hits', 1000);
      h.tickUntil(minuteStartOf(lastOnTimeMs + 150 * SEC) + MINUTE_MS);
      const late = minuteStartOf(lastOnTimeMs + 150 * SEC);
      t.same(minutesOf(t, h.batches), [M(0), M(1), late].map(sec), 'back on schedule: the next minute once');
      t.match(row(h.batches[2], 'hits'), { tsSec: sec(late), sum: 1000 });
      t.equal(
        h.batches.flatMap(userRows).reduce((sum, r) => sum + (r.sum ?? 0), 0),
        1111,
        'every sample written exactly once',
      );
    });
  }
});

function minuteStartOf(ms: number): number {
  return ms - (ms % MINUTE_MS);
}

t.test('a forward jump of a day flushes the pending minute and does not loop over empty minutes', async (t) => {
  const h = harness(M0, { seriesIdleMs: 5 * MINUTE_MS });
  h.add('counter', 'hits', 1);
  h.tickUntil(M0 + 30 * SEC, () => h.add('counter', 'hits', 1));
  const jumpedMs = M0 + 30 * SEC + DAY_MS;
  h.tickAt(jumpedMs);
  t.equal(h.writeAttempts.length, 1, 'exactly one write for the jump');
  t.same(minutesOf(t, h.batches), [sec(M0)], 'the pending minute');
  t.match(row(h.batches[0], 'hits'), { count: 7, sum: 7 });
  t.equal(h.registry.size, 0, 'the series, idle for a day, was evicted after its data was written');
  t.equal(h.registry.currentIntervalMs, jumpedMs);

  h.add('counter', 'hits', 5);
  h.tickUntil(M0 + DAY_MS + MINUTE_MS);
  t.same(minutesOf(t, h.batches), [M0, M0 + DAY_MS].map(sec), 'then the new minute, once');
  t.match(row(h.batches[1], 'hits'), { tsSec: sec(M0 + DAY_MS), sum: 5 });
  t.equal(h.writeAttempts.length, 2);
});

t.test('a backward time step writes what is held at once, then flushing keeps its pace', async (t) => {
  const h = harness(M0);
  h.add('counter', 'hits', 1);
  h.tickUntil(M(1) + 10 * SEC);
  h.add('counter', 'hits', 2);
  t.same(minutesOf(t, h.batches), [sec(M(0))]);

  // The clock steps back 80 s, across the minute boundary just flushed, and runs forward again.
  h.tickAt(M0 + 50 * SEC);
  t.same(minutesOf(t, h.batches), [M(0), M(1)].map(sec), 'the unfinished minute M1 was written at the step');
  t.match(row(h.batches[1], 'hits'), { tsSec: sec(M(1)), sum: 2 });
  t.equal(h.registry.currentIntervalMs, M0 + 50 * SEC, 'the registry follows the clock back');
  t.match(h.logs.at(-1), { level: 40, msg: 'the wall clock stepped back; wrote everything held and continue from the new time' });
  h.add('counter', 'hits', 4);
  h.tickUntil(M(1) + 10 * SEC, () => h.add('counter', 'hits', 8));
  // M0 again: 4, and 8 after the ticks at M0+55s.
  t.same(minutesOf(t, h.batches), [M(0), M(1), M(0)].map(sec), 'M0 met again is written again, to merge into its row');
  t.match(row(h.batches[2], 'hits'), { tsSec: sec(M(0)), sum: 4 + 8 });

  h.tickUntil(M(2));
  t.same(minutesOf(t, h.batches), [M(0), M(1), M(0), M(1)].map(sec));
  // 8 after each of the ticks M1+0s, M1+5s and M1+10s.
  t.match(row(h.batches[3], 'hits'), { tsSec: sec(M(1)), sum: 3 * 8 }, 'no sample of the first pass through M1 is counted again');
  const total = h.batches.reduce((sum, batch) => sum + ((row(batch, 'hits')?.sum as number | undefined) ?? 0), 0);
  t.equal(total, 1 + 2 + 4 + 8 + 3 * 8, 'every sample written exactly once across all rows');

  // A step back of several minutes keeps minutes flowing at the new time, then a jump forward.
  h.tickAt(M0 - 5 * MINUTE_MS);
  h.add('counter', 'hits', 16);
  h.tickUntil(M0 - 4 * MINUTE_MS);
  t.match(row(h.batches.at(-1), 'hits'), { tsSec: sec(M0 - 5 * MINUTE_MS), sum: 16 }, 'flushed a minute later, not when the clock catches up');
  h.add('counter', 'hits', 32);
  h.tickAt(M(3) + 5 * SEC);
  t.match(row(h.batches.at(-1), 'hits'), { tsSec: sec(M0 - 4 * MINUTE_MS), sum: 32 }, 'the forward jump writes the pending minute once');
});

t.test('close(now) writes the unfinished current minute and nothing after it', async (t) => {
  const h = harness(M0);
  h.add('counter', 'hits', 1);
  h.tickUntil(M(1) + 20 * SEC, (now) => {
    if (now === M(1) + 10 * SEC) h.add('counter', 'hits', 2);
  });
  h.add('counter', 'hits', 4);
  h.selfMetrics.packetsReceived += 9;
  h.flusher.close(M(1) + 23 * SEC);
  t.same(minutesOf(t, h.batches), [M(0), M(1)].map(sec), 'the current minute, unfinished');
  t.match(row(h.batches[1], 'hits'), { tsSec: sec(M(1)), sum: 6 });
  t.equal(selfCount(h.batches[1], 'packets_received'), 9, 'with its self-metrics so far');

  h.add('counter', 'hits', 8);
  h.tickUntil(M(3));
  h.flusher.close(M(3) + 5 * SEC);
  t.equal(h.writeAttempts.length, 2, 'no write after close, from tick or a second close');

  t.test('at a minute boundary: the ended minute, then the new one, empty', async (t) => {
    const h = harness(M0);
    h.tickUntil(M0 + 55 * SEC);
    h.add('timer', 'lat', 5);
    h.flusher.close(M(1));
    t.same(minutesOf(t, h.batches), [M(0), M(1)].map(sec));
    t.same(userNames(h.batches[0]), ['timer:lat']);
    t.same(userNames(h.batches[1]), [], 'the just-started minute has only self-metrics');
  });

  t.test('before any tick', async (t) => {
    const h = harness(M0 + 12 * SEC);
    h.add('set', 'users', 0, { member: 'ann' });
    h.flusher.close(M0 + 14 * SEC);
    t.same(minutesOf(t, h.batches), [sec(M0)]);
    t.match(row(h.batches[0], 'users'), { members: ['ann'] });
  });
});

t.test('a sink that throws is counted and logged, and the next minute still flushes', async (t) => {
  const h = harness(M0, { failWrite: (rows) => rows[0]?.tsSec === sec(M(1)) });
  h.tickUntil(M(3), (now) => h.add('counter', 'hits', now >= M(2) ? 100 : now >= M(1) ? 10 : 1));
  t.same(h.writeAttempts, [M(0), M(1), M(2)].map(sec), 'every minute was attempted once');
  t.same(minutesOf(t, h.batches), [M(0), M(2)].map(sec), 'M1 failed; M2 was written');
  t.equal(h.selfMetrics.flushErrors, 1);
  t.equal(selfCount(h.batches[1], 'flush_errors'), 1, 'the failure shows in the next minute\'s self-metrics');
  t.match(row(h.batches[1], 'hits'), { tsSec: sec(M(2)), sum: 1200 }, 'M2 has only its own samples');
  const errors = h.logs.filter((l) => l.level === 50);
  t.equal(errors.length, 1);
  t.match(errors[0], { msg: 'minute flush failed', minute: new Date(M(1)).toISOString(), err: { message: 'disk full' } });
  t.notOk(h.logs.some((l) => l.msg === 'flushed minute' && l.minute === new Date(M(1)).toISOString()), 'no success line for the failed minute');
});

t.test('late (timestamped) samples are written at the next tick into their minute, failures counted', async (t) => {
  let failLate = false;
  const h = harness(M0, { lateWindowMs: 10 * MINUTE_MS, failWrite: (rows) => failLate && rows[0]?.tsSec === sec(M0) });
  h.add('counter', 'hits', 1);
  h.tickUntil(M(1) + 30 * SEC);
  h.add('counter', 'hits', 5, { timestampSec: sec(M0) + 20 });
  t.equal(h.registry.lateSamples, 1);
  h.tickAt(M(1) + 35 * SEC);
  t.same(minutesOf(t, h.batches), [M(0), M(0)].map(sec), 'a second batch for M0, holding only the late rows');
  t.same(h.batches[1]?.map((r) => [r.name, r.sum]), [['hits', 5]]);

  failLate = true;
  h.add('counter', 'hits', 7, { timestampSec: sec(M0) + 40 });
  h.tickAt(M(1) + 40 * SEC);
  t.equal(h.batches.length, 2, 'the failed late write is not retried');
  t.equal(h.selfMetrics.flushErrors, 1);
  t.match(h.logs.find((l) => l.level === 50), { msg: 'writing late samples failed', rows: 1 });
  h.tickUntil(M(2));
  t.equal(selfCount(h.batches[2], 'late_samples'), 2);
  t.equal(selfCount(h.batches[2], 'flush_errors'), 1);
});

t.test('idle series are evicted after their data was written', async (t) => {
  const h = harness(M0, { seriesIdleMs: MINUTE_MS });
  h.add('counter', 'once', 1);
  h.add('gauge', 'level', 40);
  h.tickUntil(M(1), () => h.add('counter', 'steady', 1));
  t.same(userNames(h.batches[0]), ['counter:once', 'counter:steady', 'gauge:level']);
  t.equal(h.registry.size, 3, 'sampled within the last minute: kept');

  h.tickUntil(M(2), () => h.add('counter', 'steady', 1));
  t.same(userNames(h.batches[1]), ['counter:steady']);
  t.equal(selfGauge(h.batches[1], 'series_live'), 3, 'series_live counts them at the flush, before this tick\'s eviction');
  t.same([...h.registry.series()].map((s) => s.name), ['steady'], 'idle for a minute: evicted after M1 was written');
  t.equal(h.registry.size, 1);
  t.match(h.logs.find((l) => l.msg === 'evicted idle series'), { evicted: 2, series: 1 });

  // An evicted gauge comes back without its old value.
  h.add('gauge', 'level', 2, { delta: true });
  h.tickUntil(M(3));
  t.match(row(h.batches[2], 'level'), { last: 2 });

  t.test('with no idle allowance, a series is evicted right after the minute holding its samples is written', async (t) => {
    const h = harness(M0, { seriesIdleMs: 0 });
    h.tickUntil(M0 + 55 * SEC);
    h.add('counter', 'x', 3);
    h.tickAt(M(1));
    t.match(row(h.batches[0], 'x'), { sum: 3 }, 'written');
    t.equal(h.registry.size, 0, 'then evicted');
    h.tickUntil(M(2));
    t.same(userNames(h.batches[1]), []);
  });

  t.test('in a minute of many series, eviction waits for the summary and takes a turn of its own', async (t) => {
    const series = INLINE_SERIES + 500;
    const h = harness(M0 + SEC, { seriesIdleMs: 0, maxSeries: series });
    for (let i = 0; i < series; i++) h.add('counter', `c${i}`, 1);
    h.tickUntil(M(1));
    t.equal(h.registry.size, series, 'nothing evicted in the tick');
    let sizeWhenHanded: number | undefined;
    while (h.runDeferred() > 0) {
      if (h.batches.length === 1 && sizeWhenHanded === undefined) sizeWhenHanded = h.registry.size;
    }
    t.equal(sizeWhenHanded, series, 'every series still there when the minute was handed on');
    t.equal(userNames(h.batches[0]).length, series, 'and every one in it');
    t.equal(h.registry.size, 0, 'evicted in the next turn');
  });
});

t.test('a minute of many series is summarized across turns, then written once, whole and in order', async (t) => {
  const series = INLINE_SERIES + 500;
  const h = harness(M0 + SEC, { maxSeries: series });
  for (let i = 0; i < series; i++) h.add('counter', `c${i}`, i);
  h.tickUntil(M(1));
  t.same(h.batches, [], 'nothing written inside the tick');
  let idle = false;
  const waiting = h.flusher.idle().then(() => (idle = true));
  let turns = 0;
  while (h.runDeferred() > 0) turns++;
  await waiting;
  t.ok(idle, 'idle() resolved once the minute was handed on');
  // The fake clock moves FLUSH_MS per reading, one reading per 64 series, until the turn's budget is spent;
  // then one more turn looks for idle series to evict, apart from the summarizing.
  t.equal(turns, Math.ceil(series / (64 * Math.ceil(SUMMARIZE_BUDGET_MS / FLUSH_MS))) + 1, `${turns} turns`);
  t.equal(h.registry.size, series, 'none idle, none evicted');
  t.equal(h.batches.length, 1, 'one batch');
  const batch = h.batches[0] as MinuteAggregate[];
  t.equal(minuteOf(t, batch), M0 / 1000);
  t.same(
    batch.filter((row) => !row.name.startsWith(PREFIX)).map((row) => [row.name, row.sum]),
    Array.from({ length: series }, (_, i) => [`c${i}`, i]),
    'every series once, exact',
  );
  t.same(batch.filter((row) => row.name.startsWith(PREFIX)).map((row) => row.name), SELF_METRIC_NAMES, 'then the self-metrics');
});

t.test('the next tick finishes a pending minute before the registry moves on', async (t) => {
  const series = INLINE_SERIES + 500;
  const h = harness(M0 + SEC, { maxSeries: series });
  for (let i = 0; i < series; i++) h.add('counter', `c${i}`, 1);
  h.tickUntil(M(1));
  t.equal(h.runDeferred(), 1, 'one turn of summarizing');
  t.same(h.batches, []);
  // Samples of the new minute go into the ring slots next to the pending minute's.
  for (let i = 0; i < series; i++) h.add('counter', `c${i}`, 2);
  h.tickUntil(M(1) + 5 * SEC);
  t.equal(h.batches.length, 1, 'written at the next tick');
  t.equal(
    (h.batches[0] as MinuteAggregate[]).filter((row) => row.name.startsWith('c') && row.sum === 1).length,
    series,
    'the minute whole, untouched by the next one',
  );
  while (h.runDeferred() > 0);
  t.equal(h.batches.length, 1, 'the step left scheduled does nothing');
  h.flusher.close(M(1) + 10 * SEC);
  t.equal(h.batches.length, 2);
  t.equal((h.batches[1] as MinuteAggregate[]).filter((row) => row.name.startsWith('c') && row.sum === 2).length, series, 'the next minute on close');
});

t.test('a streaming sink', async (t) => {
  const series = INLINE_SERIES + 500;
  /** A registry of `series` counters c<i> = i, ticked into the next minute. */
  const flushed = (options: { seriesIdleMs?: number } = {}): Harness => {
    const h = harness(M0 + SEC, { maxSeries: series, streaming: true, ...options });
    for (let i = 0; i < series; i++) h.add('counter', `c${i}`, i);
    h.tickUntil(M(1));
    return h;
  };
  const everyCounter = Array.from({ length: series }, (_, i) => [`c${i}`, i]);
  const counterSums = (rows: MinuteAggregate[]): [string, number | null][] => userRows(rows).map((row) => [row.name, row.sum]);
  /** The rest of the stream, taken `limit` rows at a time. */
  const drain = (stream: MinuteStream, limit: number): MinuteAggregate[] => {
    const rows: MinuteAggregate[] = [];
    while (!stream.done) rows.push(...stream.take(limit));
    return rows;
  };

  t.test('is handed a large minute in its tick and summarizes it as it takes rows, in order, the self-metrics last', async (t) => {
    const h = flushed();
    t.equal(h.streams.length, 1, 'one stream');
    t.same(h.batches, [], 'nothing handed whole');
    const stream = h.streams[0] as MinuteStream;
    const first = stream.take(100);
    t.same(counterSums(first), everyCounter.slice(0, 100), 'the first rows, as asked');
    const all = stream.take(Number.POSITIVE_INFINITY);
    t.ok(all.length > 0 && all.length < series - 100, `a take stops when its time is spent (${all.length} rows)`);
    t.notOk(stream.done);
    const parts = [first, all];
    while (!stream.done) parts.push(stream.take(100));
    t.ok(parts.slice(2).every((part) => part.length <= 100), 'never more than asked');
    const rows = parts.flat();
    t.same(counterSums(rows), everyCounter, 'every series once, exact');
    t.same(rows.slice(series).map((row) => row.name), SELF_METRIC_NAMES, 'then the self-metrics');
    t.same(stream.take(100), [], 'nothing after the end');
    t.match(
      h.logs.filter((line) => line.msg === 'flushed minute'),
      [{ series, rows: series + SELF_METRIC_NAMES.length }],
      'logged once, when the last row was taken',
    );
    t.equal(h.fireTimers(), 0, 'nothing left to summarize ahead');
    await h.flusher.idle();
  });

  t.test('finishes summarizing at the next tick, before the registry moves on', async (t) => {
    const h = flushed();
    const stream = h.streams[0] as MinuteStream;
    const first = stream.take(10);
    h.tickUntil(M(1) + 5 * SEC);
    // The new interval takes the ring slot of the minute's first interval.
    for (let i = 0; i < series; i++) h.add('counter', `c${i}`, 1000);
    t.same(counterSums([...first, ...drain(stream, 500)]), everyCounter, 'the minute whole, untouched by the next one');
  });

  t.test('that is slow to take is summarized ahead in the flusher\'s turns', async (t) => {
    const h = flushed();
    const stream = h.streams[0] as MinuteStream;
    const first = stream.take(10);
    t.equal(h.fireTimers(), 1, 'one timer, STREAM_AHEAD_AFTER_MS after the tick');
    t.match(
      h.logs.filter((line) => line.msg === 'the writer is slow to take the minute; summarizing the rest ahead'),
      [{ level: 20, minute: new Date(M0).toISOString(), series }],
      'said at debug level',
    );
    let turns = 0;
    while (h.runDeferred() > 0) turns++;
    t.ok(turns > 1, `summarized in ${turns} turns`);
    const rest = stream.take(Number.POSITIVE_INFINITY);
    t.ok(stream.done, 'the rest in one take, summarized already');
    t.same(counterSums([...first, ...rest]), everyCounter);
  });

  t.test('has idle series evicted in a turn of their own, and their rows still taken', async (t) => {
    const h = flushed({ seriesIdleMs: 0 });
    t.equal(h.registry.size, series, 'nothing evicted in the tick');
    while (h.runDeferred() > 0);
    t.equal(h.registry.size, 0, 'evicted in a later turn');
    t.same(counterSums(drain(h.streams[0] as MinuteStream, 1000)), everyCounter, 'every row of the minute');
  });

  t.test('gets the rest of a streamed minute, then the unfinished one whole, on close', async (t) => {
    const h = flushed();
    const stream = h.streams[0] as MinuteStream;
    const first = stream.take(10);
    h.add('counter', 'c0', 5);
    h.flusher.close(M(1) + 2 * SEC);
    t.same(counterSums([...first, ...drain(stream, 1000)]), everyCounter, 'the streamed minute');
    t.same(minutesOf(t, h.batches), [M(1) / 1000], 'then the unfinished minute');
    t.equal(h.fireTimers(), 0, 'no timer left behind');
  });
});

t.test('close writes a pending minute before the unfinished one', async (t) => {
  const series = INLINE_SERIES + 1;
  const h = harness(M0 + SEC, { maxSeries: series });
  for (let i = 0; i < series; i++) h.add('counter', `c${i}`, 1);
  h.tickUntil(M(1));
  h.add('counter', 'c0', 5);
  h.flusher.close(M(1) + 2 * SEC);
  t.same(
    h.batches.map((batch) => minuteOf(t, batch)),
    [M0 / 1000, M(1) / 1000],
    'both minutes, in order',
  );
  await h.flusher.idle();
});
