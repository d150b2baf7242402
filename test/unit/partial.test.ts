import t, { type Test } from 'tap';
import {
  CounterPartial,
  createPartial,
  GaugePartial,
  mergePartial,
  SetPartial,
  TimerPartial,
  type Partial as MetricPartial,
} from '../../src/aggregate/partial.js';
import { SketchBins, createSketch, decodeSketch, encodeSketch, quantileOf, type QuantileSketch } from '../../src/aggregate/sketch.js';
import { aggregateOf } from '../../src/aggregate/summarize.js';
import { METRIC_TYPES, PARTIAL_INTERVAL_MS, SKETCH_RELATIVE_ACCURACY, type MetricType } from '../../src/protocol/metric-type.js';

// The per-type partials against a brute-force reference on random data: the
// raw samples are split into random partials, the partials are merged in
// random orders and groupings, and every merge result must equal what the raw
// samples give directly. This is what makes a minute (the merge of twelve
// partials), an hour (the merge of minutes) and a row written twice agree.

/** mulberry32: a tiny seeded PRNG in [0, 1), so every run draws the same data. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  };
}

type Rng = () => number;
const intIn = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
/** A sample rate in (0, 1]: 1 - [0, 1) never gives 0. Half of them are the common exact rates. */
const rateOf = (rng: Rng): number => (rng() < 0.5 ? ([1, 0.5, 0.25, 0.1][intIn(rng, 0, 3)] as number) : 1 - rng());

function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = intIn(rng, 0, i);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const QUANTILES = [50, 90, 95, 99] as const;
const TRIALS = 12;

// ---------------------------------------------------------------------------
// Random samples, grouped into partials.

interface RawSample {
  value: number;
  rate: number;
  member: string;
}

/** One partial's worth of samples; gauges also carry the interval start they were taken in. */
interface Group {
  samples: RawSample[];
  atMs: number;
}

function valueOf(rng: Rng, type: MetricType): number {
  switch (type) {
    case 'counter':
      // Increments may be negative or fractional (statsd allows both).
      return rng() < 0.8 ? intIn(rng, -5, 100) : (rng() - 0.3) * 1000;
    case 'timer':
      // Zeros, and otherwise log-uniform over 0.001 .. 1e6 (nine decades).
      return rng() < 0.1 ? 0 : 10 ** (-3 + 9 * rng());
    case 'gauge':
      return rng() < 0.5 ? intIn(rng, -1000, 1000) : (rng() - 0.5) * 1e4;
    case 'set':
      return 0;
  }
}

function randomGroups(rng: Rng, type: MetricType): Group[] {
  const n = intIn(rng, 200, 3000);
  const groupCount = intIn(rng, 3, 24);
  const groups: Group[] = [];
  // Few distinct interval starts, so that several partials tie on lastAtMs.
  for (let g = 0; g < groupCount; g++) groups.push({ samples: [], atMs: 1_700_000_000_000 + PARTIAL_INTERVAL_MS * intIn(rng, 0, 4) });
  for (let i = 0; i < n; i++) {
    const sample: RawSample = {
      value: valueOf(rng, type),
      rate: type === 'counter' || type === 'timer' ? rateOf(rng) : 1,
      member: `m${intIn(rng, 0, 400)}`,
    };
    (groups[intIn(rng, 0, groupCount - 1)] as Group).samples.push(sample);
  }
  // Some partials are empty (an interval without samples); they must merge as identities.
  groups.push({ samples: [], atMs: 1_700_000_000_000 });
  return groups;
}

function buildPartial(type: MetricType, group: Group): MetricPartial {
  const partial = createPartial(type);
  for (const sample of group.samples) {
    switch (partial.type) {
      case 'counter':
      case 'timer':
        partial.add(sample.value, sample.rate);
        break;
      case 'gauge':
        partial.add(sample.value, group.atMs);
        break;
      case 'set':
        partial.add(sample.member);
        break;
    }
  }
  return partial;
}

// ---------------------------------------------------------------------------
// The brute-force reference over the raw samples.

