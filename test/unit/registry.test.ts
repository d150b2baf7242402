import t from 'tap';
import { CounterPartial, type Partial as MetricPartial, type TimerPartial } from '../../src/aggregate/partial.js';
import { intervalStart, Registry, type RegistryOptions } from '../../src/aggregate/registry.js';
import { RING_SLOTS, slotIndex, type Series } from '../../src/aggregate/series.js';
import { liveView } from '../../src/aggregate/moving-average.js';
import { summarizeMinute } from '../../src/aggregate/summarize.js';
import type { Sample } from '../../src/ingest/parser.js';
import type { MetricType } from '../../src/protocol/metric-type.js';

// The registry's time model and series bookkeeping: which 5-second slot a
// sample lands in, which slots a minute summary and a moving average read,
// gauge deltas, sample rates, the series cap, idle eviction and series identity.

const SEC = 1000;
const INTERVAL_MS = 5 * SEC;
const MINUTE_MS = 60 * SEC;
const M0 = Date.UTC(2026, 0, 5, 10, 20, 0); // a minute start
const OPTIONS: RegistryOptions = { maxSeries: 1000, lateWindowMs: 0, maxSetMembers: 100_000 };

function sample(type: MetricType, name: string, value: number, more: { tags?: string; rate?: number; delta?: boolean; member?: string } = {}): Sample {
  return {
    type,
    name,
    tags: more.tags ?? '',
    value,
    rate: more.rate ?? 1,
    gaugeDelta: more.delta ?? false,
    member: more.member ?? '',
    timestampSec: Number.NaN,
  };
}

function onlySeries(registry: Registry, type: MetricType, name: string, tags = ''): Series {
  const found = [...registry.series(type)].filter((s) => s.name === name && s.tags === tags);
  if (found.length !== 1) throw new Error(`expected one ${type} series ${name} {${tags}}, found ${found.length}`);
  return found[0] as Series;
}

/** Interval starts (ms) of the slots holding data, sorted. */
function usedIntervals(series: Series): number[] {
  return [...series.slotStartMs].filter((ms) => !Number.isNaN(ms)).sort((a, b) => a - b);
}

/** The partial a series holds for exactly this interval, or undefined. */
function partialFor(series: Series, intervalMs: number): MetricPartial | undefined {
  let found: MetricPartial | undefined;
  series.forEachPartial(intervalMs, intervalMs + 1, (p) => (found = p));
  return found;
}

const counterSum = (p: MetricPartial | undefined): number | undefined => (p === undefined ? undefined : (p as CounterPartial).sum);

t.test('samples go into the slot of the current 5-second interval', async (t) => {
  const registry = new Registry(OPTIONS, M0 + 7_300);
  t.equal(registry.currentIntervalMs, M0 + 5_000, 'the interval is aligned down to 5 s');
  t.equal(intervalStart(M0 + 4_999), M0);
  t.equal(intervalStart(M0 + 5_000), M0 + 5_000);
  t.equal(intervalStart(-1), -5_000, 'aligned down before the epoch too');

  t.ok(registry.add(sample('counter', 'hits', 1)));
  t.ok(registry.add(sample('counter', 'hits', 2)));
  const series = onlySeries(registry, 'counter', 'hits');
  t.same(usedIntervals(series), [M0 + 5_000], 'one slot used');
  t.equal(series.slotStartMs[slotIndex(M0 + 5_000)], M0 + 5_000, 'at the slot index of that interval');
  t.equal(counterSum(partialFor(series, M0 + 5_000)), 3);

  registry.advance(M0 + 12_999);
  t.equal(registry.currentIntervalMs, M0 + 10_000);
  registry.add(sample('counter', 'hits', 10));
  t.same(usedIntervals(series), [M0 + 5_000, M0 + 10_000]);
  t.equal(counterSum(partialFor(series, M0 + 5_000)), 3, 'the sealed interval is untouched');
  t.equal(counterSum(partialFor(series, M0 + 10_000)), 10);
  t.equal(series.lastSampleMs, M0 + 10_000, 'lastSampleMs is the interval of the newest sample');
});

