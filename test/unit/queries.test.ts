import { join } from 'node:path';
import t, { type Test } from 'tap';
import { HLL_STANDARD_ERROR } from '../../src/aggregate/hll.js';
import { CounterPartial, GaugePartial, SetPartial, TimerPartial, type Partial as MetricPartial } from '../../src/aggregate/partial.js';
import { aggregateOf, type MinuteAggregate } from '../../src/aggregate/summarize.js';
import { DattssError } from '../../src/errors.js';
import type { MetricType } from '../../src/protocol/metric-type.js';
import { chooseResolution, matchSeries, openReadOnly, queryRange, summarizeRange, type Point } from '../../src/store/queries.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/daemon.js';
import { prng } from '../helpers/prng.js';

// The read side: per-bucket points and whole-range summaries computed by
// merging stored aggregates, checked against brute-force references over the
// raw samples that were written.

const TS = 1_767_225_600; // 2026-01-01T00:00:00Z, the start of a UTC day
const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;
const STEPS = { '1m': MINUTE, '1h': HOUR, '1d': DAY } as const;

interface Sample {
  tsSec: number;
  value: number;
  /** Counter and timer sample rate. */
  rate: number;
  /** Gauge: when the value was set. */
  atMs: number;
  /** Set member. */
  member: string;
}