interface Reference {
  count: number;
  /** Σ|term| of `count`, the scale of its rounding error. */
  countScale: number;
  samples: number;
  sum: number;
  sumScale: number;
  sumSquares: number;
  min: number;
  max: number;
  last: number;
  lastAtMs: number;
  sorted: number[];
  members: Set<string>;
}

function reference(type: MetricType, groups: Group[]): Reference {
  const ref: Reference = {
    count: 0,
    countScale: 0,
    samples: 0,
    sum: 0,
    sumScale: 0,
    sumSquares: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    last: 0,
    lastAtMs: Number.NEGATIVE_INFINITY,
    sorted: [],
    members: new Set(),
  };
  for (const group of groups) {
    for (const { value, rate, member } of group.samples) {
      ref.samples++;
      switch (type) {
        case 'counter':
          ref.count += 1 / rate;
          ref.sum += value / rate;
          ref.sumScale += Math.abs(value / rate);
          break;
        case 'timer':
          ref.count += 1 / rate;
          ref.sum += value;
          ref.sumScale += value;
          ref.sumSquares += value * value;
          break;
        case 'gauge':
          ref.count++;
          ref.sum += value;
          ref.sumScale += Math.abs(value);
          break;
        case 'set':
          ref.count++;
          ref.members.add(member);
          break;
      }
      if (type === 'counter' || type === 'timer') ref.countScale += 1 / rate;
      ref.sorted.push(value);
    }
    // A gauge's last value is that of the partial with the latest interval;
    // between partials of the same interval, the larger value (the documented tie rule).
    const lastSample = group.samples.at(-1);
    if (lastSample !== undefined && (group.atMs > ref.lastAtMs || (group.atMs === ref.lastAtMs && lastSample.value > ref.last))) {
      ref.last = lastSample.value;
      ref.lastAtMs = group.atMs;
    }
  }
  ref.sorted.sort((a, b) => a - b);
  ref.min = ref.sorted[0] ?? Number.POSITIVE_INFINITY;
  ref.max = ref.sorted.at(-1) ?? Number.NEGATIVE_INFINITY;
  return ref;
}

/**
 * Float sums are compared with a relative tolerance of 1e-9 of the sum of the
 * magnitudes of their terms: floating-point addition is not associative, so a
 * different merge order may round differently in the last bits (each addition
 * errs by at most 2^-53 of the running magnitude, far below 1e-9 for the few
 * thousand terms here), while any real merge bug (a lost or doubled partial)
 * is off by a whole term.
 */
function closeTo(actual: number, expected: number, scale: number): boolean {
  return Math.abs(actual - expected) <= 1e-9 * Math.max(scale, Math.abs(expected), Number.MIN_VALUE);
}

/**
 * The exact quantile the sketch must approximate. DDSketch's own
 * getValueAtQuantile(q) reads the 0-based rank floor(q·(n−1)) (its
 * `rank = quantile * (count - 1)` then `keyAtRank(rank)`, the first bin whose
 * running count exceeds the rank); quantileOf translates that to the
 * nearest-rank definition users mean: the value at 1-based rank ceil(q·n) of
 * the sorted samples. Computed in integers (percent × n / 100) so that no
 * float product lands just above an integer.
 */
function exactQuantile(sorted: readonly number[], percent: number): number {
  const rank = Math.max(1, Math.ceil((percent * sorted.length) / 100));
  return sorted[rank - 1] as number;
}

/** DDSketch's relative-accuracy guarantee: |estimate − exact| ≤ 1% of |exact| (plus float noise). */
function withinSketchError(estimate: number, exact: number): boolean {
  return Math.abs(estimate - exact) <= SKETCH_RELATIVE_ACCURACY * Math.abs(exact) * (1 + 1e-9);
}

// ---------------------------------------------------------------------------
// Merge strategies. Each builds fresh partials from the groups, since merge mutates its target.

type Strategy = (type: MetricType, groups: Group[], rng: Rng) => MetricPartial;

const foldInto = (type: MetricType, parts: MetricPartial[]): MetricPartial => {
  const target = createPartial(type);
  for (const part of parts) mergePartial(target, part);
  return target;
};