t.test('advance never moves backward', async (t) => {
  const registry = new Registry(OPTIONS, M0 + 30_000);
  registry.advance(M0 + 10_000);
  t.equal(registry.currentIntervalMs, M0 + 30_000, 'earlier time: unchanged');
  registry.advance(M0 - 3_600_000);
  t.equal(registry.currentIntervalMs, M0 + 30_000, 'an hour back: unchanged');
  registry.add(sample('counter', 'c', 1));
  t.same(usedIntervals(onlySeries(registry, 'counter', 'c')), [M0 + 30_000], 'samples still go to the newest interval');
  registry.advance(M0 + 34_999);
  t.equal(registry.currentIntervalMs, M0 + 30_000, 'same interval');
  registry.advance(M0 + 35_000);
  t.equal(registry.currentIntervalMs, M0 + 35_000, 'forward works');
  registry.advance(M0 + 86_400_000);
  t.equal(registry.currentIntervalMs, M0 + 86_400_000, 'a day forward in one step');
});

t.test('summarizeMinute takes exactly the 12 partials of its minute', async (t) => {
  // Interval k of the run holds the counter value 2^k, so the sum names the intervals it came from.
  const registry = new Registry(OPTIONS, M0 - INTERVAL_MS);
  const add = (k: number): void => {
    registry.advance(M0 - INTERVAL_MS + k * INTERVAL_MS);
    registry.add(sample('counter', 'bits', 2 ** k));
  };
  // k = 0 is the last interval of the previous minute; k = 1..12 are minute M0.
  for (let k = 0; k <= 12; k++) add(k);
  const series = onlySeries(registry, 'counter', 'bits');
  t.equal(usedIntervals(series).length, RING_SLOTS, 'all thirteen slots used');
  const ofMinute = (2 ** 13 - 1) - 1; // bits 1..12
  t.match(summarizeMinute(series, M0), { tsSec: M0 / 1000, count: 12, sum: ofMinute }, 'M0 without the previous minute\'s last interval');
  t.match(summarizeMinute(series, M0 - MINUTE_MS), { count: 1, sum: 1 }, 'the previous minute sees only its own interval');

  add(13); // the first interval of the next minute reuses the slot of k = 0
  t.match(summarizeMinute(series, M0), { count: 12, sum: ofMinute }, 'M0 without the next minute\'s first interval');
  t.match(summarizeMinute(series, M0 + MINUTE_MS), { tsSec: (M0 + MINUTE_MS) / 1000, count: 1, sum: 2 ** 13 });
  t.equal(summarizeMinute(series, M0 - MINUTE_MS), null, 'the previous minute\'s interval was cleared by the reuse');
  t.equal(summarizeMinute(series, M0 + 2 * MINUTE_MS), null, 'a minute without data has no row');
});

t.test('a slot is cleared when its interval comes round again, 65 s (13 slots) later', async (t) => {
  const registry = new Registry(OPTIONS, M0);
  registry.add(sample('timer', 'lat', 100));
  registry.add(sample('timer', 'lat', 300));
  const series = onlySeries(registry, 'timer', 'lat');

  // One minute later (12 intervals) the slot is a different one: the data is still there.
  registry.advance(M0 + MINUTE_MS);
  registry.add(sample('timer', 'lat', 7));
  t.not(slotIndex(M0 + MINUTE_MS), slotIndex(M0));
  t.match(summarizeMinute(series, M0), { samples: 2, sum: 400, min: 100, max: 300 }, 'M0 intact a minute later');

  // 65 s later the same slot comes round: it is reset before the new sample, not merged into.
  const later = M0 + RING_SLOTS * INTERVAL_MS;
  t.equal(slotIndex(later), slotIndex(M0));
  registry.advance(later);
  registry.add(sample('timer', 'lat', 5));
  const partial = partialFor(series, later) as TimerPartial;
  t.match(partial, { samples: 1, count: 1, sum: 5, sumSquares: 25, min: 5, max: 5 }, 'the reused slot holds only the new sample');
  t.equal(partial.sketch?.count, 1, 'and a fresh sketch');
  t.equal(summarizeMinute(series, M0), null, 'the old interval is gone');
  t.match(summarizeMinute(series, M0 + MINUTE_MS), { samples: 2, sum: 12, min: 5, max: 7 });

  // Clearing is lazy: time passing without samples clears nothing.
  registry.advance(later + 10 * MINUTE_MS);
  t.match(summarizeMinute(series, M0 + MINUTE_MS), { samples: 2 }, 'still readable until its slot is reused by a sample');
});

