import t from 'tap';
import BetterSqlite3 from 'better-sqlite3';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

const MINUTE_MS = 60_000;
const M0 = Date.UTC(2026, 0, 5, 10, 20, 0); // a minute start

t.test('|T samples merge into their minute, even one already written; too old or future ones are dropped', async (t) => {
  const clock = new FakeClock(M0 + 2_000);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { lateSampleWindowSec: 300 });
  const port = addresses.udp.port;
  const sec = (ms: number): number => Math.floor(ms / 1000);

  await sendAndSettle(daemon, port, ['late.hits:1|c\nlate.lat:10|ms']);
  clock.advance(2 * MINUTE_MS); // minutes M0 and M0+1 are written
  await daemon.written();
  t.match(readMetrics(dbPath, "name = 'late.hits'"), [{ ts: sec(M0), value: 1 }]);

  await sendAndSettle(daemon, port, [
    `late.hits:5|c|T${sec(M0) + 30}`, // 2 minutes late: into M0, already written
    `late.lat:30|ms|#a:b|T${sec(M0) + 59}`, // a new tagged series, straight into M0
    `late.hits:2|c|T${sec(M0 + MINUTE_MS) + 1}`, // into M0+1, which had no row
    `late.hits:7|c|T${sec(clock.now())}`, // the current minute: counted now
    `late.hits:100|c|T${sec(M0) - 600}`, // older than the 300 s window
    `late.hits:100|c|T${sec(clock.now()) + 3600}`, // an hour in the future
  ]);
  t.match(daemon.stats(), { badLines: 0 });
  clock.advance(5_000); // the next tick writes the late samples
  await daemon.written();
  t.same(
    readMetrics(dbPath, "name = 'late.hits'").map((row) => [row.ts, row.value]),
    [
      [sec(M0), 6],
      [sec(M0 + MINUTE_MS), 2],
    ],
    'merged into the written minute and the empty one',
  );
  t.match(readMetrics(dbPath, "name = 'late.lat'"), [
    { tags: '', ts: sec(M0), value: 10 },
    { tags: 'a:b', ts: sec(M0), value: 30 },
  ]);
  const db = new BetterSqlite3(dbPath, { readonly: true });
  t.teardown(() => db.close());
  t.match(
    db.prepare("SELECT value FROM metrics_1h WHERE name = 'late.hits'").get(),
    { value: 8 },
    'the hour has the late samples (6 + 2) before the current minute is written',
  );

  clock.advance(MINUTE_MS);
  await daemon.written();
  t.match(readMetrics(dbPath, "name = 'late.hits'").at(-1), { ts: sec(M0 + 2 * MINUTE_MS), value: 7 });
  const counters = readMetrics(dbPath, "name IN ('dattss.late_samples', 'dattss.late_dropped')");
  t.equal(counters.filter((row) => row.name === 'dattss.late_samples').reduce((sum, row) => sum + (row.value as number), 0), 3);
  t.equal(counters.filter((row) => row.name === 'dattss.late_dropped').reduce((sum, row) => sum + (row.value as number), 0), 2);
});

t.test('late gauge samples keep the newest timestamp as the last value, whatever their arrival order', async (t) => {
  const clock = new FakeClock(M0 + 2_000);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  clock.advance(MINUTE_MS);
  await daemon.written();
  const sec = Math.floor(M0 / 1000);
  await sendAndSettle(daemon, addresses.udp.port, [`late.level:5|g|T${sec + 50}`, `late.level:3|g|T${sec + 10}`]);
  clock.advance(5_000);
  await daemon.written();
  t.match(readMetrics(dbPath, "name = 'late.level'"), [{ ts: sec, last: 5, min: 3, max: 5, count: 2 }]);
});