const inOrder: Strategy = (type, groups) => foldInto(type, groups.map((g) => buildPartial(type, g)));

const strategies: Record<string, Strategy> = {
  'in order': inOrder,
  'reversed': (type, groups) => foldInto(type, groups.map((g) => buildPartial(type, g)).reverse()),
  'shuffled': (type, groups, rng) => foldInto(type, shuffled(rng, groups).map((g) => buildPartial(type, g))),
  'into the first partial': (type, groups, rng) => {
    const [first, ...rest] = shuffled(rng, groups).map((g) => buildPartial(type, g));
    for (const part of rest) mergePartial(first as MetricPartial, part);
    return first as MetricPartial;
  },
  'random tree': (type, groups, rng) => {
    // Repeatedly merge a random partial into another random one: random order and grouping.
    const parts = groups.map((g) => buildPartial(type, g));
    while (parts.length > 1) {
      const i = intIn(rng, 0, parts.length - 1);
      let j = intIn(rng, 0, parts.length - 2);
      if (j >= i) j++;
      mergePartial(parts[i] as MetricPartial, parts[j] as MetricPartial);
      parts.splice(j, 1);
    }
    return parts[0] as MetricPartial;
  },
};

/** The groups cut into three random contiguous runs a, b, c (each possibly empty). */
function thirds(rng: Rng, groups: Group[]): [Group[], Group[], Group[]] {
  const cut1 = intIn(rng, 0, groups.length);
  const cut2 = intIn(rng, cut1, groups.length);
  return [groups.slice(0, cut1), groups.slice(cut1, cut2), groups.slice(cut2)];
}

const merged = (left: MetricPartial, right: MetricPartial): MetricPartial => {
  mergePartial(left, right);
  return left;
};

// ---------------------------------------------------------------------------
// Checking one merge result against the reference.

function checkAgainstReference(t: Test, type: MetricType, partial: MetricPartial, ref: Reference, label: string): void {
  t.equal(partial.type, type, `${label}: type`);
  switch (partial.type) {
    case 'counter':
      t.ok(closeTo(partial.count, ref.count, ref.countScale), `${label}: count ${partial.count} ≈ ${ref.count}`);
      t.ok(closeTo(partial.sum, ref.sum, ref.sumScale), `${label}: sum ${partial.sum} ≈ ${ref.sum}`);
      break;
    case 'timer': {
      t.ok(closeTo(partial.count, ref.count, ref.countScale), `${label}: count ${partial.count} ≈ ${ref.count}`);
      t.equal(partial.samples, ref.samples, `${label}: samples`);
      t.ok(closeTo(partial.sum, ref.sum, ref.sumScale), `${label}: sum ${partial.sum} ≈ ${ref.sum}`);
      t.ok(closeTo(partial.sumSquares, ref.sumSquares, ref.sumSquares), `${label}: sum of squares`);
      t.equal(partial.min, ref.min, `${label}: min`);
      t.equal(partial.max, ref.max, `${label}: max`);
      const sketch = partial.sketch;
      if (sketch === null) {
        t.fail(`${label}: a timer with samples has a sketch`);
        break;
      }
      t.equal(sketch.count, ref.samples, `${label}: sketch count`);
      for (const percent of QUANTILES) {
        const estimate = quantileOf(sketch, percent / 100, partial.min, partial.max);
        const exact = exactQuantile(ref.sorted, percent);
        t.ok(withinSketchError(estimate, exact), `${label}: p${percent} ${estimate} within 1% of ${exact}`);
      }
      break;
    }
    case 'gauge':
      t.equal(partial.count, ref.count, `${label}: count`);
      t.ok(closeTo(partial.sum, ref.sum, ref.sumScale), `${label}: sum ${partial.sum} ≈ ${ref.sum}`);
      t.equal(partial.min, ref.min, `${label}: min`);
      t.equal(partial.max, ref.max, `${label}: max`);
      t.equal(partial.last, ref.last, `${label}: last is the latest partial's`);
      t.equal(partial.lastAtMs, ref.lastAtMs, `${label}: lastAtMs`);
      break;
    case 'set':
      t.equal(partial.count, ref.count, `${label}: count`);
      t.equal(partial.members.size, ref.members.size, `${label}: unique count`);
      t.same([...partial.members].sort(), [...ref.members].sort(), `${label}: members`);
      break;
  }
}