t.test('gauges: absolute values and deltas on the current value', async (t) => {
  const registry = new Registry(OPTIONS, M0);
  registry.add(sample('gauge', 'g', 10));
  registry.add(sample('gauge', 'g', 5, { delta: true }));
  registry.add(sample('gauge', 'g', -3, { delta: true }));
  const g = onlySeries(registry, 'gauge', 'g');
  t.equal(g.gaugeValue, 12, '10, +5, -3 → 12');
  t.match(partialFor(g, M0), { count: 3, sum: 10 + 15 + 12, min: 10, max: 15, last: 12, lastAtMs: M0 }, 'the partial records the values taken');

  registry.add(sample('gauge', 'fresh', 5, { delta: true }));
  registry.add(sample('gauge', 'fresh.down', -4, { delta: true }));
  t.equal(onlySeries(registry, 'gauge', 'fresh').gaugeValue, 5, 'a delta with no current value starts from 0');
  t.equal(onlySeries(registry, 'gauge', 'fresh.down').gaugeValue, -4);

  // The current value survives across intervals and minutes, with no samples in between.
  registry.advance(M0 + 2 * MINUTE_MS + 20 * SEC);
  registry.add(sample('gauge', 'g', 1, { delta: true }));
  t.equal(g.gaugeValue, 13, 'two minutes later +1 → 13');
  t.match(summarizeMinute(g, M0 + 2 * MINUTE_MS), { count: 1, sum: 13, min: 13, max: 13, last: 13, lastAtMs: M0 + 2 * MINUTE_MS + 20 * SEC });
  t.equal(summarizeMinute(g, M0 + MINUTE_MS), null, 'an idle minute has no row (readers carry the value forward)');

  registry.add(sample('gauge', 'g', 0));
  registry.add(sample('gauge', 'g', -2, { delta: true }));
  t.equal(g.gaugeValue, -2, 'an absolute 0 is a value like any other: a delta then starts from it');
  t.equal(liveView(g, registry.currentIntervalMs).current, -2);
});

t.test('sample rates: a counter adds value/rate, a timer counts 1/rate', async (t) => {
  const registry = new Registry(OPTIONS, M0);
  registry.add(sample('counter', 'c', 2, { rate: 0.5 }));
  registry.add(sample('counter', 'c', 3, { rate: 0.1 }));
  registry.add(sample('counter', 'c', 1));
  const c = summarizeMinute(onlySeries(registry, 'counter', 'c'), M0);
  t.equal(c?.sum, 2 / 0.5 + 3 / 0.1 + 1, 'sum of value/rate');
  t.equal(c?.count, 1 / 0.5 + 1 / 0.1 + 1, 'count of 1/rate');

  registry.add(sample('timer', 't', 100, { rate: 0.25 }));
  registry.add(sample('timer', 't', 50, { rate: 1 }));
  t.match(summarizeMinute(onlySeries(registry, 'timer', 't'), M0), {
    count: 5,
    samples: 2,
    sum: 150,
    min: 50,
    max: 100,
  }, 'the values count once each in sum/min/max; count is Σ 1/rate');

  registry.add(sample('set', 's', 0, { member: 'a', rate: 0.5 }));
  t.match(summarizeMinute(onlySeries(registry, 'set', 's'), M0), { count: 1, members: ['a'] }, 'a set ignores the rate');
});