function openStore(t: Test): { store: SqliteStore; path: string } {
  const path = join(tempDir(t), 'q.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: { minuteDays: 8, hourDays: 400, dayDays: 0 } });
  t.teardown(() => store.close());
  return { store, path };
}

function sample(tsSec: number, value: number, extra: Partial<Omit<Sample, 'tsSec' | 'value'>> = {}): Sample {
  return { tsSec, value, rate: extra.rate ?? 1, atMs: extra.atMs ?? tsSec * 1000, member: extra.member ?? String(value) };
}

function partialOf(type: MetricType): MetricPartial {
  switch (type) {
    case 'counter':
      return new CounterPartial();
    case 'timer':
      return new TimerPartial();
    case 'gauge':
      return new GaugePartial();
    case 'set':
      return new SetPartial();
  }
}

function addTo(partial: MetricPartial, s: Sample): void {
  switch (partial.type) {
    case 'counter':
    case 'timer':
      partial.add(s.value, s.rate);
      return;
    case 'gauge':
      partial.add(s.value, s.atMs);
      return;
    case 'set':
      partial.add(s.member);
      return;
  }
}

/** One MinuteAggregate per minute the samples fall in, in sample order within a minute. */
function minuteRows(type: MetricType, name: string, tags: string, samples: readonly Sample[]): MinuteAggregate[] {
  const partials = new Map<number, MetricPartial>();
  for (const s of samples) {
    const minute = Math.floor(s.tsSec / MINUTE) * MINUTE;
    let partial = partials.get(minute);
    if (partial === undefined) partials.set(minute, (partial = partialOf(type)));
    addTo(partial, s);
  }
  return [...partials].map(([minute, partial]) => aggregateOf(partial, name, tags, minute) as MinuteAggregate);
}

/** Writes the rows one minute flush at a time, as the daemon does. */
function writeAll(store: SqliteStore, rows: readonly MinuteAggregate[]): void {
  const byMinute = new Map<number, MinuteAggregate[]>();
  for (const row of rows) byMinute.set(row.tsSec, [...(byMinute.get(row.tsSec) ?? []), row]);
  for (const minute of [...byMinute.keys()].sort((a, b) => a - b)) store.writeMinute(byMinute.get(minute) ?? []);
}

type Expected = Pick<Point, 'ts' | 'value' | 'count' | 'sum' | 'min' | 'max' | 'last'>;

/** Brute force: what a bucket of `step` seconds over these raw samples should report. */
function expectedBuckets(type: MetricType, samples: readonly Sample[], step: number): Expected[] {
  const groups = new Map<number, Sample[]>();
  for (const s of samples) {
    const ts = Math.floor(s.tsSec / step) * step;
    groups.set(ts, [...(groups.get(ts) ?? []), s]);
  }
  return [...groups]
    .sort(([a], [b]) => a - b)
    .map(([ts, group]) => {
      const values = group.map((s) => s.value);
      switch (type) {
        case 'counter': {
          const sum = group.reduce((acc, s) => acc + s.value / s.rate, 0);
          return { ts, value: sum, count: group.reduce((acc, s) => acc + 1 / s.rate, 0), sum, min: null, max: null, last: null };
        }
        case 'timer': {
          const sum = values.reduce((a, b) => a + b, 0);
          return {
            ts,
            value: sum / values.length,
            count: group.reduce((acc, s) => acc + 1 / s.rate, 0),
            sum,
            min: Math.min(...values),
            max: Math.max(...values),
            last: null,
          };
        }
        case 'gauge': {
          const newest = [...group].sort((a, b) => b.atMs - a.atMs || b.value - a.value)[0] as Sample;
          return {
            ts,
            value: newest.value,
            count: group.length,
            sum: values.reduce((a, b) => a + b, 0),
            min: Math.min(...values),
            max: Math.max(...values),
            last: newest.value,
          };
        }
        case 'set':
          return { ts, value: new Set(group.map((s) => s.member)).size, count: group.length, sum: null, min: null, max: null, last: null };
      }
    });
}

function pick(point: Point): Expected {
  return { ts: point.ts, value: point.value, count: point.count, sum: point.sum, min: point.min, max: point.max, last: point.last };
}

/** Exact nearest-rank percentile: the value at 1-based rank ceil(q·n) of the sorted values. */
function nearestRank(sorted: readonly number[], percent: number): number {
  // Percent in tenths as an integer, so 99.9 % of n is computed without rounding error.
  const rank = Math.max(1, Math.ceil((Math.round(percent * 10) * sorted.length) / 1000));
  return sorted[rank - 1] as number;
}

function withinOnePercent(t: Test, actual: number | null | undefined, exact: number, label: string): void {
  t.ok(
    typeof actual === 'number' && Math.abs(actual - exact) <= 0.01 * Math.abs(exact) + 1e-9,
    `${label}: ${actual} within 1% of ${exact}`,
  );
}

// Minutes (offsets from TS) spread over hours 0, 1, 2, 23 of day 0 and hours 0, 9, 23 of day 1.
const MINUTE_OFFSETS = [0, 1, 2, 59, 60, 61, 125, 1439, 1440, 1441, 2000, 2879];

/** Integer values and power-of-two rates, so every sum is exact in any order. */
function dataset(seed: number): Record<MetricType, Sample[]> {
  const random = prng(seed);
  const out: Record<MetricType, Sample[]> = { counter: [], timer: [], gauge: [], set: [] };
  for (const offset of MINUTE_OFFSETS) {
    const minute = TS + offset * MINUTE;
    for (const type of ['counter', 'timer', 'gauge', 'set'] as const) {
      const n = 1 + Math.floor(random() * 5);
      for (let i = 0; i < n; i++) {
        const value = type === 'gauge' ? Math.floor(random() * 200) - 50 : 1 + Math.floor(random() * 1000);
        out[type].push(
          sample(minute + i, value, {
            rate: type === 'counter' || type === 'timer' ? ([1, 0.5, 0.25][Math.floor(random() * 3)] as number) : 1,
            atMs: (minute + i) * 1000,
            member: `m${Math.floor(random() * 20)}`,
          }),
        );
      }
    }
  }
  return out;
}

t.test('points per bucket at 1m, 1h and 1d report exact count, sum, min, max, last and value', async (t) => {
  const { store } = openStore(t);
  const data = dataset(1);
  for (const type of ['counter', 'timer', 'gauge', 'set'] as const) writeAll(store, minuteRows(type, `x.${type}`, '', data[type]));

  for (const resolution of ['1m', '1h', '1d'] as const) {
    for (const type of ['counter', 'timer', 'gauge', 'set'] as const) {
      const result = queryRange(store.db, { name: `x.${type}`, type, fromSec: TS, toSec: TS + 2 * DAY, resolution });
      t.equal(result.resolution, resolution);
      t.equal(result.series, 1);
      const expected = expectedBuckets(type, data[type], STEPS[resolution]);
      t.same(result.points.map(pick), expected, `${type} at ${resolution}`);
      t.ok(result.points.length > 0, `${type} at ${resolution} has points`);
    }
  }
  // Spot checks that the reference is what it claims: 12 minutes fall in 7 hours and 2 days.
  t.equal(queryRange(store.db, { name: 'x.counter', type: 'counter', fromSec: TS, toSec: TS + 2 * DAY, resolution: '1m' }).points.length, 12);
  t.equal(queryRange(store.db, { name: 'x.counter', type: 'counter', fromSec: TS, toSec: TS + 2 * DAY, resolution: '1h' }).points.length, 7);
  t.same(
    queryRange(store.db, { name: 'x.counter', type: 'counter', fromSec: TS, toSec: TS + 2 * DAY, resolution: '1d' }).points.map((p) => p.ts),
    [TS, TS + DAY],
  );

  // A hand-checked hour: rate 0.5 doubles count and sum; the gauge keeps the newest value.
  const { store: small } = openStore(t);
  writeAll(small, [
    ...minuteRows('counter', 'c', '', [sample(TS, 3, { rate: 0.5 }), sample(TS + 60, 4), sample(TS + 61, 1, { rate: 0.25 })]),
    ...minuteRows('timer', 't', '', [sample(TS, 10, { rate: 0.5 }), sample(TS + 60, 30), sample(TS + 61, 20)]),
    ...minuteRows('gauge', 'g', '', [sample(TS, 7, { atMs: TS * 1000 + 5000 }), sample(TS + 120, -2, { atMs: (TS + 120) * 1000 }), sample(TS + 60, 9, { atMs: (TS + 60) * 1000 })]),
  ]);
  const hour = (name: string, type: MetricType): Expected[] =>
    queryRange(small.db, { name, type, fromSec: TS, toSec: TS + HOUR, resolution: '1h' }).points.map(pick);
  t.same(hour('c', 'counter'), [{ ts: TS, value: 14, count: 7, sum: 14, min: null, max: null, last: null }]);
  t.same(hour('t', 'timer'), [{ ts: TS, value: 20, count: 4, sum: 60, min: 10, max: 30, last: null }]);
  t.same(hour('g', 'gauge'), [{ ts: TS, value: -2, count: 3, sum: 14, min: -2, max: 9, last: -2 }]);
});

t.test('automatic resolution picks the finest whose rounded-out range has at most maxPoints buckets', async (t) => {
  // Explicit resolutions are taken as given.
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 400 * DAY, resolution: '1m' }), '1m');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 60, resolution: '1d' }), '1d');
  // Aligned ranges: the boundary at exactly maxPoints buckets (default 1000).
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 1000 * MINUTE }), '1m');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 1000 * MINUTE, resolution: 'auto' }), '1m');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 1001 * MINUTE }), '1h');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 1000 * HOUR }), '1h');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 1001 * HOUR }), '1d');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 5000 * DAY }), '1d', 'nothing fits: the coarsest');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 3 * HOUR, maxPoints: 180 }), '1m');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 3 * HOUR, maxPoints: 179 }), '1h');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 3 * HOUR, maxPoints: 3 }), '1h');
  t.equal(chooseResolution({ fromSec: TS, toSec: TS + 3 * HOUR, maxPoints: 2 }), '1d');
  // Unaligned ranges are rounded out before counting: 30 s..90 s spans two minutes.
  t.equal(chooseResolution({ fromSec: TS + 30, toSec: TS + 90, maxPoints: 2 }), '1m');
  t.equal(chooseResolution({ fromSec: TS + 30, toSec: TS + 90, maxPoints: 1 }), '1h');
  // "The last 1000 minutes" from an unaligned now covers 1001 minute buckets.
  t.equal(chooseResolution({ fromSec: TS + 30 - 1000 * MINUTE, toSec: TS + 30 }), '1h');
  t.equal(chooseResolution({ fromSec: TS + 30 - 999 * MINUTE, toSec: TS + 30 }), '1m');

  // queryRange honours it: the reported range never holds more than maxPoints buckets.
  const { store } = openStore(t);
  writeAll(store, minuteRows('counter', 'c', '', MINUTE_OFFSETS.map((offset) => sample(TS + offset * MINUTE, 1))));
  for (const [fromSec, toSec, maxPoints] of [
    [TS, TS + 3 * HOUR, 180],
    [TS + 30, TS + 30 + 3 * HOUR, 180],
    [TS + 30, TS + 90, 1],
    [TS, TS + 2 * DAY, 1000],
    [TS + 1, TS + 2 * DAY - 1, 48],
    [TS, TS + 2 * DAY, 47],
  ] as const) {
    const result = queryRange(store.db, { name: 'c', type: 'counter', fromSec, toSec, maxPoints });
    const step = STEPS[result.resolution];
    const buckets = (result.toSec - result.fromSec) / step;
    t.ok(buckets <= maxPoints, `${fromSec - TS}..${toSec - TS} at ${result.resolution}: ${buckets} buckets ≤ ${maxPoints}`);
    t.ok(result.points.length <= maxPoints);
    // ... and it is the finest such resolution.
    const finer = result.resolution === '1h' ? MINUTE : result.resolution === '1d' ? HOUR : null;
    if (finer !== null) t.ok(Math.ceil(toSec / finer) - Math.floor(fromSec / finer) > maxPoints, 'a finer resolution would not fit');
  }
  t.equal(queryRange(store.db, { name: 'c', type: 'counter', fromSec: TS, toSec: TS + 3 * HOUR, maxPoints: 180 }).resolution, '1m');
  t.equal(queryRange(store.db, { name: 'c', type: 'counter', fromSec: TS, toSec: TS + 2 * DAY, maxPoints: 47 }).resolution, '1d');
});

