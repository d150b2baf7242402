import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { DgramAsPromised } from 'dgram-as-promised';
import t, { type Test } from 'tap';
import { spawnDaemon, type ChildDaemon } from '../helpers/child-daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon, tempDir } from '../helpers/daemon.js';

/**
 * Sends `count` increments of `restart.hits` in datagrams of ten lines, then
 * a bad marker line whose log proves the daemon parsed everything before it.
 */
async function sendHits(daemon: ChildDaemon, count: number, marker: string): Promise<void> {
  const socket = DgramAsPromised.createSocket('udp4');
  for (let sent = 0; sent < count; sent += 10) {
    await socket.send(Buffer.from(Array.from({ length: 10 }, () => 'restart.hits:1|c').join('\n')), daemon.udpPort, '127.0.0.1');
  }
  await socket.send(Buffer.from(marker), daemon.udpPort, '127.0.0.1');
  await socket.close();
  await daemon.waitForLog((line) => line.msg === 'bad line' && line.line === marker);
}

function storedHits(t: Test, dbPath: string): number {
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    const row = db.prepare("SELECT coalesce(sum(value), 0) AS total FROM metrics_1m WHERE name = 'restart.hits'").get() as { total: number };
    t.equal((db.pragma('integrity_check', { simple: true }) as string), 'ok', 'the database is intact');
    return row.total;
  } finally {
    db.close();
  }
}

t.test('SIGTERM loses nothing, SIGKILL only the unwritten minute, and a restart merges into existing rows', async (t) => {
  const dbPath = join(tempDir(t), 'dattss.db');

  const first = await spawnDaemon(t, dbPath);
  await sendHits(first, 500, 'marker-1');
  first.child.kill('SIGTERM');
  t.equal(await first.exited, 0);
  t.equal(storedHits(t, dbPath), 500, 'SIGTERM wrote the unfinished minute');

  const killed = await spawnDaemon(t, dbPath);
  await sendHits(killed, 300, 'marker-2');
  killed.child.kill('SIGKILL');
  await killed.exited;
  const afterKill = storedHits(t, dbPath);
  t.ok(afterKill >= 500 && afterKill <= 800, `SIGKILL lost at most the minutes not yet written (stored ${afterKill})`);
  const writtenBeforeKill = afterKill - 500;

  const third = await spawnDaemon(t, dbPath);
  await sendHits(third, 200, 'marker-3');
  third.child.kill('SIGTERM');
  t.equal(await third.exited, 0);
  // Wall-clock minutes run in the children: the third run may share a minute
  // with the first, whose row it must add to, never replace.
  t.equal(storedHits(t, dbPath), 500 + writtenBeforeKill + 200, 'every row merged with what was there');
});

t.test('a daemon restarted within the same minute adds to its row (fake clock, in process)', async (t) => {
  const minuteMs = Date.UTC(2026, 0, 5, 10, 20, 0);
  const dbPath = join(tempDir(t), 'dattss.db');
  const first = await startDaemon(t, new FakeClock(minuteMs + 10_000), { db: dbPath });
  await sendAndSettle(first.daemon, first.addresses.udp.port, ['restart.hits:7|c', 'restart.lat:10|ms', 'restart.g:5|g']);
  await first.daemon.stop();
  const second = await startDaemon(t, new FakeClock(minuteMs + 40_000), { db: dbPath });
  await sendAndSettle(second.daemon, second.addresses.udp.port, ['restart.hits:3|c', 'restart.lat:30|ms', 'restart.g:9|g']);
  await second.daemon.stop();
  const rows = readMetrics(dbPath, "name LIKE 'restart.%'");
  t.match(rows, [
    { name: 'restart.g', ts: minuteMs / 1000, last: 9, min: 5, max: 9, count: 2 },
    { name: 'restart.hits', ts: minuteMs / 1000, value: 10, count: 2 },
    { name: 'restart.lat', ts: minuteMs / 1000, value: 20, min: 10, max: 30, count: 2 },
  ]);
  t.equal(rows.length, 3, 'one row per series and minute');
});