/** What must be bit-identical whatever the merge order: integer counts, min/max, the sketch bins. */
function orderFreeParts(partial: MetricPartial): unknown {
  switch (partial.type) {
    case 'counter':
      return {};
    case 'timer':
      return {
        samples: partial.samples,
        min: partial.min,
        max: partial.max,
        sketch: partial.sketch === null ? null : [...encodeSketch(partial.sketch)],
        quantiles: QUANTILES.map((p) => (partial.sketch === null ? null : quantileOf(partial.sketch, p / 100, partial.min, partial.max))),
      };
    case 'gauge':
      return { count: partial.count, min: partial.min, max: partial.max, last: partial.last, lastAtMs: partial.lastAtMs };
    case 'set':
      return { count: partial.count, members: [...partial.members].sort() };
  }
}

for (const type of METRIC_TYPES) {
  t.test(`${type}: merge in any order and grouping equals the brute force over the raw samples`, async (t) => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const seed = 0x5eed + trial * 7919 + type.length;
      const rng = seeded(seed);
      const groups = randomGroups(rng, type);
      const ref = reference(type, groups);
      const results: [string, MetricPartial][] = [];
      for (const [name, strategy] of Object.entries(strategies)) results.push([name, strategy(type, groups, rng)]);

      // Associativity and commutativity on three runs: ((a·b)·c) = (a·(b·c)) = ((c·a)·b).
      const [ga, gb, gc] = thirds(rng, groups);
      const run = (gs: Group[]): MetricPartial => inOrder(type, gs, rng);
      results.push(['((a·b)·c)', merged(merged(run(ga), run(gb)), run(gc))]);
      results.push(['(a·(b·c))', merged(run(ga), merged(run(gb), run(gc)))]);
      results.push(['((c·a)·b)', merged(merged(run(gc), run(ga)), run(gb))]);

      for (const [name, partial] of results) checkAgainstReference(t, type, partial, ref, `seed ${seed}, ${name}`);
      const [firstName, first] = results[0] as [string, MetricPartial];
      for (const [name, partial] of results.slice(1)) {
        t.same(orderFreeParts(partial), orderFreeParts(first), `seed ${seed}: ${name} and ${firstName} agree exactly`);
      }
    }
  });
}

t.test('merging leaves the source partial unchanged, and later adds to the target do not leak into it', async (t) => {
  const rng = seeded(42);
  for (const type of METRIC_TYPES) {
    const group: Group = { samples: [], atMs: 5_000 };
    for (let i = 0; i < 50; i++) group.samples.push({ value: valueOf(rng, type), rate: 1, member: `m${i}` });
    const source = buildPartial(type, group);
    const before = orderFreeParts(source);
    const beforeAggregate = aggregateOf(source, 'x', '', 0);
    const target = createPartial(type); // empty: the sketch is copied, not shared
    mergePartial(target, source);
    const more = buildPartial(type, { samples: [{ value: 1234.5, rate: 1, member: 'new' }], atMs: 10_000 });
    mergePartial(target, more);
    switch (target.type) {
      case 'counter':
      case 'timer':
        target.add(7, 1);
        break;
      case 'gauge':
        target.add(7, 15_000);
        break;
      case 'set':
        target.add('later');
        break;
    }
    t.same(orderFreeParts(source), before, `${type}: source unchanged`);
    t.same(aggregateOf(source, 'x', '', 0), beforeAggregate, `${type}: source aggregate unchanged`);
  }
});