t.test('the range is rounded out to whole buckets and reported', async (t) => {
  const { store } = openStore(t);
  const samples = [0, 60, 120, 180, 3600, DAY].map((offset) => sample(TS + offset, offset + 1));
  writeAll(store, minuteRows('counter', 'c', '', samples));

  const minutes = queryRange(store.db, { name: 'c', type: 'counter', fromSec: TS + 90, toSec: TS + 150, resolution: '1m' });
  t.match(minutes, { resolution: '1m', fromSec: TS + 60, toSec: TS + 180 });
  t.same(minutes.points.map((p) => [p.ts, p.sum]), [[TS + 60, 61], [TS + 120, 121]], 'both partly covered minutes, nothing else');

  // The end is exclusive: an aligned end is not rounded up.
  const aligned = queryRange(store.db, { name: 'c', type: 'counter', fromSec: TS, toSec: TS + 120, resolution: '1m' });
  t.match(aligned, { fromSec: TS, toSec: TS + 120 });
  t.same(aligned.points.map((p) => p.ts), [TS, TS + 60]);

  const hours = queryRange(store.db, { name: 'c', type: 'counter', fromSec: TS + 3599, toSec: TS + 3601, resolution: '1h' });
  t.match(hours, { resolution: '1h', fromSec: TS, toSec: TS + 2 * HOUR });
  t.same(hours.points.map((p) => [p.ts, p.sum]), [[TS, 1 + 61 + 121 + 181], [TS + HOUR, 3601]]);

  const days = queryRange(store.db, { name: 'c', type: 'counter', fromSec: TS + 10, toSec: TS + DAY + 10, resolution: '1d' });
  t.match(days, { resolution: '1d', fromSec: TS, toSec: TS + 2 * DAY });
  t.same(days.points.map((p) => [p.ts, p.sum]), [[TS, 1 + 61 + 121 + 181 + 3601], [TS + DAY, DAY + 1]]);

  // A summary reports the same rounded range and is stamped with its start.
  const summary = summarizeRange(store.db, { name: 'c', type: 'counter', fromSec: TS + 90, toSec: TS + 150, resolution: '1m' });
  t.match(summary, { resolution: '1m', fromSec: TS + 60, toSec: TS + 180, series: 1 });
  t.match(summary.summary, { ts: TS + 60, sum: 182, count: 2, value: 182 });
});

