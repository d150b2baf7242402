import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

const START_MS = Date.UTC(2026, 0, 5, 10, 20, 2);

t.test('maxSeries: samples of new series beyond the cap are dropped and counted; live series keep counting', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { maxSeries: 3 });
  await sendAndSettle(daemon, addresses.udp.port, ['a:1|c\nb:1|c\nc:1|ms', 'd:1|c\ne:1|g\na:2|c\nd:5|c']);
  t.match(daemon.stats(), { seriesLive: 3, seriesDropped: 3, badLines: 0 });
  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath, "name IN ('a', 'b', 'c', 'd', 'e')");
  t.same(rows.map((row) => [row.name, row.value]), [['a', 3], ['b', 1], ['c', 1]], 'existing series kept counting');
  t.match(readMetrics(dbPath, "name = 'dattss.series_dropped'"), [{ value: 3 }]);
});

t.test('seriesIdleSec: idle series leave memory after their data is written, and come back when they send again', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { seriesIdleSec: 60 });
  await sendAndSettle(daemon, addresses.udp.port, ['idle.hits:1|c\nidle.level:5|g']);
  clock.advance(60_000);
  await daemon.written();
  t.equal(daemon.stats().seriesLive, 2, 'still live one minute later');
  clock.advance(60_000);
  await daemon.written();
  t.equal(daemon.stats().seriesLive, 0, 'evicted after more than 60 s without a sample');
  t.same(daemon.live(), []);
  t.same(readMetrics(dbPath, "name LIKE 'idle.%'").map((row) => [row.name, row.value]), [['idle.hits', 1], ['idle.level', 5]], 'nothing lost');
  await sendAndSettle(daemon, addresses.udp.port, ['idle.level:+2|g']);
  t.match(daemon.live({ name: 'idle.level' }), [{ current: 2 }], 'a delta after eviction starts from 0 (documented)');
});
