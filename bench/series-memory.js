// Memory per live series at steady state: N series of one type, each sampled
// in every interval of its ring (a full minute plus the current interval), the
// registry alone. Reports heap + external bytes per series after a full GC,
// then the same for a mixed population (60% counters, 25% timers, 10% gauges,
// 5% sets) with the process's RSS. By default a timer gets 4 values an
// interval and the other types one sample; with a density, every series gets
// that many samples an interval (25 is the soak's 0.5M lines/s over 100k
// series; a set's members then come from 50 values, as bench/sender.c sends).
// Usage: npm run build && node --expose-gc bench/series-memory.js [series=100000] [density]
import { Registry } from '../dist/aggregate/registry.js';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const series = Number(process.argv[2] ?? 100_000);
const density = process.argv[3] === undefined ? null : Number(process.argv[3]);
const INTERVAL_MS = 5_000;
const INTERVALS = 13;
const TIMER_VALUES_PER_INTERVAL = 4;
const SET_MEMBERS = density === null ? 7 : 50;

function settledBytes() {
  globalThis.gc();
  globalThis.gc();
  // external includes the ArrayBuffers' backing stores (process.memoryUsage().arrayBuffers).
  const { heapUsed, external } = process.memoryUsage();
  return heapUsed + external;
}

function sample(type, name, value, member) {
  return { type, name, tags: '', value, rate: 1, gaugeDelta: false, member, timestampSec: Number.NaN };
}

const TYPES = {
  counter: (i) => sample('counter', `bench.counter.${i}`, 1, ''),
  timer: (i, j) => sample('timer', `bench.timer.${i}`, 1 + ((i * 7 + j * 13) % 500), ''),
  gauge: (i, j) => sample('gauge', `bench.gauge.${i}`, i + j, ''),
  set: (i, j) => sample('set', `bench.set.${i}`, 0, `member${(i + j * 13) % SET_MEMBERS}`),
};

/** Fills a registry with `count` series, their type chosen by `typeOf(i)`; returns it (kept alive by the caller). */
function fill(count, typeOf) {
  const startMs = Date.UTC(2026, 0, 1);
  const registry = new Registry({ maxSeries: count + 1, lateWindowMs: 600_000, maxSetMembers: 100_000 }, startMs);
  for (let interval = 0; interval < INTERVALS; interval++) {
    registry.advance(startMs + interval * INTERVAL_MS);
    for (let i = 0; i < count; i++) {
      const make = TYPES[typeOf(i)];
      const repeats = density ?? (typeOf(i) === 'timer' ? TIMER_VALUES_PER_INTERVAL : 1);
      for (let j = 0; j < repeats; j++) registry.add(make(i, interval * repeats + j));
    }
  }
  return registry;
}

/** Bytes per series of a registry filled with `typeOf`; the registry is released before returning. */
function measure(typeOf) {
  const before = settledBytes();
  const registry = fill(series, typeOf);
  const perSeries = (settledBytes() - before) / registry.size;
  return { perSeries, rss: process.memoryUsage().rss };
}

const kb = (bytes) => `${(bytes / 1024).toFixed(2)} KB`;
const perInterval = density === null ? `${TIMER_VALUES_PER_INTERVAL} values a timer, 1 sample other types` : `${density} samples`;
console.log(`memory per live series, ${series} series, ${INTERVALS} intervals each, ${perInterval} an interval, node ${process.version}`);
for (const type of Object.keys(TYPES)) console.log(`  ${type.padEnd(8)} ${kb(measure(() => type).perSeries)}`);
// Out of every 20 series: 12 counters, 5 timers, 2 gauges, 1 set.
const mixOf = (i) => (i % 20 < 12 ? 'counter' : i % 20 < 17 ? 'timer' : i % 20 < 19 ? 'gauge' : 'set');
const mixed = measure(mixOf);
console.log(`  mixed    ${kb(mixed.perSeries)}; process RSS with them ${Math.round(mixed.rss / 2 ** 20)} MiB`);