t.test("a counter's slot sums what a CounterPartial would, from samples and merged partials alike", async (t) => {
  const registry = new Registry(OPTIONS, M0);
  const reference = new CounterPartial();
  const rates = [1, 0.1, 0.3, 0.7];
  for (let i = 0; i < 20; i++) {
    const rate = rates[i % rates.length] as number;
    registry.add(sample('counter', 'hits', i * 1.25, { rate }));
    reference.add(i * 1.25, rate);
    if (i % 5 === 0) {
      const pushed = new CounterPartial();
      pushed.add(i + 0.5, 0.3);
      registry.addPartial('hits', '', pushed);
      reference.merge(pushed);
    }
  }
  const series = onlySeries(registry, 'counter', 'hits');
  t.same(partialFor(series, M0), reference, 'count and sum equal to the last bit');
  t.throws(() => series.partialAt(M0), TypeError, 'a counter has no partial object to add to');
});

t.test('maxSetMembers bounds the distinct members a set takes per minute', async (t) => {
  const registry = new Registry({ ...OPTIONS, maxSetMembers: 3, lateWindowMs: 10 * MINUTE_MS }, M0);
  const add = (member: string): boolean => registry.add(sample('set', 'users', 0, { member }));
  t.ok(add('a') && add('b'), 'a and b in the first interval');
  registry.advance(M0 + INTERVAL_MS);
  t.ok(add('a'), 'a again in a later interval: not new to the minute');
  t.ok(add('c'), 'the third distinct member');
  t.notOk(add('d'), 'a fourth is dropped');
  t.ok(add('b') && add('c'), 'members seen earlier in the minute still count');
  t.equal(registry.setMembersDropped, 1);
  t.match(summarizeMinute(onlySeries(registry, 'set', 'users'), M0), { count: 6, members: ['a', 'b', 'c'] });

  registry.advance(M0 + MINUTE_MS);
  t.ok(add('d') && add('e') && add('f'), 'a new minute starts afresh');
  t.notOk(add('g'));
  t.equal(registry.setMembersDropped, 2);

  const late = (member: string): boolean => registry.add({ ...sample('set', 'users', 0, { member }), timestampSec: M0 / 1000 + 1 });
  t.ok(late('x') && late('y') && late('z') && late('x'), 'late members of an earlier minute, up to the bound');
  t.notOk(late('w'));
  t.equal(registry.setMembersDropped, 3);
});

t.test('the series cap drops samples of new series and counts them; existing series keep accepting', async (t) => {
  const registry = new Registry({ ...OPTIONS, maxSeries: 3 }, M0);
  t.ok(registry.add(sample('counter', 'a', 1)));
  t.ok(registry.add(sample('timer', 'b', 1)));
  t.ok(registry.add(sample('gauge', 'c', 1)));
  t.equal(registry.size, 3);
  t.notOk(registry.add(sample('counter', 'd', 1)), 'a fourth series is refused');
  t.notOk(registry.add(sample('counter', 'a', 1, { tags: 'x:y' })), 'a new tag set is a new series, refused too');
  t.notOk(registry.add(sample('set', 'a', 0, { member: 'm' })), 'and so is a new type for an existing name');
  t.equal(registry.seriesDropped, 3);
  t.equal(registry.size, 3);
  t.same([...registry.series()].map((s) => s.name).sort(), ['a', 'b', 'c']);

  t.ok(registry.add(sample('counter', 'a', 5)), 'an existing series still accepts');
  t.ok(registry.add(sample('gauge', 'c', 2, { delta: true })));
  t.equal(registry.seriesDropped, 3, 'accepted samples are not counted as dropped');
  t.match(summarizeMinute(onlySeries(registry, 'counter', 'a'), M0), { sum: 6 });
  t.equal(onlySeries(registry, 'gauge', 'c').gaugeValue, 3);

  // Room freed by eviction lets a new series in.
  registry.advance(M0 + MINUTE_MS);
  registry.add(sample('counter', 'a', 1));
  t.equal(registry.evictIdle(M0 + MINUTE_MS), 2);
  t.ok(registry.add(sample('counter', 'd', 1)));
  t.equal(registry.size, 2);
});

