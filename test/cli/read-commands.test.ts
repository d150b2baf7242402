import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { MinuteAggregate } from '../../src/aggregate/summarize.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { MINUTE_MS, ok, RANGE, runCli, runInTerminal, twoMinutes } from '../helpers/cli.js';
import { tempDir } from '../helpers/daemon.js';

// `dattss query` and `dattss series`, run as the real binary against a database a real daemon wrote.

t.test('query: table, csv and json of each type, merged over tag sets', async (t) => {
  const { dbPath } = await twoMinutes(t);
  const db = ['--db', dbPath];

  let run = await runCli(t, ['query', 'hits', ...db, ...RANGE, '--utc']);
  ok(t, run, 'counter table');
  t.equal(
    run.stdout,
    ['time                  sum      rate', '2026-01-05T10:20:00Z    5  0.0833/s', '2026-01-05T10:21:00Z    4  0.0667/s', ''].join('\n'),
    'counters: the sum of both tag sets and its rate per second',
  );

  run = await runCli(t, ['query', 'hits', ...db, ...RANGE], { env: { TZ: 'Asia/Kolkata' } });
  ok(t, run, 'local times');
  t.equal(
    run.stdout,
    ['time                       sum      rate', '2026-01-05T15:50:00+05:30    5  0.0833/s', '2026-01-05T15:51:00+05:30    4  0.0667/s', ''].join('\n'),
    'local ISO times with their offset',
  );

  run = await runCli(t, ['query', 'hits', '--tag', 'env:prod', '--stat', 'sum,count,avg,rate,value,p99', ...db, ...RANGE, '--utc']);
  ok(t, run, '--tag and --stat');
  t.equal(
    run.stdout,
    [
      'time                  sum  count  avg      rate  value  p99',
      '2026-01-05T10:20:00Z    3      3    1    0.05/s      3    -',
      '2026-01-05T10:21:00Z    4      1    4  0.0667/s      4    -',
      '',
    ].join('\n'),
  );

  run = await runCli(t, ['query', 'api.latency', ...db, ...RANGE, '--utc']);
  ok(t, run, 'timer table');
  t.equal(
    run.stdout,
    [
      'time                  count       avg       min       max       p50       p90       p99',
      '2026-01-05T10:20:00Z      3     20 ms     10 ms     30 ms  19.89 ms     30 ms     30 ms',
      '2026-01-05T10:21:00Z      1  1,500 ms  1,500 ms  1,500 ms  1,500 ms  1,500 ms  1,500 ms',
      '',
    ].join('\n'),
    'timers in ms with digit grouping; p50 from the sketch (1% error)',
  );

  run = await runCli(t, ['query', 'api.latency', ...db, ...RANGE, '--format', 'csv', '--utc']);
  ok(t, run, 'timer csv');
  t.equal(
    run.stdout,
    ['ts,count,avg,min,max,p50,p90,p99', '2026-01-05T10:20:00Z,3,20,10,30,19.88667024086647,30,30', '2026-01-05T10:21:00Z,1,1500,1500,1500,1500,1500,1500', ''].join('\n'),
    'csv: raw numbers, no units',
  );

  run = await runCli(t, ['query', 'queue', ...db, ...RANGE, '--json']);
  ok(t, run, 'gauge json');
  t.same(JSON.parse(run.stdout), {
    name: 'queue',
    type: 'gauge',
    resolution: '1m',
    downsampled: false,
    fromSec: MINUTE_MS / 1000,
    toSec: MINUTE_MS / 1000 + 120,
    series: 1,
    points: [
      { ts: MINUTE_MS / 1000, last: 8, avg: 6.5, min: 5, max: 8 },
      { ts: MINUTE_MS / 1000 + 60, last: 1, avg: 1, min: 1, max: 1 },
    ],
  });
  t.equal((await runCli(t, ['query', 'queue', ...db, ...RANGE, '--format', 'json'])).stdout, run.stdout, '--json is --format json');

  run = await runCli(t, ['query', 'users', ...db, ...RANGE, '--utc', '--format', 'csv']);
  ok(t, run, 'set csv');
  t.equal(run.stdout, 'ts,uniques\n2026-01-05T10:20:00Z,2\n2026-01-05T10:21:00Z,1\n');

  run = await runCli(t, ['query', 'hits', ...db, ...RANGE, '--resolution', '1h', '--json']);
  ok(t, run, 'hour resolution');
  t.match(JSON.parse(run.stdout), { resolution: '1h', downsampled: false, series: 2, points: [{ ts: Date.UTC(2026, 0, 5, 10) / 1000, sum: 9, rate: 9 / 3600 }] });

  run = await runCli(t, ['query', 'hits', ...db, '--since', '1h']);
  ok(t, run, 'a range without data');
  t.equal(run.stdout, 'time  sum  rate\n', 'only the header: the data is from January');
});