t.test('percentiles not stored come from the merged sketch within 1% of the exact nearest rank', async (t) => {
  const { store } = openStore(t);
  const random = prng(42);
  const samples: Sample[] = [];
  for (let minute = 0; minute < 180; minute++) {
    // A long-tailed latency: mostly small, a few large; varies by hour so hours differ.
    for (let i = 0; i < 40; i++) {
      const value = Math.round(Math.exp(random() * 8 + Math.floor(minute / 60))) + 1;
      samples.push(sample(TS + minute * MINUTE + i, value));
    }
  }
  writeAll(store, minuteRows('timer', 'lat', '', samples));
  const sorted = samples.map((s) => s.value).sort((a, b) => a - b);
  const percentiles = [99.9, 75, 50, 99];

  // Three hours of minutes (180 ≤ 1500 buckets): the summary merges 180 minute sketches.
  const summary = summarizeRange(store.db, { name: 'lat', type: 'timer', fromSec: TS, toSec: TS + 3 * HOUR, percentiles });
  t.equal(summary.resolution, '1m');
  t.equal(summary.summary?.count, samples.length);
  t.equal(summary.summary?.sum, sorted.reduce((a, b) => a + b, 0));
  t.equal(summary.summary?.min, sorted[0]);
  t.equal(summary.summary?.max, sorted[sorted.length - 1]);
  for (const percent of percentiles) withinOnePercent(t, summary.summary?.percentiles[`p${percent}`], nearestRank(sorted, percent), `minutes p${percent}`);

  // Two days (2880 minutes > 1500): the summary merges hour sketches instead, same answer within 1%.
  const wide = summarizeRange(store.db, { name: 'lat', type: 'timer', fromSec: TS, toSec: TS + 2 * DAY, percentiles });
  t.equal(wide.resolution, '1h');
  t.equal(wide.summary?.count, samples.length);
  for (const percent of percentiles) withinOnePercent(t, wide.summary?.percentiles[`p${percent}`], nearestRank(sorted, percent), `hours p${percent}`);

  // Per hour, from each hour's stored sketch.
  const hours = queryRange(store.db, { name: 'lat', type: 'timer', fromSec: TS, toSec: TS + 3 * HOUR, resolution: '1h', percentiles });
  t.equal(hours.points.length, 3);
  for (const point of hours.points) {
    const inHour = samples.filter((s) => s.tsSec >= point.ts && s.tsSec < point.ts + HOUR).map((s) => s.value).sort((a, b) => a - b);
    for (const percent of percentiles) withinOnePercent(t, point.percentiles[`p${percent}`], nearestRank(inHour, percent), `hour ${(point.ts - TS) / HOUR} p${percent}`);
  }

  // p99.9 of the range is not the average of the per-minute p99.9s.
  const perMinute = queryRange(store.db, { name: 'lat', type: 'timer', fromSec: TS, toSec: TS + 3 * HOUR, resolution: '1m', percentiles: [99.9] });
  const mean = perMinute.points.reduce((acc, p) => acc + (p.percentiles['p99.9'] as number), 0) / perMinute.points.length;
  t.ok(Math.abs(mean - nearestRank(sorted, 99.9)) > 0.05 * nearestRank(sorted, 99.9), 'averaging minute percentiles would be far off');

  // Counters have no sketch: their percentiles are null, not made up.
  writeAll(store, minuteRows('counter', 'hits', '', [sample(TS, 5)]));
  t.same(summarizeRange(store.db, { name: 'hits', type: 'counter', fromSec: TS, toSec: TS + MINUTE, percentiles: [99] }).summary?.percentiles, { p99: null });
});