t.test('the raw DDSketch reads rank floor(q·(n−1)); quantileOf reads the nearest rank ceil(q·n)', async (t) => {
  // Small n, where the two definitions differ by whole samples.
  const values = [10, 30];
  const sketch = createSketch();
  for (const v of values) sketch.accept(v);
  t.ok(withinSketchError(sketch.getValueAtQuantile(0.99), 10), 'DDSketch p99 of [10, 30] is about 10');
  t.ok(withinSketchError(quantileOf(sketch, 0.99, 10, 30), 30), 'quantileOf p99 of [10, 30] is about 30');
  t.ok(withinSketchError(quantileOf(sketch, 0.5, 10, 30), 10), 'quantileOf p50 of [10, 30] is 10 (rank ceil(1) = 1)');

  const thousand = createSketch();
  for (let v = 1; v <= 1000; v++) thousand.accept(v);
  t.ok(withinSketchError(quantileOf(thousand, 0.99, 1, 1000), 990), 'p99 of 1..1000 is 990, not 991');
  t.ok(withinSketchError(quantileOf(thousand, 0.9, 1, 1000), 900), 'p90 of 1..1000 is 900');
  t.ok(withinSketchError(thousand.getValueAtQuantile(0.99), 990), 'raw: rank floor(0.99 × 999) = 989 → 990');

  // On random data, both definitions hold at every quantile.
  const rng = seeded(7);
  for (const n of [1, 2, 3, 7, 10, 99, 100, 101, 1000, 2345]) {
    const s = createSketch();
    const raw: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = valueOf(rng, 'timer');
      raw.push(v);
      s.accept(v);
    }
    raw.sort((a, b) => a - b);
    const min = raw[0] as number;
    const max = raw.at(-1) as number;
    for (const percent of [0, 1, 25, 50, 90, 95, 99, 100]) {
      const q = percent / 100;
      const rawExact = raw[Math.floor(q * (n - 1))] as number;
      t.ok(withinSketchError(s.getValueAtQuantile(q), rawExact), `n=${n} p${percent}: raw DDSketch within 1% of rank floor(q(n−1))`);
      const estimate = quantileOf(s, q, min, max);
      t.ok(withinSketchError(estimate, exactQuantile(raw, percent)), `n=${n} p${percent}: quantileOf within 1% of rank ceil(qn)`);
      t.ok(estimate >= min && estimate <= max, `n=${n} p${percent}: clamped into [min, max]`);
    }
  }
});

t.test('reset() returns each partial to its empty state', async (t) => {
  const rng = seeded(99);
  for (const type of METRIC_TYPES) {
    const group: Group = { samples: [], atMs: 25_000 };
    for (let i = 0; i < 30; i++) group.samples.push({ value: valueOf(rng, type), rate: rateOf(rng), member: `m${i}` });
    const partial = buildPartial(type, group);
    mergePartial(partial, buildPartial(type, group));
    t.not(partial.count, 0, `${type}: holds samples before reset`);
    partial.reset();
    t.strictSame(partial, createPartial(type), `${type}: equal to a fresh partial`);
    t.equal(aggregateOf(partial, 'x', '', 0), null, `${type}: no row after reset`);
    // And behaves like a fresh one afterwards.
    const again = buildPartial(type, group);
    mergePartial(partial, again);
    t.same(aggregateOf(partial, 'x', '', 0), aggregateOf(again, 'x', '', 0), `${type}: fresh again after reset`);
  }
  // The fields each class resets, spelled out.
  const timer = new TimerPartial();
  timer.add(5, 0.5);
  timer.reset();
  t.strictSame(
    { count: timer.count, samples: timer.samples, sum: timer.sum, sumSquares: timer.sumSquares, min: timer.min, max: timer.max, sketch: timer.sketch },
    { count: 0, samples: 0, sum: 0, sumSquares: 0, min: Infinity, max: -Infinity, sketch: null },
  );
  const gauge = new GaugePartial();
  gauge.add(-3, 5_000);
  gauge.reset();
  t.strictSame(
    { count: gauge.count, sum: gauge.sum, min: gauge.min, max: gauge.max, last: gauge.last, lastAtMs: gauge.lastAtMs },
    { count: 0, sum: 0, min: Infinity, max: -Infinity, last: 0, lastAtMs: -Infinity },
  );
  const set = new SetPartial();
  set.add('a');
  set.reset();
  t.equal(set.members.size, 0);
  t.equal(set.count, 0);
  const counter = new CounterPartial();
  counter.add(3, 0.1);
  counter.reset();
  t.strictSame({ count: counter.count, sum: counter.sum }, { count: 0, sum: 0 });
});

