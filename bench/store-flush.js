// Times a minute flush in its two steps, summarizing partials into minute rows
// and SqliteStore.writeMinute (minute rows merged into their hour and day
// rows), for N series: 60% counters, 30% timers with 20 values, 10% gauges.
// Usage: npm run build && node bench/store-flush.js [series=10000] [minutes=5]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CounterPartial, GaugePartial, TimerPartial } from '../dist/aggregate/partial.js';
import { aggregateOf } from '../dist/aggregate/summarize.js';
import { SqliteStore } from '../dist/store/sqlite-store.js';

const series = Number(process.argv[2] ?? 10_000);
const minutes = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'dattss-bench-'));
const store = new SqliteStore({
  path: join(dir, 'bench.db'),
  busyTimeoutMs: 1000,
  retention: { minuteDays: 8, hourDays: 400, dayDays: 0 },
});

function partialsFor(tsSec) {
  const partials = [];
  for (let i = 0; i < series; i++) {
    const kind = i % 10;
    let partial;
    if (kind < 6) {
      partial = new CounterPartial();
      partial.add(i, 1);
    } else if (kind < 9) {
      partial = new TimerPartial();
      for (let j = 0; j < 20; j++) partial.add(1 + ((i * 7 + j * 13) % 500), 1);
    } else {
      partial = new GaugePartial();
      partial.add(i, tsSec * 1000);
    }
    partials.push(partial);
  }
  return partials;
}

const startSec = Math.floor(Date.UTC(2026, 0, 1) / 1000);
const summarizeTimings = [];
const timings = [];
for (let minute = 0; minute < minutes; minute++) {
  const tsSec = startSec + minute * 60;
  const partials = partialsFor(tsSec);
  let began = performance.now();
  const rows = partials.map((partial, i) => aggregateOf(partial, `bench.series${i}`, '', tsSec));
  summarizeTimings.push(performance.now() - began);
  began = performance.now();
  store.writeMinute(rows);
  timings.push(performance.now() - began);
}
store.close();
rmSync(dir, { recursive: true, force: true });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const runs = (values) => values.map((ms) => ms.toFixed(0)).join(', ');
console.log(
  `minute flush, ${series} series: summarize median ${median(summarizeTimings).toFixed(0)} ms (runs: ${runs(summarizeTimings)} ms), ` +
    `SQLite write median ${median(timings).toFixed(0)} ms (runs: ${runs(timings)} ms) on node ${process.version}`,
);