t.test('without a tags filter, every tag set of the name is merged', async (t) => {
  const { store } = openStore(t);
  const fast: Sample[] = [];
  const slow: Sample[] = [];
  for (let minute = 0; minute < 3; minute++) {
    for (let i = 1; i <= 100; i++) {
      fast.push(sample(TS + minute * MINUTE, i));
      slow.push(sample(TS + minute * MINUTE, 1000 + i));
    }
  }
  writeAll(store, [
    ...minuteRows('timer', 'api', 'host:a', fast),
    ...minuteRows('timer', 'api', 'host:b', slow),
    ...minuteRows('counter', 'hits', 'host:a', [sample(TS, 3), sample(TS + 60, 4, { rate: 0.5 })]),
    ...minuteRows('counter', 'hits', 'host:b', [sample(TS, 10), sample(TS + 1, 20)]),
    ...minuteRows('gauge', 'queue', 'host:a', [sample(TS, 5, { atMs: TS * 1000 + 30_000 })]),
    ...minuteRows('gauge', 'queue', 'host:b', [sample(TS, 8, { atMs: TS * 1000 + 10_000 })]),
  ]);

  const hits = queryRange(store.db, { name: 'hits', type: 'counter', fromSec: TS, toSec: TS + HOUR, resolution: '1m' });
  t.equal(hits.series, 2);
  t.same(hits.points.map(pick), [
    { ts: TS, value: 33, count: 3, sum: 33, min: null, max: null, last: null },
    { ts: TS + 60, value: 8, count: 2, sum: 8, min: null, max: null, last: null },
  ]);
  t.match(summarizeRange(store.db, { name: 'hits', type: 'counter', fromSec: TS, toSec: TS + HOUR }).summary, { count: 5, sum: 41 });

  const union = [...fast, ...slow].map((s) => s.value).sort((a, b) => a - b);
  const percentiles = [50, 90, 25];
  for (const resolution of ['1m', '1h'] as const) {
    const api = summarizeRange(store.db, { name: 'api', type: 'timer', fromSec: TS, toSec: TS + HOUR, resolution, percentiles });
    t.equal(api.series, 2);
    t.match(api.summary, { count: 600, min: 1, max: 1100, sum: union.reduce((a, b) => a + b, 0) });
    for (const percent of percentiles) withinOnePercent(t, api.summary?.percentiles[`p${percent}`], nearestRank(union, percent), `${resolution} merged p${percent}`);
  }
  // p50 of the union is 100 (rank 300 of 600); the average of the hosts' p50s (50 and 1050) is 550.
  const p50 = summarizeRange(store.db, { name: 'api', type: 'timer', fromSec: TS, toSec: TS + HOUR, percentiles: [50] }).summary?.percentiles['p50'];
  t.ok(typeof p50 === 'number' && p50 < 102, `merged p50 ${p50} is not an average of per-host p50s`);

  // Gauges across tag sets: the newest last value wins.
  t.match(queryRange(store.db, { name: 'queue', type: 'gauge', fromSec: TS, toSec: TS + MINUTE }).points, [{ last: 5, value: 5, min: 5, max: 8, count: 2, sum: 13 }]);
});