t.test('series: every stored series with its type, tags and first and last minute', async (t) => {
  const { dbPath } = await twoMinutes(t);
  let run = await runCli(t, ['series', 'h*', '--db', dbPath, '--utc']);
  ok(t, run, 'glob');
  t.equal(
    run.stdout,
    [
      'name  type     tags      first seen            last seen',
      'hits  counter  env:prod  2026-01-05T10:20:00Z  2026-01-05T10:21:00Z',
      'hits  counter  env:dev   2026-01-05T10:20:00Z  2026-01-05T10:20:00Z',
      '',
    ].join('\n'),
    'most recently seen first',
  );
  run = await runCli(t, ['series', 'USERS', '--db', dbPath, '--format', 'csv', '--utc']);
  ok(t, run, 'substring csv');
  t.equal(run.stdout, 'name,type,tags,firstSeen,lastSeen\nusers,set,,2026-01-05T10:20:00Z,2026-01-05T10:21:00Z\n', 'a substring matches without case');

  run = await runCli(t, ['series', '--db', dbPath, '--type', 'timer', '--json']);
  ok(t, run, 'json');
  t.same(JSON.parse(run.stdout), {
    total: 1,
    truncated: false,
    series: [{ name: 'api.latency', type: 'timer', tags: '', firstSeen: MINUTE_MS / 1000, lastSeen: MINUTE_MS / 1000 + 60 }],
  });

  // The daemon's config file, or DATTSS_CONFIG, tells where its database is.
  const config = join(tempDir(t), 'dattss.json');
  writeFileSync(config, JSON.stringify({ db: dbPath }));
  const fromConfig = await runCli(t, ['series', 'users', '--config', config, '--utc', '--format', 'csv']);
  ok(t, fromConfig, '--config');
  t.equal(fromConfig.stdout, 'name,type,tags,firstSeen,lastSeen\nusers,set,,2026-01-05T10:20:00Z,2026-01-05T10:21:00Z\n', 'the db of --config');
  t.equal((await runCli(t, ['series', 'users', '--utc', '--format', 'csv'], { env: { DATTSS_CONFIG: config } })).stdout, fromConfig.stdout, 'the db of DATTSS_CONFIG');

  run = await runCli(t, ['series', '--db', dbPath, '--limit', '2']);
  t.equal(run.status, 0);
  t.equal(run.stdout.split('\n').length, 4, 'a header and two series');
  t.match(run.stderr, /^dattss: showing 2 of \d+ series; raise --limit to see more\n$/, 'says the list is cut');
});


t.test('query on a terminal shows its progress on stderr and erases it before the table', async (t) => {
  // 25,000 minute rows, written by the daemon's store: 250 tag sets of one counter over 100 minutes.
  const dbPath = join(tempDir(t), 'dattss.db');
  const store = new SqliteStore({ path: dbPath, busyTimeoutMs: 1000, retention: { minuteDays: 8, hourDays: 400, dayDays: 0 } });
  const startSec = MINUTE_MS / 1000;
  for (let minute = 0; minute < 100; minute++) {
    store.writeMinute(
      Array.from({ length: 250 }, (_, shard): MinuteAggregate => ({
        type: 'counter', name: 'many', tags: `shard:${shard}`, tsSec: startSec + minute * 60, count: 1, samples: 1, sum: 1, sumSquares: null,
        min: null, max: null, last: null, lastAtMs: null, p50: null, p90: null, p95: null, p99: null, sketch: null, members: null,
      })),
    );
  }
  store.close();
  const range = ['--from', String(startSec), '--to', String(startSec + 6000), '--resolution', '1m', '--utc', '--stat', 'sum'];
  const terminal = runInTerminal(t, ['query', 'many', '--db', dbPath, ...range]);
  t.equal(await terminal.exited, 0);
  const screen = terminal.screen();
  t.match(screen, /^reading many at 1m…\r\x1b\[Kreading many at 1m: 10,000 rows…\r\x1b\[Kreading many at 1m: 20,000 rows…\r\x1b\[Ktime {18}sum\r\n/, 'progress every 10,000 rows, erased');
  t.match(screen, /\r\n2026-01-05T10:20:00Z  250\r\n/, 'then the table: 250 tag sets merged per minute');
  t.equal(screen.split('\r\n').length, 102, 'a header, 100 minutes and the final line end');

  const piped = await runCli(t, ['query', 'many', '--db', dbPath, ...range]);
  ok(t, piped, 'piped: no progress');
  t.equal(piped.stdout.replace(/\n/g, '\r\n'), screen.slice(screen.indexOf('time')), 'the same table');
});