t.test('evictIdle removes only idle series and keeps size right', async (t) => {
  const registry = new Registry(OPTIONS, M0);
  registry.add(sample('counter', 'old', 1));
  registry.add(sample('gauge', 'old.gauge', 42));
  registry.advance(M0 + 30 * SEC);
  registry.add(sample('timer', 'mid', 1));
  registry.advance(M0 + 90 * SEC);
  registry.add(sample('counter', 'new', 1));
  registry.add(sample('set', 'new', 0, { member: 'x' }));
  t.equal(registry.size, 5);

  t.equal(registry.evictIdle(M0), 0, 'nothing is older than M0');
  t.equal(registry.size, 5);
  t.equal(registry.evictIdle(M0 + 30 * SEC), 2, 'series last sampled before M0+30s');
  t.equal(registry.size, 3);
  t.same([...registry.series()].map((s) => `${s.type}:${s.name}`).sort(), ['counter:new', 'set:new', 'timer:mid']);
  t.same(registry.snapshot(), [...registry.series()], 'snapshot(): the same series, in the same order, as an array');
  t.equal(registry.evictIdle(M0 + 30 * SEC), 0, 'idempotent');
  t.equal(registry.evictIdle(M0 + 90 * SEC), 1, 'the boundary is exclusive: a series sampled at beforeMs stays');
  t.same([...registry.series()].map((s) => `${s.type}:${s.name}`).sort(), ['counter:new', 'set:new']);
  t.equal(registry.size, 2);

  // An evicted series comes back empty: a fresh gauge, no old data.
  registry.add(sample('gauge', 'old.gauge', 1, { delta: true }));
  t.equal(onlySeries(registry, 'gauge', 'old.gauge').gaugeValue, 1, 'the delta starts from 0 again');
  t.equal(registry.size, 3);
  t.equal(registry.evictIdle(M0 + 10 * MINUTE_MS), 3);
  t.equal(registry.size, 0);
  t.same([...registry.series()], []);
});

t.test('series identity is (type, name, tags)', async (t) => {
  const registry = new Registry(OPTIONS, M0);
  registry.add(sample('counter', 'api', 1));
  registry.add(sample('counter', 'api', 2, { tags: 'env:prod' }));
  registry.add(sample('counter', 'api', 4, { tags: 'env:prod,host:a' }));
  registry.add(sample('timer', 'api', 8));
  registry.add(sample('gauge', 'api', 16));
  registry.add(sample('set', 'api', 0, { member: 'u' }));
  registry.add(sample('counter', 'api', 32, { tags: 'env:prod' }));
  registry.add(sample('counter', 'api.x', 64)); // a different name
  t.equal(registry.size, 7);
  t.equal(summarizeMinute(onlySeries(registry, 'counter', 'api'), M0)?.sum, 1);
  t.equal(summarizeMinute(onlySeries(registry, 'counter', 'api', 'env:prod'), M0)?.sum, 34, 'same (type, name, tags) is one series');
  t.equal(summarizeMinute(onlySeries(registry, 'counter', 'api', 'env:prod,host:a'), M0)?.sum, 4);
  t.equal(summarizeMinute(onlySeries(registry, 'timer', 'api'), M0)?.sum, 8);
  t.equal(summarizeMinute(onlySeries(registry, 'gauge', 'api'), M0)?.last, 16);
  t.same(summarizeMinute(onlySeries(registry, 'set', 'api'), M0)?.members, ['u']);
  t.equal([...registry.series('counter')].length, 4, 'series(type) lists one type');

  t.ok(registry.remove(onlySeries(registry, 'counter', 'api', 'env:prod')), 'remove one');
  t.equal(registry.size, 6);
  t.equal(summarizeMinute(onlySeries(registry, 'counter', 'api'), M0)?.sum, 1, 'the untagged series is untouched');
  t.equal([...registry.series('counter')].filter((s) => s.tags === 'env:prod').length, 0);
});