t.test('aggregateOf: null for an empty partial, and the documented nulls per type', async (t) => {
  for (const type of METRIC_TYPES) t.equal(aggregateOf(createPartial(type), 'n', '', 60), null, `${type}: empty → null`);

  const counter = new CounterPartial();
  counter.add(3, 0.5); // count 2, sum 6
  counter.add(1, 1);
  t.strictSame(aggregateOf(counter, 'c', 'env:prod', 120), {
    type: 'counter',
    name: 'c',
    tags: 'env:prod',
    tsSec: 120,
    count: 3,
    samples: 3,
    sum: 7,
    sumSquares: null,
    min: null,
    max: null,
    last: null,
    lastAtMs: null,
    p50: null,
    p90: null,
    p95: null,
    p99: null,
    sketch: null,
    members: null,
  });

  const timer = new TimerPartial();
  for (const v of [10, 20, 30, 40]) timer.add(v, 0.5);
  const timerRow = aggregateOf(timer, 't', '', 180);
  t.match(timerRow, {
    type: 'timer',
    count: 8,
    samples: 4,
    sum: 100,
    sumSquares: 3000,
    min: 10,
    max: 40,
    last: null,
    lastAtMs: null,
    members: null,
  });
  t.ok(timerRow?.sketch instanceof Uint8Array, 'timer: sketch bytes');
  const percentiles = [timerRow?.p50, timerRow?.p90, timerRow?.p95, timerRow?.p99];
  const exact = [20, 40, 40, 40]; // nearest rank: ceil(0.5·4) = 2nd, ceil(0.9·4) = 4th, …
  percentiles.forEach((p, i) => t.ok(typeof p === 'number' && withinSketchError(p, exact[i] as number), `timer percentile ${i}: ${p}`));

  const gauge = new GaugePartial();
  gauge.add(5, 1_000);
  gauge.add(-2, 6_000);
  t.strictSame(aggregateOf(gauge, 'g', '', 240), {
    type: 'gauge',
    name: 'g',
    tags: '',
    tsSec: 240,
    count: 2,
    samples: 2,
    sum: 3,
    sumSquares: null,
    min: -2,
    max: 5,
    last: -2,
    lastAtMs: 6_000,
    p50: null,
    p90: null,
    p95: null,
    p99: null,
    sketch: null,
    members: null,
  });

  const set = new SetPartial();
  for (const m of ['a', 'b', 'a', 'c']) set.add(m);
  const setRow = aggregateOf(set, 's', '', 300);
  t.match(setRow, {
    type: 'set',
    count: 4,
    samples: 4,
    sum: null,
    sumSquares: null,
    min: null,
    max: null,
    last: null,
    lastAtMs: null,
    p50: null,
    p90: null,
    p95: null,
    p99: null,
    sketch: null,
  });
  t.same([...(setRow?.members ?? [])].sort(), ['a', 'b', 'c'], 'set: the exact members');

  // A counter whose increments sum to zero still had samples: it gets a row.
  const zero = new CounterPartial();
  zero.add(0, 1);
  t.match(aggregateOf(zero, 'z', '', 0), { count: 1, sum: 0 });
});

