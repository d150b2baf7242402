import { join } from 'node:path';
import t from 'tap';
import { failed, ok, runCli } from '../helpers/cli.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { sendAndSettle, startDaemon, tempDir } from '../helpers/daemon.js';

// The daemons that write the database run on fake clocks set to one hour of a fixed day, and of the
// two days before; `week --at` and `query --to` read the database as of that hour, so the test does
// not depend on the real date.
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function formatHour(hour: number): string {
  return `${String(hour).padStart(2, '0')}:00`;
}

t.test('week: today against the average of the previous days, per bucket', async (t) => {
  const thisHourMs = Date.UTC(2026, 10, 18, 14);
  const at = ['--at', String(thisHourMs / 1000 + 1800)];
  const dbPath = join(tempDir(t), 'dattss.db');
  // One daemon after another on the same file, as restarts on three days would.
  for (const [daysAgo, value] of [[2, 20], [1, 10], [0, 30]] as const) {
    const clock = new FakeClock(thisHourMs - daysAgo * DAY_MS + 2_000);
    const { daemon, addresses } = await startDaemon(t, clock, { db: dbPath });
    await sendAndSettle(daemon, addresses.udp.port, [`hits:${value}|c`, 'lat:100|ms']);
    clock.advance(60_000);
    await daemon.written();
    await daemon.stop();
  }
  const hour = new Date(thisHourMs).getUTCHours();
  const today = new Date(thisHourMs).toISOString().slice(0, 10);

  let run = await runCli(t, ['week', 'hits', '--db', dbPath, '--utc', ...at]);
  ok(t, run, 'table');
  const header = `time   today ${today}  week average  change  days`;
  const line = (label: string, cells: [string, string, string, string]): string =>
    `${label}  ${cells[0].padStart(16)}  ${cells[1].padStart(12)}  ${cells[2].padStart(6)}  ${cells[3].padStart(4)}`;
  const expected = [header];
  for (let h = 0; h < 24; h++) expected.push(line(formatHour(h), h === hour ? ['30', '15', '100%', '2'] : ['-', '-', '-', '0']));
  t.equal(run.stdout, `${expected.join('\n')}\n`, 'this hour: 30 today against (20 + 10) / 2, up 100%');

  run = await runCli(t, ['week', 'hits', '--db', dbPath, '--utc', '--format', 'csv', ...at]);
  ok(t, run, 'csv');
  const csv = run.stdout.split('\n');
  t.equal(csv[0], 'label,today,weekAverage,change,daysWithData');
  t.equal(csv[hour + 1], `${formatHour(hour)},30,15,100,2`);
  t.equal(csv.length, 26, 'a header, 24 buckets and the final newline');

  run = await runCli(t, ['week', 'lat', '--db', dbPath, '--json', '--bucket', '30', '--tz', 'UTC', ...at]);
  ok(t, run, 'json');
  const week = JSON.parse(run.stdout) as { name: string; type: string; timeZone: string; today: string; previousDays: string[]; buckets: unknown[] };
  t.match(week, { name: 'lat', type: 'timer', timeZone: 'UTC', today });
  t.equal(week.previousDays.length, 7);
  t.equal(week.buckets.length, 48, '30-minute buckets');
  t.same(week.buckets[hour * 2], { minuteOfDay: hour * 60, label: formatHour(hour), today: 100, weekAverage: 100, daysWithData: 2, change: 0 });

  run = await runCli(t, ['week', 'lat', '--db', dbPath, '--utc', '--bucket', '60', '--at', new Date(thisHourMs + 1_800_000).toISOString()]);
  ok(t, run, 'timer table');
  t.equal(run.stdout.split('\n')[hour + 1], line(formatHour(hour), ['100 ms', '100 ms', '0%', '2']), 'timers in ms');

  failed(t, await runCli(t, ['week', 'hits', '--db', dbPath, '--bucket', '7']), 2, /^dattss: bucketMinutes must divide 60/, 'bad bucket');
  failed(t, await runCli(t, ['week', 'hits', '--db', dbPath, '--tz', 'Mars/Olympus']), 2, /^dattss: unknown timezone "Mars\/Olympus"/, 'bad zone');
  failed(t, await runCli(t, ['week', 'nothing', '--db', dbPath]), 1, 'dattss: no series named "nothing" is stored [DATTSS_SERIES_NOT_FOUND]', 'unknown series');

  failed(t, await runCli(t, ['week', 'hits', '--db', dbPath, '--at', 'yesterday']), 2, /^dattss: at: /, 'bad --at');

  // --since counts back from --to: 23 hours hold this hour's minute but not yesterday's.
  run = await runCli(t, ['query', 'hits', '--db', dbPath, '--since', '23h', ...['--to', String(thisHourMs / 1000 + 1800)], '--resolution', '1m', '--max-points', '1440', '--format', 'csv', '--utc']);
  ok(t, run, 'query --since');
  t.equal(run.stdout, `ts,sum,rate\n${new Date(thisHourMs).toISOString().slice(0, 19)}Z,30,0.5\n`);
});
