import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CounterPartial, GaugePartial, SetPartial, TimerPartial, type Partial } from '../../src/aggregate/partial.js';
import { HLL_STANDARD_ERROR } from '../../src/aggregate/hll.js';
import { aggregateOf, type MinuteAggregate } from '../../src/aggregate/summarize.js';
import type { MetricType } from '../../src/protocol/metric-type.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/daemon.js';
import { prng } from '../helpers/prng.js';

// Property test: hour and day rollups equal a brute-force aggregation of the
// raw samples, whatever order the minutes arrive in and however many writes
// each minute is split into.

const RETENTION = { minuteDays: 8, hourDays: 400, dayDays: 0 };
// 22:00 UTC, so the 3 hours simulated cross a day boundary.
const START_SEC = Date.UTC(2026, 2, 1, 22, 0, 0) / 1000;
const MINUTES = 180;

interface RawSample {
  type: MetricType;
  minute: number;
  value: number;
  rate: number;
  member: string;
  atMs: number;
}

function makeSamples(random: () => number): RawSample[] {
  const samples: RawSample[] = [];
  const perType: [MetricType, number][] = [['counter', 1500], ['timer', 3000], ['gauge', 800], ['set', 1500]];
  for (const [type, n] of perType) {
    for (let i = 0; i < n; i++) {
      const minute = Math.floor(random() * MINUTES);
      samples.push({
        type,
        minute,
        value: type === 'timer' ? Math.round(random() ** 3 * 5000 * 1000) / 1000 : Math.round((random() * 200 - 50) * 10) / 10,
        rate: type === 'counter' || type === 'timer' ? [1, 0.5, 0.25, 0.1][Math.floor(random() * 4)] as number : 1,
        member: `user-${Math.floor(random() * 400)}`,
        atMs: (START_SEC + minute * 60) * 1000 + i, // distinct, so "last" is well defined
      });
    }
  }
  return samples;
}

function partialOf(type: MetricType, samples: RawSample[]): Partial {
  switch (type) {
    case 'counter': {
      const p = new CounterPartial();
      for (const s of samples) p.add(s.value, s.rate);
      return p;
    }
    case 'timer': {
      const p = new TimerPartial();
      for (const s of samples) p.add(s.value, s.rate);
      return p;
    }
    case 'gauge': {
      const p = new GaugePartial();
      for (const s of [...samples].sort((a, b) => a.atMs - b.atMs)) p.add(s.value, s.atMs);
      return p;
    }
    case 'set': {
      const p = new SetPartial();
      for (const s of samples) p.add(s.member);
      return p;
    }
  }
}

/** Every minute of every series split into 1–3 writes, all writes shuffled. */
function writesFor(samples: RawSample[], random: () => number): MinuteAggregate[] {
  const writes: MinuteAggregate[] = [];
  const groups = new Map<string, RawSample[][]>();
  for (const sample of samples) {
    const key = `${sample.type}/${sample.minute}`;
    let split = groups.get(key);
    if (split === undefined) groups.set(key, (split = Array.from({ length: 1 + Math.floor(random() * 3) }, () => [])));
    (split[Math.floor(random() * split.length)] as RawSample[]).push(sample);
  }
  for (const [key, split] of groups) {
    const [type, minute] = key.split('/') as [MetricType, string];
    for (const group of split) {
      if (group.length === 0) continue;
      writes.push(aggregateOf(partialOf(type, group), `prop.${type}`, 'env:test', START_SEC + Number(minute) * 60) as MinuteAggregate);
    }
  }
  for (let i = writes.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [writes[i], writes[j]] = [writes[j] as MinuteAggregate, writes[i] as MinuteAggregate];
  }
  return writes;
}