t.test('stored sketch bins merge, encode and give percentiles as one DDSketch of all the values does', async (t) => {
  const rng = seeded(77);
  for (let trial = 0; trial < 24; trial++) {
    // Odd trials weight values (as sample rates do) by amounts whose sums are exact in binary,
    // so the counts are fractional, take the float encoding and still compare exactly.
    const weights = trial % 2 === 1 ? [1, 0.5, 2.5, 0.25, 10] : [1];
    // The reference accepts every value itself: DDSketch.merge drops the other sketch's
    // negative bins (DataDog/sketches-js#22), which the bins must not.
    const reference = createSketch();
    const bins = SketchBins.empty();
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (let p = 0; p < 3; p++) {
      const part = createSketch();
      const n = intIn(rng, 0, 300); // now and then an empty part
      for (let i = 0; i < n; i++) {
        const r = rng();
        const magnitude = 10 ** (-2 + 6 * rng());
        const value = r < 0.1 ? 0 : r < 0.4 ? -magnitude : magnitude;
        const weight = weights[intIn(rng, 0, weights.length - 1)] as number;
        part.accept(value, weight);
        reference.accept(value, weight);
        min = Math.min(min, value);
        max = Math.max(max, value);
      }
      bins.merge(SketchBins.decode(encodeSketch(part)));
    }
    t.same([...bins.encode()], [...encodeSketch(reference)], `trial ${trial}: the merged bins encode as the whole`);
    t.equal(bins.count, reference.count, `trial ${trial}: count`);
    if (reference.count === 0) continue;
    for (const q of [0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1]) {
      t.equal(bins.quantile(q, min, max), quantileOf(reference, q, min, max), `trial ${trial}: q ${q}`);
    }
    t.equal(SketchBins.decode(bins.encode()).quantile(0.99, min, max), bins.quantile(0.99, min, max), `trial ${trial}: p99 survives encoding`);
  }
  t.equal(SketchBins.empty().count, 0);
  t.throws(() => SketchBins.decode(Uint8Array.of(9)), /format byte 9/);
  t.throws(() => SketchBins.decode(Uint8Array.of(1, 0, 3)), /truncated/);
});

t.test('the encoded sketch round-trips through decodeSketch and still merges', async (t) => {
  const rng = seeded(2024);
  for (let trial = 0; trial < 6; trial++) {
    const groups = randomGroups(rng, 'timer');
    const ref = reference('timer', groups);
    const whole = inOrder('timer', groups, rng) as TimerPartial;
    const sketch = whole.sketch as QuantileSketch;
    const bytes = encodeSketch(sketch);
    const decoded = decodeSketch(bytes);
    t.equal(decoded.count, sketch.count, 'count survives');
    t.equal(decoded.zeroCount, sketch.zeroCount, 'zero count survives');
    t.same([...encodeSketch(decoded)], [...bytes], 're-encoding gives the same bytes');
    for (const percent of QUANTILES) {
      const q = percent / 100;
      t.equal(quantileOf(decoded, q, whole.min, whole.max), quantileOf(sketch, q, whole.min, whole.max), `p${percent} identical after decoding`);
    }

    // Decoded halves merge (both directions, into an empty and into a decoded sketch) to the whole.
    const cut = intIn(rng, 0, groups.length);
    const left = inOrder('timer', groups.slice(0, cut), rng) as TimerPartial;
    const right = inOrder('timer', groups.slice(cut), rng) as TimerPartial;
    const encode = (p: TimerPartial): QuantileSketch => (p.sketch === null ? createSketch() : decodeSketch(encodeSketch(p.sketch)));
    const intoDecoded = encode(left);
    intoDecoded.merge(encode(right));
    const intoEmpty = createSketch();
    intoEmpty.merge(encode(right));
    intoEmpty.merge(encode(left));
    for (const combined of [intoDecoded, intoEmpty]) {
      t.same([...encodeSketch(combined)], [...bytes], 'merged decoded halves encode like the whole');
      for (const percent of QUANTILES) {
        const estimate = quantileOf(combined, percent / 100, ref.min, ref.max);
        t.ok(withinSketchError(estimate, exactQuantile(ref.sorted, percent)), `merged decoded p${percent} within 1%`);
      }
    }

    // A timer partial carrying a decoded sketch (as a stored row read back would) is a merge
    // target like any other and keeps accepting values: its decoded bins grow as needed.
    const carried = new TimerPartial();
    carried.merge(right);
    carried.sketch = encode(right);
    carried.merge(left);
    carried.add(1e6, 1);
    carried.add(0.0005, 1);
    const extra: Group = { samples: [{ value: 1e6, rate: 1, member: '' }, { value: 0.0005, rate: 1, member: '' }], atMs: 0 };
    const expected = inOrder('timer', [...groups, extra], rng) as TimerPartial;
    t.same([...encodeSketch(carried.sketch)], [...encodeSketch(expected.sketch as QuantileSketch)], 'decoded sketch merges and accepts further values');
    t.equal(carried.samples, ref.samples + 2);
  }

  // Non-integer bin counts (weighted values) take the float encoding and survive too.
  const weighted = createSketch();
  weighted.accept(3, 0.25);
  weighted.accept(0, 1.5);
  weighted.accept(1000, 2);
  const back = decodeSketch(encodeSketch(weighted));
  t.equal(encodeSketch(weighted)[0], 2, 'float format byte');
  t.equal(back.count, weighted.count);
  t.equal(back.zeroCount, 1.5);
  t.equal(back.getValueAtQuantile(0.9), weighted.getValueAtQuantile(0.9));

  t.throws(() => decodeSketch(Uint8Array.of(9)), /not a dattss sketch/, 'unknown format byte');
  t.throws(() => decodeSketch(Uint8Array.of(1)), /truncated/, 'truncated');
  t.throws(() => decodeSketch(Uint8Array.of(1, 0, 0, 0, 0)), /trailing/, 'trailing bytes');
});