t.test('matchTags selects the series carrying all the given tags; tags selects one exactly', async (t) => {
  const { store } = openStore(t);
  const tagSets: [string, number][] = [
    ['env:prod,host:a', 1],
    ['env:dev,host:a', 10],
    ['env:prod,host:b', 100],
    ['', 1000],
    ['envx:prod', 10000],
    ['env:production', 100000],
    ['url:http://x/y', 1000000],
  ];
  writeAll(store, tagSets.flatMap(([tags, value]) => minuteRows('counter', 'c', tags, [sample(TS, value)])));
  // Another name and another type under the same tags are never selected.
  writeAll(store, [...minuteRows('counter', 'other', 'env:prod,host:a', [sample(TS, 7)]), ...minuteRows('gauge', 'c', 'env:prod,host:a', [sample(TS, 7)])]);

  const tagsOf = (ids: number[]): string[] => {
    const statement = store.db.prepare<[number], { tags: string }>('SELECT tags FROM series WHERE id = ?');
    return ids.map((id) => statement.get(id)?.tags ?? '?').sort();
  };
  const sumOf = (selector: { tags?: string; matchTags?: Record<string, string> }): number | null | undefined =>
    summarizeRange(store.db, { name: 'c', type: 'counter', fromSec: TS, toSec: TS + MINUTE, ...selector }).summary?.sum;

  t.same(tagsOf(matchSeries(store.db, { name: 'c', type: 'counter', matchTags: { env: 'prod' } })), ['env:prod,host:a', 'env:prod,host:b']);
  t.equal(sumOf({ matchTags: { env: 'prod' } }), 101);
  t.same(tagsOf(matchSeries(store.db, { name: 'c', type: 'counter', matchTags: { env: 'prod', host: 'a' } })), ['env:prod,host:a']);
  t.equal(sumOf({ matchTags: { env: 'prod', host: 'a' } }), 1);
  t.same(tagsOf(matchSeries(store.db, { name: 'c', type: 'counter', matchTags: { host: 'a' } })), ['env:dev,host:a', 'env:prod,host:a']);
  t.equal(sumOf({ matchTags: { host: 'a' } }), 11);
  t.equal(sumOf({ matchTags: { url: 'http://x/y' } }), 1000000, 'a value containing a colon');
  t.same(matchSeries(store.db, { name: 'c', type: 'counter', matchTags: { env: 'staging' } }), []);
  t.equal(sumOf({ matchTags: { env: 'staging' } }), undefined, 'no matching series: no summary');
  t.equal(matchSeries(store.db, { name: 'c', type: 'counter', matchTags: {} }).length, tagSets.length, 'no conditions: every tag set');
  t.equal(matchSeries(store.db, { name: 'c', type: 'counter' }).length, tagSets.length);
  t.equal(sumOf({}), 1111111, 'no filter: all merged');

  t.same(tagsOf(matchSeries(store.db, { name: 'c', type: 'counter', tags: '' })), [''], 'tags "" is only the untagged series');
  t.equal(sumOf({ tags: '' }), 1000);
  const untagged = queryRange(store.db, { name: 'c', type: 'counter', fromSec: TS, toSec: TS + MINUTE, tags: '' });
  t.equal(untagged.series, 1);
  t.same(untagged.points.map((p) => p.sum), [1000]);
  t.equal(sumOf({ tags: 'env:prod,host:b' }), 100, 'exact tags');
  t.equal(sumOf({ tags: 'env:prod' }), undefined, 'exact tags are not a subset match');
  t.equal(sumOf({ tags: 'host:a,env:prod' }), undefined, 'exact tags are canonical (sorted) only');
});

