import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

// A full disk: the database on an 8 MiB tmpfs, filled up by another file.
// (Room for the WAL, which grows to about 4 MiB between checkpoints while a
// large minute is written in small transactions.) Mounting needs root;
// elsewhere the test says so and skips.

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);

function mountTiny(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Fills the filesystem with a file until no space is left. */
function fill(path: string): void {
  const chunk = Buffer.alloc(16 * 1024);
  for (;;) {
    try {
      appendFileSync(path, chunk);
    } catch {
      return;
    }
  }
}

t.test('a full disk: ingest goes on, minutes wait, and land once space is freed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'dattss-full-'));
  if (!mountTiny(dir)) {
    rmSync(dir, { recursive: true, force: true });
    t.plan(0, 'cannot mount a tmpfs here (not root): skipped');
    return;
  }
  t.teardown(() => {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const clock = new FakeClock(MINUTE_START_MS + 2_000);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { db: join(dir, 'dattss.db'), writerThread: true });
  await sendAndSettle(daemon, addresses.udp.port, ['hits:1|c']);
  clock.advance(60_000);
  const filler = join(dir, 'filler');
  fill(filler);
  // Enough new series that the minute cannot fit in what is left.
  const many = Array.from({ length: 50 }, (_, d) => Array.from({ length: 40 }, (_, i) => `full.s${d * 40 + i}:1|c`).join('\n'));
  await sendAndSettle(daemon, addresses.udp.port, [...many, 'hits:2|c']);
  clock.advance(60_000);
  // A minute of 2000 series is summarized and written across event-loop turns.
  await daemon.written();
  t.equal(daemon.status(), 'degraded', 'the write failed for lack of space');
  await sendAndSettle(daemon, addresses.udp.port, ['hits:4|c']);
  clock.advance(60_000);
  rmSync(filler);
  clock.advance(60_000);
  await daemon.written();
  t.equal(daemon.status(), 'up', 'written once space was freed');
  t.equal(readMetrics(dbPath, "name = 'hits'").reduce((sum, row) => sum + (row.value as number), 0), 7, 'every minute landed');
  t.equal(readMetrics(dbPath, "name LIKE 'full.s%'").length, 2000, 'with all its series');
});
