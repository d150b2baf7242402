import { join } from 'node:path';
import t from 'tap';
import BetterSqlite3 from 'better-sqlite3';
import { CounterPartial, GaugePartial, TimerPartial } from '../../src/aggregate/partial.js';
import { aggregateOf, type MinuteAggregate } from '../../src/aggregate/summarize.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { weekView } from '../../src/store/week.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon, tempDir } from '../helpers/daemon.js';

const DAY = 86400;

function counter(name: string, tsSec: number, value: number): MinuteAggregate {
  const partial = new CounterPartial();
  partial.add(value, 1);
  return aggregateOf(partial, name, '', tsSec) as MinuteAggregate;
}

function timer(name: string, tsSec: number, values: number[]): MinuteAggregate {
  const partial = new TimerPartial();
  for (const value of values) partial.add(value, 1);
  return aggregateOf(partial, name, '', tsSec) as MinuteAggregate;
}

function gauge(name: string, tsSec: number, values: number[]): MinuteAggregate {
  const partial = new GaugePartial();
  for (const value of values) partial.add(value, tsSec * 1000);
  return aggregateOf(partial, name, '', tsSec) as MinuteAggregate;
}

t.test('twenty simulated days: retention removes exactly the expired rows and the file stops growing', async (t) => {
  const store = new SqliteStore({
    path: join(tempDir(t), 'retention.db'),
    busyTimeoutMs: 1000,
    retention: { minuteDays: 2, hourDays: 5, dayDays: 10 },
  });
  t.teardown(() => store.close());
  const start = Date.UTC(2026, 0, 1) / 1000;
  const count = (table: string, where = '1 = 1'): number =>
    (store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n;
  const pages: number[] = [];

  for (let day = 0; day < 20; day++) {
    for (let minute = 0; minute < 1440; minute += 10) {
      const ts = start + day * DAY + minute * 60;
      const rows = [counter('steady.hits', ts, 1), timer('steady.latency', ts, [minute % 97, 50])];
      if (day < 3) rows.push(gauge('early.gauge', ts, [day]));
      store.writeMinute(rows);
    }
    const now = start + (day + 1) * DAY;
    store.prune(now, 60_000);
    store.settle(now, { budgetMs: 60_000, sliceIds: 200 });
    pages.push(store.db.pragma('page_count', { simple: true }) as number);

    // The day's last hour closed just now: it is settled 5 minutes on, the day's next tick.
    t.equal(count('recent_minute_aggregates', `ts < ${now - 3600}`), 0, `day ${day}: the minute rows of the day's closed hours settled`);
    t.equal(count('recent_minute_aggregates'), (day < 3 ? 3 : 2) * 6, `day ${day}: the last hour's minute rows are still recent`);
    t.equal(count('minute_aggregates', `ts < ${now - 2 * DAY}`), 0, `day ${day}: no minute row older than 2 days`);
    t.equal(count('hour_aggregates', `ts < ${now - 5 * DAY}`), 0, `day ${day}: no hour row older than 5 days`);
    t.equal(count('day_aggregates', `ts < ${now - 10 * DAY}`), 0, `day ${day}: no day row older than 10 days`);
    // Nothing younger than the cut-off is lost: 144 minute rows a day per steady series.
    t.equal(count('metrics_1m', `name = 'steady.hits'`), Math.min(day + 1, 2) * 144);
    t.equal(count('hour_aggregates h JOIN series s ON s.id = h.series_id', `s.name = 'steady.hits'`), Math.min(day + 1, 5) * 24);
    t.equal(count('day_aggregates d JOIN series s ON s.id = d.series_id', `s.name = 'steady.hits'`), Math.min(day + 1, 10));
  }
  // early.gauge stopped on day 3; its last day row (day 2) expires at the end of day 12.
  t.equal(count('series', `name = 'early.gauge'`), 0, 'a series whose rows all expired is removed');
  t.equal(count('series', `name LIKE 'steady.%'`), 2, 'live series stay');
  t.ok((pages[19] as number) <= (pages[11] as number) * 1.05, `file size steady: ${pages[11]} pages on day 11, ${pages[19]} on day 19`);
});

t.test('the daemon prunes on its ticks', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 5, 12, 0, 2));
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { minuteRetentionDays: 1, hourRetentionDays: 2 });
  await sendAndSettle(daemon, addresses.udp.port, ['old.hits:1|c']);
  clock.advance(60_000);
  await daemon.written();
  t.equal(readMetrics(dbPath, "name = 'old.hits'").length, 1, 'written');
  clock.advance(DAY * 1000);
  await daemon.written();
  t.equal(readMetrics(dbPath, "name = 'old.hits'").length, 0, 'minute row pruned a day later');
});

