import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

// The short soak (the long one is `npm run bench -- soak`): 40 fake minutes of
// steady traffic over a fixed set of series. Nothing may be lost, the series
// count must stay put, and the heap must not grow with the minutes.

const MINUTES = 40;
const SERIES = 200;
const START_MS = Date.UTC(2026, 0, 5, 10, 20, 2);

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

t.test(`${MINUTES} minutes of steady load: no loss, flat series count and heap`, async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  // Each datagram: 20 counters and 20 timers; together they cover every series once a minute.
  const datagrams = Array.from({ length: SERIES / 20 }, (_, k) =>
    Array.from({ length: 20 }, (_, i) => `soak.c${k * 20 + i}:1|c\nsoak.t${k * 20 + i}:${i}|ms`).join('\n'),
  );
  const heap: number[] = [];
  for (let minute = 0; minute < MINUTES; minute++) {
    await sendAndSettle(daemon, addresses.udp.port, datagrams);
    clock.advance(60_000);
    await daemon.written();
    if (minute === 9 || minute === MINUTES - 1) heap.push(heapAfterGc());
  }
  t.equal(daemon.stats().seriesLive, 2 * SERIES, 'the same series all along');
  const counted = readMetrics(dbPath, "name LIKE 'soak.c%'").reduce((sum, row) => sum + (row.value as number), 0);
  t.equal(counted, MINUTES * SERIES, 'every counter increment stored');
  const timerRows = readMetrics(dbPath, "name LIKE 'soak.t%'");
  t.equal(timerRows.reduce((sum, row) => sum + row.count, 0), MINUTES * SERIES, 'every timing stored');
  const growthMb = ((heap[1] as number) - (heap[0] as number)) / 2 ** 20;
  t.ok(growthMb < 4, `heap grew ${growthMb.toFixed(2)} MB from minute 10 to minute ${MINUTES} (a leak of a row per series-minute would be ~6 MB)`);
});
