import t from 'tap';
import { INLINE_SERIES } from '../../src/flush/flusher.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

// The minute flush of many series happens across event-loop turns, so the
// daemon keeps reading its socket meanwhile; every row still lands exactly.

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);

t.test('a minute of many series: nothing written inside the tick, datagrams read meanwhile, every row exact', async (t) => {
  const series = INLINE_SERIES * 3;
  const clock = new FakeClock(MINUTE_START_MS + 2_000);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { maxSeries: series + 10, writerThread: true });
  const datagrams = [];
  for (let i = 0; i < series; i += 40) {
    datagrams.push(Array.from({ length: 40 }, (_, j) => `many.s${i + j}:${i + j}|c`).join('\n'));
  }
  await sendAndSettle(daemon, addresses.udp.port, datagrams);
  clock.advance(60_000);
  t.equal(readMetrics(dbPath, "name LIKE 'many.%'").length, 0, 'the tick only started the flush');
  // Read while the minute is summarized and written, which waits while the socket is busy
  // (sendAndSettle fails unless all are counted).
  await sendAndSettle(daemon, addresses.udp.port, Array.from({ length: 300 }, () => 'during:1|c'));
  await daemon.written();
  const rows = readMetrics(dbPath, "name LIKE 'many.%'");
  t.equal(rows.length, series, 'every series');
  t.ok(
    rows.every((row) => row.ts === MINUTE_START_MS / 1000 && row.value === Number(row.name.slice('many.s'.length))),
    'in its minute, exact',
  );
  clock.advance(60_000);
  await daemon.written();
  t.same(readMetrics(dbPath, "name = 'during'").map((row) => [row.ts, row.value]), [[MINUTE_START_MS / 1000 + 60, 300]], 'and the datagrams in the next minute');
});