for (const writerThread of [false, true]) {
  t.test(`the daemon settles the minute rows of a closed hour on its ticks (writer thread: ${writerThread})`, async (t) => {
    const clock = new FakeClock(Date.UTC(2026, 0, 5, 12, 58, 2));
    const { daemon, addresses, dbPath } = await startDaemon(t, clock, { writerThread });
    await sendAndSettle(daemon, addresses.udp.port, ['settled.hits:2|c']);
    clock.advance(60_000);
    await daemon.written();
    const where = (table: string) => {
      const db = new BetterSqlite3(dbPath, { readonly: true });
      try {
        return db.prepare(`SELECT count(*) FROM ${table} JOIN series ON series.id = series_id WHERE name = 'settled.hits'`).pluck().get();
      } finally {
        db.close();
      }
    };
    t.same([where('recent_minute_aggregates'), where('minute_aggregates')], [1, 0], 'written as a recent row');
    clock.advance(7 * 60_000); // 13:06: the 12:00 hour closed more than 5 minutes ago
    await daemon.written();
    t.same([where('recent_minute_aggregates'), where('minute_aggregates')], [0, 1], 'settled on a tick');
    t.same(
      readMetrics(dbPath, "name = 'settled.hits'").map((row) => row.value),
      [2],
    );
  });
}

t.test('week view: today against the average of the previous 7 days, gaps not counted as zero', async (t) => {
  const store = new SqliteStore({ path: ':memory:', busyTimeoutMs: 0, retention: { minuteDays: 8, hourDays: 400, dayDays: 0 } });
  t.teardown(() => store.close());
  // Paris is UTC+1 in January. "Now" is 10:30 on 15 January, Paris time.
  const paris = (day: number, hour: number, minute: number): number => Date.UTC(2026, 0, day, hour - 1, minute) / 1000;
  const now = paris(15, 10, 30);
  store.writeMinute([
    counter('visits', paris(15, 8, 10), 5),
    counter('visits', paris(15, 8, 40), 7),
    counter('visits', paris(15, 0, 30), 3), // 23:30 UTC on the 14th, but today in Paris
    counter('visits', paris(14, 8, 5), 10),
    // the 13th: no data at all (a gap)
    counter('visits', paris(12, 8, 59), 20),
    counter('visits', paris(8, 8, 0), 30), // 7 days before today: included
    counter('visits', paris(7, 8, 0), 1000), // 8 days before: not in the week
    timer('lat', paris(15, 8, 1), [10, 20]),
    timer('lat', paris(15, 8, 2), [30]),
    timer('lat', paris(14, 8, 1), [100]),
    timer('lat', paris(13, 8, 1), [50, 70]),
    gauge('queue', paris(15, 9, 0), [4, 8]),
    gauge('queue', paris(15, 9, 30), [6]),
  ]);

  const visits = weekView(store.db, { name: 'visits', type: 'counter', nowSec: now, bucketMinutes: 60, timeZone: 'Europe/Paris' });
  t.equal(visits.today, '2026-01-15');
  t.same(visits.previousDays, ['2026-01-14', '2026-01-13', '2026-01-12', '2026-01-11', '2026-01-10', '2026-01-09', '2026-01-08']);
  t.equal(visits.buckets.length, 24);
  t.match(visits.buckets[8], { label: '08:00', minuteOfDay: 480, today: 12, weekAverage: 20, daysWithData: 3 });
  t.match(visits.buckets[0], { label: '00:00', today: 3, weekAverage: null, daysWithData: 0 });
  t.match(visits.buckets[23], { today: null, weekAverage: null }, 'the 23:30 UTC row is not in the 23:00 Paris bucket');
  t.match(visits.buckets[9], { today: null, weekAverage: null });

  // Timers: the mean of all values in the bucket, not the mean of minute means.
  const lat = weekView(store.db, { name: 'lat', type: 'timer', nowSec: now, bucketMinutes: 60, timeZone: 'Europe/Paris' });
  t.match(lat.buckets[8], { today: 20, weekAverage: (100 + 60) / 2, daysWithData: 2 });

  // Gauges: the mean of the values taken; 30-minute buckets split 09:00 and 09:30.
  const queue = weekView(store.db, { name: 'queue', type: 'gauge', nowSec: now, bucketMinutes: 30, timeZone: 'Europe/Paris' });
  t.equal(queue.buckets.length, 48);
  t.match(queue.buckets[18], { label: '09:00', today: 6 });
  t.match(queue.buckets[19], { label: '09:30', today: 6 });

  // In UTC the same rows fall into other buckets and days.
  const utc = weekView(store.db, { name: 'visits', type: 'counter', nowSec: now, bucketMinutes: 60 });
  t.match(utc.buckets[7], { today: 12 });
  t.match(utc.buckets[23], { today: null, weekAverage: 3, daysWithData: 1 });

  t.throws(() => weekView(store.db, { name: 'visits', type: 'counter', nowSec: now, bucketMinutes: 7 }), { code: 'DATTSS_QUERY_INVALID' });
  t.throws(() => weekView(store.db, { name: 'visits', type: 'counter', nowSec: now, bucketMinutes: 60, timeZone: 'Mars/Olympus' }), {
    code: 'DATTSS_QUERY_INVALID',
  });
});