t.test("a parser's key id finds a series only when its type, name and tags match", async (t) => {
  const registry = new Registry(OPTIONS, M0);
  const sumOf = (type: MetricType, name: string): number | null | undefined => summarizeMinute(onlySeries(registry, type, name), M0)?.sum;
  registry.add(sample('counter', 'a', 1), 0);
  registry.add(sample('counter', 'a', 2), 0);
  // The parser gives ids again from 0 after its table starts over, and one id to a name's every type.
  registry.add(sample('counter', 'b', 4), 0);
  registry.add(sample('timer', 'b', 8), 0);
  registry.add(sample('counter', 'a', 16), 0);
  registry.add(sample('counter', 'a', 32, { tags: 'env:prod' }), 0);
  registry.add(sample('counter', 'a', 64), 5);
  t.equal(registry.size, 4);
  t.equal(sumOf('counter', 'a'), 83, 'id 0 and then id 5 led to the same series');
  t.equal(sumOf('counter', 'b'), 4);
  t.equal(sumOf('timer', 'b'), 8);
  t.equal(summarizeMinute(onlySeries(registry, 'counter', 'a', 'env:prod'), M0)?.sum, 32);
});

t.test('a series evicted or removed is not found again through its key id', async (t) => {
  const registry = new Registry(OPTIONS, M0);
  registry.add(sample('counter', 'a', 1), 0);
  registry.add(sample('counter', 'b', 2), 1);
  registry.advance(M0 + MINUTE_MS);
  t.equal(registry.evictIdle(M0 + MINUTE_MS), 2);
  registry.add(sample('counter', 'a', 4), 0);
  t.equal(registry.size, 1, 'a new series, counted');
  t.equal(summarizeMinute(onlySeries(registry, 'counter', 'a'), M0 + MINUTE_MS)?.sum, 4, 'holding only the new sample');
  t.ok(registry.remove(onlySeries(registry, 'counter', 'a')));
  registry.add(sample('counter', 'a', 8), 0);
  t.equal(registry.size, 1);
  t.equal(summarizeMinute(onlySeries(registry, 'counter', 'a'), M0 + MINUTE_MS)?.sum, 8, 'after remove too');
});