t.test('no data: empty points and a null summary', async (t) => {
  const { store } = openStore(t);
  writeAll(store, minuteRows('counter', 'c', '', [sample(TS, 1)]));

  const unknown = queryRange(store.db, { name: 'nope', type: 'counter', fromSec: TS, toSec: TS + HOUR });
  t.same(unknown.points, []);
  t.equal(unknown.series, 0);
  t.equal(summarizeRange(store.db, { name: 'nope', type: 'counter', fromSec: TS, toSec: TS + HOUR }).summary, null);

  t.same(queryRange(store.db, { name: 'c', type: 'timer', fromSec: TS, toSec: TS + HOUR }).points, [], 'same name, other type');

  for (const resolution of ['1m', '1h', '1d'] as const) {
    const before = queryRange(store.db, { name: 'c', type: 'counter', fromSec: TS - 3 * DAY, toSec: TS - DAY, resolution });
    t.same(before.points, [], `${resolution}: a range before the data`);
    t.equal(before.series, 1, 'the series matches even when the range is empty');
    const summary = summarizeRange(store.db, { name: 'c', type: 'counter', fromSec: TS + 2 * DAY, toSec: TS + 3 * DAY, resolution });
    t.equal(summary.summary, null, `${resolution}: a range after the data`);
    t.equal(summary.series, 1);
  }
  const { store: empty } = openStore(t);
  t.same(queryRange(empty.db, { name: 'c', type: 'counter', fromSec: TS, toSec: TS + HOUR }).points, [], 'an empty database');
  t.equal(summarizeRange(empty.db, { name: 'c', type: 'counter', fromSec: TS, toSec: TS + HOUR }).summary, null);
});

t.test('sets: an hour is the HLL estimate of the union of its minutes', async (t) => {
  const { store } = openStore(t);
  // Hour 0: three members over three minutes, exact.
  const small = [
    sample(TS, 0, { member: 'alice' }),
    sample(TS + 1, 0, { member: 'bob' }),
    sample(TS + 60, 0, { member: 'bob' }),
    sample(TS + 61, 0, { member: 'carol' }),
    sample(TS + 120, 0, { member: 'alice' }),
  ];
  // Hour 1: 60 minutes of 500 members each, overlapping windows: 20,147 distinct.
  const large: Sample[] = [];
  for (let minute = 0; minute < 60; minute++) {
    for (let i = 0; i < 500; i++) large.push(sample(TS + HOUR + minute * MINUTE, 0, { member: `user-${minute * 333 + i}` }));
  }
  const largeUnion = new Set(large.map((s) => s.member)).size;
  t.equal(largeUnion, 59 * 333 + 500);
  writeAll(store, [...minuteRows('set', 'visitors', '', small), ...minuteRows('set', 'visitors', '', large)]);

  const minutes = queryRange(store.db, { name: 'visitors', type: 'set', fromSec: TS, toSec: TS + 3 * MINUTE, resolution: '1m' });
  t.same(minutes.points.map((p) => [p.value, p.count]), [[2, 2], [2, 2], [1, 1]], 'minutes are exact');

  const hours = queryRange(store.db, { name: 'visitors', type: 'set', fromSec: TS, toSec: TS + 2 * HOUR, resolution: '1h' });
  t.equal(hours.points.length, 2);
  t.match(hours.points[0], { ts: TS, value: 3, count: 5, sum: null, min: null, max: null }, 'a small union is exact');
  const estimate = hours.points[1]?.value as number;
  t.ok(Math.abs(estimate - largeUnion) <= 4 * HLL_STANDARD_ERROR * largeUnion, `hour estimate ${estimate} vs ${largeUnion}`);
  t.not(estimate, 60 * 500, 'not the sum of the minutes');
  t.equal(hours.points[1]?.count, 60 * 500);

  // The day merges the hours' HLLs: small and large share no members.
  const day = queryRange(store.db, { name: 'visitors', type: 'set', fromSec: TS, toSec: TS + DAY, resolution: '1d' });
  const dayValue = day.points[0]?.value as number;
  t.ok(Math.abs(dayValue - (largeUnion + 3)) <= 4 * HLL_STANDARD_ERROR * (largeUnion + 3), `day estimate ${dayValue}`);

  // Summaries at minute resolution merge the exact members.
  t.equal(summarizeRange(store.db, { name: 'visitors', type: 'set', fromSec: TS, toSec: TS + HOUR, resolution: '1m' }).summary?.value, 3);
  t.equal(summarizeRange(store.db, { name: 'visitors', type: 'set', fromSec: TS, toSec: TS + 2 * HOUR, resolution: '1m' }).summary?.value, largeUnion + 3);

  // Across tag sets the HLLs merge too: an overlap counts once.
  writeAll(store, [
    ...minuteRows('set', 'ips', 'host:a', ['1', '2', '3'].map((m, i) => sample(TS + i * MINUTE, 0, { member: m }))),
    ...minuteRows('set', 'ips', 'host:b', ['3', '4'].map((m, i) => sample(TS + i * MINUTE, 0, { member: m }))),
  ]);
  t.equal(queryRange(store.db, { name: 'ips', type: 'set', fromSec: TS, toSec: TS + HOUR, resolution: '1h' }).points[0]?.value, 4);
  t.equal(queryRange(store.db, { name: 'ips', type: 'set', fromSec: TS, toSec: TS + HOUR, resolution: '1h', tags: 'host:a' }).points[0]?.value, 3);
});