t.test('a gauge merge keeps the latest last value whichever side holds it; ties take the larger value', async (t) => {
  const at = (value: number, atMs: number): GaugePartial => {
    const g = new GaugePartial();
    g.add(value, atMs);
    return g;
  };
  const cases: [GaugePartial[], number][] = [
    [[at(1, 5_000), at(2, 10_000)], 2],
    [[at(2, 10_000), at(1, 5_000)], 2],
    [[at(-7, 10_000), at(3, 10_000)], 3],
    [[at(3, 10_000), at(-7, 10_000)], 3],
    [[new GaugePartial(), at(-7, 10_000), new GaugePartial()], -7],
  ];
  for (const [parts, last] of cases) {
    const target = new GaugePartial();
    for (const part of parts) target.merge(part);
    t.equal(target.last, last);
  }
});

t.test('a timer keeps its first 32 values exactly and then a sketch; every mix merges like one sketch', async (t) => {
  const values = (n: number, offset: number): number[] => Array.from({ length: n }, (_, i) => 1 + ((i * 37 + offset) % 997));
  const timerOf = (list: number[]): TimerPartial => {
    const partial = new TimerPartial();
    for (const value of list) partial.add(value, 1);
    return partial;
  };
  const reference = (list: number[]): QuantileSketch => {
    const sketch = createSketch();
    for (const value of list) sketch.accept(value);
    return sketch;
  };
  t.equal(new TimerPartial().sketch, null, 'no value, no sketch');
  for (const [a, b] of [[3, 5], [20, 20], [31, 1], [32, 1], [40, 3], [3, 40], [100, 200]] as const) {
    const left = values(a, 1);
    const right = values(b, 500);
    const merged = timerOf(left);
    merged.merge(timerOf(right));
    const expected = reference([...left, ...right]);
    for (const q of [0.5, 0.9, 0.99]) {
      t.equal(
        quantileOf(merged.sketch as QuantileSketch, q, merged.min, merged.max),
        quantileOf(expected, q, merged.min, merged.max),
        `${a} + ${b} values: q${q} as one sketch of all of them`,
      );
    }
    t.equal(merged.sketch?.count, a + b, `${a} + ${b}: every value in the distribution`);
  }
  const replaced = timerOf(values(5, 0));
  replaced.sketch = reference([7, 7, 7]);
  replaced.add(9, 1);
  t.equal(replaced.sketch?.count, 4, 'a replaced sketch drops the kept values and takes later ones');
  replaced.reset();
  t.equal(replaced.sketch, null, 'reset empties it');
  replaced.add(3, 1);
  t.equal(replaced.sketch?.count, 1, 'and the slot is reused');
});
