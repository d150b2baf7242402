// Times a minute flush in its two steps, summarizing partials into minute rows
// and SqliteStore.writeMinute (minute rows merged into their hour and day
// rows), for N series: 60% counters, 30% timers with 20 values, 10% gauges.
// With `aged`, the database first gets 2 hours of settled minute rows, 3 days
// of hour and day rows and the first 30 minutes of the open hour for every series, so
// each series' rows fill pages of their own as after days of running (a fresh
// database flatters every write, bench/README.md); the minutes timed are the
// open hour's next ones, and then the hour is settled and timed.
// Usage: npm run build && node bench/store-flush.js [series=10000] [minutes=5] [aged]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CounterPartial, GaugePartial, TimerPartial } from '../dist/aggregate/partial.js';
import { encodeSketch } from '../dist/aggregate/sketch.js';
import { aggregateOf } from '../dist/aggregate/summarize.js';
import { SqliteStore } from '../dist/store/sqlite-store.js';

const series = Number(process.argv[2] ?? 10_000);
const minutes = Number(process.argv[3] ?? 5);
const aged = process.argv[4] === 'aged';
const dir = mkdtempSync(join(tmpdir(), 'dattss-bench-'));
const open = () => new SqliteStore({ path: join(dir, 'bench.db'), busyTimeoutMs: 1000, retention: { minuteDays: 8, hourDays: 400, dayDays: 0 } });
let store = open();

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

/** Bytes this process has had written to disk (Linux), WAL and checkpoints alike; NaN elsewhere. */
function bytesWritten() {
  try {
    return Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))[1]);
  } catch {
    return Number.NaN;
  }
}

const startSec = Math.floor(Date.UTC(2026, 0, 1) / 1000);
const kindOf = (i) => `CASE WHEN ${i} % 10 < 6 THEN 'counter' WHEN ${i} % 10 < 9 THEN 'timer' ELSE 'gauge' END`;

/** An encoded sketch of `minutes` minutes of a timer of this bench (the same 20 values each minute). */
function sketchOf(minutes) {
  const timer = new TimerPartial();
  for (let m = 0; m < minutes; m++) for (let j = 0; j < 20; j++) timer.add(1 + ((j * 13) % 500), 1);
  return Buffer.from(encodeSketch(timer.sketch));
}

/** Rows of `count` buckets of `step` seconds from `firstSec` for every series, in the table's key order, as SQLite likes. */
function fillRows(table, firstSec, step, count, sketch, timeFirst) {
  store.db
    .prepare(
      `WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < ${series - 1}),
    k(y) AS (SELECT 0 UNION ALL SELECT y + 1 FROM k WHERE y < ${count - 1})
    INSERT INTO ${table} (series_id, ts, count, samples, sum, sum_squares, min, max, last, last_at_ms, p50, p90, p95, p99, sketch)
    SELECT x + 1, ${firstSec} + y * ${step}, 20, 20, 5000, 1e6, 1, 500, 250, 0, 250, 450, 475, 495,
      CASE ${kindOf('x')} WHEN 'timer' THEN ? END
    FROM i, k ORDER BY ${timeFirst ? 'y, x' : 'x, y'}`,
    )
    .run(sketch);
}

const OPEN_MINUTES = 30;

if (aged) {
  const began = performance.now();
  store.db.exec(`WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < ${series - 1})
    INSERT INTO series (id, type, name, tags, first_seen, last_seen)
    SELECT x + 1, ${kindOf('x')}, 'bench.series' || x, '', ${startSec - 3 * 86400}, ${startSec - 60} FROM i`);
  // Sketches as this bench's timers make them, so that the open hour and day rows merge as in a daemon.
  fillRows('minute_aggregates', startSec - 7200, 60, 120, sketchOf(1), false);
  fillRows('recent_minute_aggregates', startSec, 60, OPEN_MINUTES, sketchOf(1), true);
  // Hour and day rows up to the open ones, which its first 30 minutes made.
  fillRows('hour_aggregates', startSec - 72 * 3600, 3600, 73, sketchOf(60), true);
  fillRows('day_aggregates', startSec - 3 * 86400, 86400, 4, sketchOf(1440), true);
  store.db.prepare('UPDATE minute_settle SET settled_before = ?').run(startSec);
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  // Opened again, as a daemon restarted on this file: it remembers the series of the last hour.
  store.close();
  store = open();
  console.log(
    `aged: 2 h of settled minute rows, 3 days of hour and day rows and ${OPEN_MINUTES} recent minutes for ${series} series in ${((performance.now() - began) / 1000).toFixed(0)} s`,
  );
}
const summarizeTimings = [];
const timings = [];
const mibWritten = [];
for (let minute = 0; minute < minutes; minute++) {
  const tsSec = startSec + ((aged ? OPEN_MINUTES : 0) + minute) * 60;
  const partials = partialsFor(tsSec);
  let began = performance.now();
  const rows = partials.map((partial, i) => aggregateOf(partial, `bench.series${i}`, '', tsSec));
  summarizeTimings.push(performance.now() - began);
  began = performance.now();
  const bytesBefore = bytesWritten();
  store.writeMinute(rows);
  timings.push(performance.now() - began);
  mibWritten.push((bytesWritten() - bytesBefore) / 2 ** 20);
}
if (aged) {
  const began = performance.now();
  const bytesBefore = bytesWritten();
  const moved = store.settle(startSec + 3600 + 300, { budgetMs: Number.POSITIVE_INFINITY, sliceIds: 200 });
  const ms = performance.now() - began;
  const perHour = (ms / (OPEN_MINUTES + minutes)) * 60;
  console.log(
    `settling ${moved} minute rows (${OPEN_MINUTES + minutes} minutes): ${ms.toFixed(0)} ms, ${((bytesWritten() - bytesBefore) / 2 ** 20).toFixed(0)} MiB written; ` +
      `an hour's about ${perHour.toFixed(0)} ms, ${(perHour / 60).toFixed(0)} ms a minute`,
  );
}
store.close();
rmSync(dir, { recursive: true, force: true });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const runs = (values) => values.map((value) => value.toFixed(0)).join(', ');
console.log(
  `minute flush, ${series} series${aged ? ' (aged)' : ''}: summarize median ${median(summarizeTimings).toFixed(0)} ms (runs: ${runs(summarizeTimings)} ms), ` +
    `SQLite write median ${median(timings).toFixed(0)} ms (runs: ${runs(timings)} ms), ${runs(mibWritten)} MiB written to disk, on node ${process.version}`,
);
