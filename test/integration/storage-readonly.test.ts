import { execFileSync } from 'node:child_process';
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

// A database that turns read-only underneath the daemon: its files made
// immutable with chattr (root can write to any file mode, not to an
// immutable file). Needs a filesystem with file attributes (ext4, xfs);
// elsewhere the test says so and skips.

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);
const FILES = ['', '-wal', '-shm'];

function chattr(flag: '+i' | '-i', dbPath: string): boolean {
  try {
    execFileSync('chattr', [flag, ...FILES.map((suffix) => dbPath + suffix)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test('a read-only database: minutes wait in memory and land when it is writable again', async (t) => {
  const clock = new FakeClock(MINUTE_START_MS + 2_000);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { writerThread: true });
  await sendAndSettle(daemon, addresses.udp.port, ['hits:1|c']);
  clock.advance(60_000);
  await daemon.written();
  if (!chattr('+i', dbPath)) {
    t.plan(0, 'chattr +i is not supported here (not root, or a filesystem without attributes): skipped');
    return;
  }
  t.teardown(() => void chattr('-i', dbPath));
  for (let minute = 0; minute < 3; minute++) {
    await sendAndSettle(daemon, addresses.udp.port, ['hits:2|c']);
    clock.advance(60_000);
    await daemon.written();
  }
  t.equal(daemon.status(), 'degraded', 'writes fail while the files are immutable');
  t.ok(daemon.stats().flushErrors > 0);
  chattr('-i', dbPath);
  clock.advance(60_000);
  await daemon.written();
  t.equal(daemon.status(), 'up');
  const total = readMetrics(dbPath, "name = 'hits'").reduce((sum, row) => sum + (row.value as number), 0);
  t.equal(total, 1 + 3 * 2, 'the minutes kept in memory were written');
});