t.test('liveView: moving averages over the 12 sealed intervals before the current one', async (t) => {
  // Intervals k = 0..13 from M0; values encode k so that the window is visible in the result.
  const registry = new Registry(OPTIONS, M0);
  const at = (k: number): number => M0 + k * INTERVAL_MS;
  const timerValues = new Map<number, number[]>();
  for (let k = 0; k <= 13; k++) {
    registry.advance(at(k));
    registry.add(sample('counter', 'c', 2 ** k));
    const tv = [k * 10 + 1, k * 10 + 2, (k + 1) * 1000];
    timerValues.set(k, tv);
    for (const v of tv) registry.add(sample('timer', 't', v, { rate: 0.5 }));
    registry.add(sample('gauge', 'g', k % 2 === 0 ? 100 + k : -k));
    registry.add(sample('set', 's', 0, { member: `m${k}` }));
    registry.add(sample('set', 's', 0, { member: 'always' }));
  }
  const now = at(13);
  t.equal(registry.currentIntervalMs, now);

  // Window: k = 1..12. k = 0 is more than a minute old (and its slot is now k = 13's); k = 13 is current.
  const c = liveView(onlySeries(registry, 'counter', 'c'), now);
  const windowSum = 2 ** 13 - 2; // Σ 2^k, k = 1..12
  t.equal(c.intervalStartMs, now);
  t.equal(c.movingAverage.ratePerSec, windowSum / 60, 'counter: Σ over the 12 sealed intervals / 60 s');
  t.equal(c.movingAverage.count, 12);
  t.equal(c.current, 2 ** 13, 'counter current: the sum so far this interval');
  t.match(c.movingAverage, { mean: null, p99: null, min: null, max: null, uniques: null });

  const tl = liveView(onlySeries(registry, 'timer', 't'), now);
  const windowValues = [...timerValues].filter(([k]) => k >= 1 && k <= 12).flatMap(([, vs]) => vs).sort((a, b) => a - b);
  const mean = windowValues.reduce((a, b) => a + b, 0) / windowValues.length;
  t.equal(tl.movingAverage.count, windowValues.length * 2, 'timer count is rate-adjusted');
  t.ok(Math.abs((tl.movingAverage.mean ?? NaN) - mean) <= 1e-9 * mean, `timer mean ${tl.movingAverage.mean} = ${mean}`);
  t.equal(tl.movingAverage.min, 11, 'timer min of k = 1');
  t.equal(tl.movingAverage.max, 13_000, 'timer max of k = 12');
  const p99 = windowValues[Math.ceil(0.99 * windowValues.length) - 1] as number;
  t.ok(Math.abs((tl.movingAverage.p99 ?? NaN) - p99) <= 0.01 * p99, `timer p99 ${tl.movingAverage.p99} within 1% of ${p99}`);
  t.equal(tl.current, (131 + 132 + 14_000) / 3, 'timer current: the mean this interval');
  t.equal(tl.movingAverage.ratePerSec, null);

  const g = liveView(onlySeries(registry, 'gauge', 'g'), now);
  const gaugeWindow = Array.from({ length: 12 }, (_, i) => i + 1).map((k) => (k % 2 === 0 ? 100 + k : -k));
  t.equal(g.movingAverage.mean, gaugeWindow.reduce((a, b) => a + b, 0) / 12, 'gauge: mean of the values taken');
  t.equal(g.movingAverage.min, -11);
  t.equal(g.movingAverage.max, 112);
  t.equal(g.movingAverage.count, 12);
  t.equal(g.current, -13, 'gauge current: the current value');
  t.equal(g.movingAverage.p99, null);

  const s = liveView(onlySeries(registry, 'set', 's'), now);
  t.equal(s.movingAverage.uniques, 13, 'set: m1..m12 and "always"');
  t.equal(s.movingAverage.count, 24, 'set count: adds in the window');
  t.equal(s.current, 2, 'set current: uniques this interval');

  // One interval on, with nothing received yet: the window is k = 2..13 and the current interval is empty.
  registry.advance(at(14));
  const c2 = liveView(onlySeries(registry, 'counter', 'c'), at(14));
  t.equal(c2.movingAverage.ratePerSec, (2 ** 14 - 4) / 60, 'the window slid by one interval');
  t.equal(c2.current, 0, 'counter current: 0 before any sample');
  t.equal(liveView(onlySeries(registry, 'timer', 't'), at(14)).current, null, 'timer current: null before any sample');
  t.equal(liveView(onlySeries(registry, 'gauge', 'g'), at(14)).current, -13, 'gauge current: the value carries over');
  t.equal(liveView(onlySeries(registry, 'set', 's'), at(14)).current, 0);
  t.equal(liveView(onlySeries(registry, 'gauge', 'g'), at(14)).movingAverage.min, -13, 'k = 13 is now sealed and in the window');

  // Long idle: everything slides out of the window.
  registry.advance(at(14) + 2 * MINUTE_MS);
  const idle = liveView(onlySeries(registry, 'timer', 't'), registry.currentIntervalMs);
  t.match(idle.movingAverage, { count: 0, mean: null, p99: null, min: null, max: null });
  t.equal(liveView(onlySeries(registry, 'counter', 'c'), registry.currentIntervalMs).movingAverage.ratePerSec, 0);
  t.equal(liveView(onlySeries(registry, 'set', 's'), registry.currentIntervalMs).movingAverage.uniques, 0);
  const idleGauge = liveView(onlySeries(registry, 'gauge', 'g'), registry.currentIntervalMs);
  t.match(idleGauge.movingAverage, { count: 0, mean: null, min: null, max: null });
  t.equal(idleGauge.current, -13, 'a gauge keeps its current value while idle');
});
