import { rmSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);

t.test('a database locked by another process: ingest goes on, minutes wait and land exactly', async (t) => {
  const clock = new FakeClock(MINUTE_START_MS + 2_000);
  const logs: { msg: string }[] = [];
  const running = await startDaemon(t, clock, { dbBusyTimeoutMs: 0, writerThread: true }, (line) => logs.push(line));
  const { daemon, addresses, dbPath } = running;
  const said = (msg: string): number => logs.filter((line) => line.msg === msg).length;
  const health = async (): Promise<{ status: number; body: { status: string } }> => {
    const response = await fetch(`http://127.0.0.1:${addresses.http?.port}/api/health`);
    return { status: response.status, body: (await response.json()) as { status: string } };
  };

  const locker = new BetterSqlite3(dbPath);
  t.teardown(() => locker.close());
  locker.exec('BEGIN EXCLUSIVE');
  // Five minutes of traffic while the lock is held: 10 hits per minute.
  for (let minute = 0; minute < 5; minute++) {
    await sendAndSettle(daemon, addresses.udp.port, Array.from({ length: 10 }, () => 'hits:1|c'));
    clock.advance(60_000);
    await daemon.written();
  }
  t.equal(daemon.stats().flushErrors > 0, true, 'writes failed');
  t.match(await health(), { status: 503, body: { status: 'degraded' } });
  t.equal(daemon.status(), 'degraded');

  locker.exec('COMMIT');
  clock.advance(60_000);
  await daemon.written();
  t.match(await health(), { status: 200, body: { status: 'up' } }, 'recovered on the next retry');
  t.equal(said('writing to the database failed; keeping minutes in memory and retrying'), 1, 'the failure logged once, not per retry');
  t.equal(said('database writes recovered; kept minutes written'), 1, 'the recovery logged once');
  for (const task of ['pruning expired rows', 'settling minute rows']) {
    t.equal(said(`${task} failed; retrying on every tick`), 1, `${task}: the failure logged once over the ticks of the fault`);
    t.equal(said(`${task} works again`), 1, `${task}: the recovery logged once`);
  }
  const hits = readMetrics(dbPath, "name = 'hits'");
  t.same(
    hits.map((row) => [row.ts, row.value]),
    [0, 1, 2, 3, 4].map((minute) => [MINUTE_START_MS / 1000 + minute * 60, 10]),
    'every minute written once, in order, exact',
  );
  const received = readMetrics(dbPath, "name = 'dattss.lines_received'").reduce((total, row) => total + (row.value as number), 0);
  t.equal(received, 50, 'the self-metrics of the failed minutes were kept too');
});

t.test('the database file deleted underneath: a new one is created and later minutes land in it', async (t) => {
  const clock = new FakeClock(MINUTE_START_MS + 2_000);
  const logs: { msg: string }[] = [];
  const running = await startDaemon(t, clock, { writerThread: true }, (line) => logs.push(line));
  const { daemon, addresses, dbPath } = running;
  await sendAndSettle(daemon, addresses.udp.port, ['hits:5|c']);
  clock.advance(60_000);
  await daemon.written();
  t.same(readMetrics(dbPath, "name = 'hits'").map((row) => row.value), [5]);

  for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
  await sendAndSettle(daemon, addresses.udp.port, ['hits:7|c']);
  clock.advance(60_000);
  await daemon.written();
  t.same(readMetrics(dbPath, "name = 'hits'").map((row) => row.value), [7], 'the next minute is in a new file, not lost in the deleted one');
  t.equal(logs.filter((line) => line.msg === 'the database file was deleted; created a new one').length, 1, 'said once');
  const response = await fetch(`http://127.0.0.1:${addresses.http?.port}/api/query?name=hits&since=1h`);
  t.match(await response.json(), { points: [{ value: 7 }] }, 'the HTTP API reads the new file too');
  t.equal(daemon.status(), 'up');
});