interface Row {
  type: MetricType;
  ts: number;
  value: number | null;
  count: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

function storeWith(t: Test, writes: MinuteAggregate[], random: () => number): SqliteStore {
  const store = new SqliteStore({ path: join(tempDir(t), 'rollup.db'), busyTimeoutMs: 1000, retention: RETENTION });
  t.teardown(() => store.close());
  // Random batch sizes: one transaction may hold rows of several minutes.
  for (let i = 0; i < writes.length; ) {
    const size = 1 + Math.floor(random() * 20);
    store.writeMinute(writes.slice(i, i + size));
    i += size;
  }
  return store;
}

function nearestRank(sorted: number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
}

function closeTo(actual: number | null, expected: number, relative: number): boolean {
  return actual !== null && Math.abs(actual - expected) <= relative * Math.max(1, Math.abs(expected));
}

for (const seed of [1, 2, 3]) {
  t.test(`rollups equal brute force over the raw samples (seed ${seed})`, async (t) => {
    const random = prng(seed);
    const samples = makeSamples(random);
    const store = storeWith(t, writesFor(samples, random), random);

    for (const [view, seconds] of [['metrics_1h', 3600], ['metrics_1d', 86400], ['metrics_1m', 60]] as const) {
      const rows = store.db.prepare(`SELECT * FROM ${view} WHERE name LIKE 'prop.%'`).all() as Row[];
      const buckets = new Map<string, RawSample[]>();
      for (const s of samples) {
        const ts = Math.floor((START_SEC + s.minute * 60) / seconds) * seconds;
        const key = `${s.type}/${ts}`;
        buckets.set(key, [...(buckets.get(key) ?? []), s]);
      }
      t.equal(rows.length, buckets.size, `${view}: one row per series and bucket`);
      let checked = 0;
      for (const row of rows) {
        const raw = buckets.get(`${row.type}/${row.ts}`) ?? [];
        const values = raw.map((s) => s.value);
        const where = `${view} ${row.type} @${row.ts}`;
        switch (row.type) {
          case 'counter':
            t.ok(closeTo(row.value, raw.reduce((a, s) => a + s.value / s.rate, 0), 1e-9), `${where} sum`);
            t.ok(closeTo(row.count, raw.reduce((a, s) => a + 1 / s.rate, 0), 1e-9), `${where} count`);
            break;
          case 'timer': {
            const sorted = [...values].sort((a, b) => a - b);
            t.ok(closeTo(row.count, raw.reduce((a, s) => a + 1 / s.rate, 0), 1e-9), `${where} count`);
            t.ok(closeTo(row.sum, values.reduce((a, v) => a + v, 0), 1e-9), `${where} sum`);
            t.equal(row.min, sorted[0], `${where} min`);
            t.equal(row.max, sorted.at(-1), `${where} max`);
            for (const [column, q] of [['p50', 0.5], ['p90', 0.9], ['p99', 0.99]] as const) {
              t.ok(closeTo(row[column], nearestRank(sorted, q), 0.01), `${where} ${column} ${row[column]} ≈ ${nearestRank(sorted, q)}`);
            }
            break;
          }
          case 'gauge': {
            const newest = raw.reduce((a, s) => (s.atMs > a.atMs ? s : a));
            t.equal(row.last, newest.value, `${where} last`);
            t.equal(row.min, Math.min(...values), `${where} min`);
            t.equal(row.max, Math.max(...values), `${where} max`);
            t.equal(row.count, raw.length, `${where} count`);
            break;
          }
          case 'set': {
            const exact = new Set(raw.map((s) => s.member)).size;
            if (view === 'metrics_1m') t.equal(row.value, exact, `${where} exact uniques`);
            else t.ok(Math.abs((row.value as number) - exact) <= 1 + 4 * HLL_STANDARD_ERROR * exact, `${where} uniques ${row.value} ≈ ${exact}`);
            t.equal(row.count, raw.length, `${where} count`);
            break;
          }
        }
        checked++;
      }
      t.equal(checked, buckets.size);
    }
  });
}

t.test('the same samples in a different order and split give identical rollups', async (t) => {
  const samples = makeSamples(prng(7));
  const a = storeWith(t, writesFor(samples, prng(8)), prng(9));
  const b = storeWith(t, writesFor(samples, prng(10)), prng(11));
  const read = (store: SqliteStore): unknown[] =>
    store.db
      .prepare(`SELECT type, ts, value, count, min, max, last, p50, p90, p95, p99 FROM metrics_1h ORDER BY type, ts`)
      .all()
      .map((row) => roundFloats(row as Record<string, unknown>));
  t.same(read(a), read(b));
});

/** Sums of floats depend on addition order in the last bits; 12 significant digits do not. */
function roundFloats(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toPrecision(12)) : v]));
}