t.test('metrics_1h and metrics_1d return what queryRange returns at 1h and 1d', async (t) => {
  const { store } = openStore(t);
  const seeds: [string, number][] = [['', 7], ['host:a', 8], ['host:b', 9]];
  for (const [tags, seed] of seeds) {
    const data = dataset(seed);
    for (const type of ['counter', 'timer', 'gauge', 'set'] as const) writeAll(store, minuteRows(type, `v.${type}`, tags, data[type]));
  }
  interface ViewRow extends Expected {
    name: string;
    tags: string;
    type: MetricType;
    p50: number | null;
    p90: number | null;
    p95: number | null;
    p99: number | null;
  }
  for (const resolution of ['1h', '1d'] as const) {
    const view = `metrics_${resolution}`;
    let compared = 0;
    for (const type of ['counter', 'timer', 'gauge', 'set'] as const) {
      for (const [tags] of seeds) {
        const rows = store.db
          .prepare<[string, string, string], ViewRow>(`SELECT * FROM ${view} WHERE name = ? AND tags = ? AND type = ? ORDER BY ts`)
          .all(`v.${type}`, tags, type);
        const result = queryRange(store.db, { name: `v.${type}`, type, tags, fromSec: TS, toSec: TS + 2 * DAY, resolution, percentiles: [50, 90, 95, 99] });
        t.ok(rows.length > 0);
        t.same(
          rows.map((row) => ({ ts: row.ts, value: row.value, count: row.count, sum: row.sum, min: row.min, max: row.max, last: row.last })),
          result.points.map(pick),
          `${view} ${type} ${tags}`,
        );
        t.same(
          rows.map((row) => [row.p50, row.p90, row.p95, row.p99]),
          result.points.map((p) => [p.percentiles['p50'], p.percentiles['p90'], p.percentiles['p95'], p.percentiles['p99']]),
          `${view} ${type} ${tags} percentiles`,
        );
        compared += rows.length;
      }
    }
    t.ok(compared >= (resolution === '1h' ? 4 * 3 * 7 : 4 * 3 * 2), `${view}: ${compared} rows compared`);
  }
  // And the views agree with the brute-force reference too (counter, one tag set).
  const data = dataset(8);
  t.same(
    store.db.prepare('SELECT ts, value, count, sum, min, max, last FROM metrics_1d WHERE name = ? AND tags = ? ORDER BY ts').all('v.counter', 'host:a'),
    expectedBuckets('counter', data.counter, DAY),
  );
});

t.test('openReadOnly: a missing file is DATTSS_STORE_OPEN; the handle reads but cannot write', async (t) => {
  const dir = tempDir(t);
  let error: unknown;
  try {
    openReadOnly(join(dir, 'missing.db'));
  } catch (caught) {
    error = caught;
  }
  t.ok(error instanceof DattssError, 'a DattssError');
  t.equal((error as DattssError).code, 'DATTSS_STORE_OPEN');
  t.match((error as DattssError).message, /missing\.db/);
  t.ok((error as DattssError).cause !== undefined, 'keeps the cause');
  t.throws(() => openReadOnly(join(dir, 'no', 'such', 'dir', 'x.db')), { code: 'DATTSS_STORE_OPEN' });

  const { store, path } = openStore(t);
  writeAll(store, minuteRows('counter', 'c', 'env:prod', [sample(TS, 2), sample(TS + 60, 3)]));
  const reader = openReadOnly(path);
  t.teardown(() => reader.close());
  t.equal(reader.readonly, true);
  // Beside the open writer (WAL), the reader sees the same data.
  const query = { name: 'c', type: 'counter', fromSec: TS, toSec: TS + HOUR, resolution: '1m' } as const;
  t.same(queryRange(reader, query), queryRange(store.db, query));
  t.equal(queryRange(reader, query).points.length, 2);
  t.throws(() => reader.prepare("INSERT INTO series (type, name, tags, first_seen, last_seen) VALUES ('counter', 'x', '', 0, 0)").run(), {
    code: 'SQLITE_READONLY',
  });
  t.throws(() => reader.exec('DELETE FROM minute_aggregates'), { code: 'SQLITE_READONLY' });
  // Nothing changed.
  t.equal(queryRange(store.db, query).points.length, 2);
  t.equal((store.db.prepare('SELECT count(*) AS n FROM series').get() as { n: number }).n, 1);
});
