import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);
const HOUR_MS = 3_600_000;

function totalHits(dbPath: string): number {
  return readMetrics(dbPath, "name = 'hits'").reduce((sum, row) => sum + (row.value as number), 0);
}

t.test('the wall clock steps back an hour and forward a day while traffic flows', async (t) => {
  const clock = new FakeClock(MINUTE_START_MS + 2_000);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  const send = (n: number): Promise<void> => sendAndSettle(daemon, addresses.udp.port, [Array.from({ length: n }, () => 'hits:1|c|#k:v').join('\n')]);

  await send(10);
  clock.advance(30_000);
  await daemon.written();
  await send(20);
  clock.set(clock.now() - HOUR_MS);
  clock.advance(5_000);
  await daemon.written();
  t.equal(totalHits(dbPath), 30, 'the step back wrote everything held at the next tick');
  t.equal(daemon.status(), 'up');

  // Two minutes at the earlier time: flushing keeps its pace instead of waiting an hour.
  for (let i = 0; i < 24; i++) {
    await send(1);
    clock.advance(5_000);
    await daemon.written();
  }
  clock.advance(60_000);
  await daemon.written();
  t.equal(totalHits(dbPath), 30 + 24, 'minutes at the new time were written as they ended');
  const stepped = readMetrics(dbPath, "name = 'hits'").map((row) => row.ts);
  t.ok(stepped.some((ts) => ts * 1000 < MINUTE_START_MS), 'rows stamped with the earlier wall-clock time');
  t.equal(new Set(stepped).size, stepped.length, 'one row per minute: minutes met twice merged into their row');

  clock.set(clock.now() + 24 * HOUR_MS);
  await send(5);
  clock.advance(65_000);
  await daemon.written();
  t.equal(totalHits(dbPath), 30 + 24 + 5, 'a forward jump loses nothing either');
  await send(7);
  clock.advance(60_000);
  await daemon.written();
  t.equal(totalHits(dbPath), 30 + 24 + 5 + 7, 'and minutes go on after it');
});
