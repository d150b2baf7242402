import { join } from 'node:path';
import t from 'tap';
import BetterSqlite3 from 'better-sqlite3';
import { CounterPartial, GaugePartial, SetPartial, TimerPartial } from '../../src/aggregate/partial.js';
import { aggregateOf, type MinuteAggregate } from '../../src/aggregate/summarize.js';
import { DattssError } from '../../src/errors.js';
import { loadMigrations, migrate } from '../../src/store/migrate.js';
import { readRows } from '../../src/store/queries.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { readMetrics, tempDir } from '../helpers/daemon.js';

const TS = 1_767_225_600; // 2026-01-01T00:00:00Z
const RETENTION = { minuteDays: 8, hourDays: 400, dayDays: 0 };

function counter(name: string, values: number[], tags = ''): MinuteAggregate {
  const partial = new CounterPartial();
  for (const value of values) partial.add(value, 1);
  return aggregateOf(partial, name, tags, TS) as MinuteAggregate;
}

function timer(name: string, values: number[]): MinuteAggregate {
  const partial = new TimerPartial();
  for (const value of values) partial.add(value, 1);
  return aggregateOf(partial, name, '', TS) as MinuteAggregate;
}

function gauge(name: string, values: number[], atMs: number): MinuteAggregate {
  const partial = new GaugePartial();
  for (const value of values) partial.add(value, atMs);
  return aggregateOf(partial, name, '', TS) as MinuteAggregate;
}

function set(name: string, members: string[]): MinuteAggregate {
  const partial = new SetPartial();
  for (const member of members) partial.add(member);
  return aggregateOf(partial, name, '', TS) as MinuteAggregate;
}

t.test('creates the directory, migrates to the newest version, uses WAL checkpointed every 16 MB', async (t) => {
  const path = join(tempDir(t), 'a', 'b', 'dattss.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  t.equal(store.db.pragma('user_version', { simple: true }), loadMigrations().length);
  t.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  t.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 4096, 'docs/schema.md#connection-settings');
  store.close();
  // Reopening an up-to-date database applies nothing and keeps the data.
  const again = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  t.equal(again.db.pragma('user_version', { simple: true }), loadMigrations().length);
  again.close();
});

t.test('the metrics_1m view has exactly the documented columns', async (t) => {
  const store = new SqliteStore({ path: ':memory:', busyTimeoutMs: 0, retention: RETENTION });
  t.teardown(() => store.close());
  const columns = (store.db.prepare('PRAGMA table_info(metrics_1m)').all() as { name: string }[]).map((c) => c.name);
  t.same(columns, ['name', 'tags', 'type', 'ts', 'value', 'count', 'sum', 'min', 'max', 'last', 'p50', 'p90', 'p95', 'p99']);
  // docs/schema.md: a query on the view reads both minute tables through their indexes.
  const plan = (store.db.prepare('EXPLAIN QUERY PLAN SELECT * FROM metrics_1m WHERE name = ? AND ts >= ?').all('a', 0) as { detail: string }[])
    .map((row) => row.detail)
    .join('\n');
  t.match(plan, /SEARCH m USING PRIMARY KEY \(series_id=\? AND ts>\?\)/);
  t.match(plan, /SEARCH m USING INDEX recent_minute_aggregates_series \(series_id=\? AND ts>\?\)/);
});

t.test('writing the same series and minute twice merges instead of overwriting', async (t) => {
  const path = join(tempDir(t), 'merge.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  store.writeMinute([counter('c', [1, 2]), timer('t', [1, 2, 3]), gauge('g', [5, 1], 10_000), set('s', ['a', 'b'])]);
  store.writeMinute([counter('c', [10]), timer('t', [100]), gauge('g', [7], 5_000), set('s', ['b', 'c'])]);
  store.writeMinute([gauge('g', [3], 10_000)]);
  store.close();

  const rows = readMetrics(path);
  t.equal(rows.length, 4);
  t.match(rows.find((r) => r.name === 'c'), { value: 13, sum: 13, count: 3, min: null, last: null });
  const timerRow = rows.find((r) => r.name === 't');
  t.match(timerRow, { count: 4, sum: 106, min: 1, max: 100, value: 26.5 });
  t.ok(Math.abs((timerRow?.p99 as number) - 100) <= 1, 'p99 recomputed from the merged sketch');
  t.ok(Math.abs((timerRow?.p50 as number) - 2) <= 0.02, 'p50 recomputed from the merged sketch');
  // Gauge: the write stamped 5 s is older than the one stamped 10 s, so its 7
  // does not replace the last value; on a tie (3 vs 1, both at 10 s) the larger wins.
  t.match(rows.find((r) => r.name === 'g'), { last: 3, value: 3, min: 1, max: 7, count: 4, sum: 16 });
  t.match(rows.find((r) => r.name === 's'), { value: 3, count: 4 });

  // The hour and day rows went through the same three merges (counters and
  // gauges in SQL, timers and sets in JavaScript) and hold the same figures.
  const db = new BetterSqlite3(path, { readonly: true });
  t.teardown(() => db.close());
  for (const view of ['metrics_1h', 'metrics_1d']) {
    const rollups = db.prepare(`SELECT * FROM ${view} ORDER BY name`).all() as typeof rows;
    t.same(
      rollups.map(({ ts: _ts, ...figures }) => figures),
      [...rows].sort((a, b) => a.name.localeCompare(b.name)).map(({ ts: _ts, ...figures }) => figures),
      `${view} equals the merged minute`,
    );
  }
});

t.test('one write holding a series twice, for one minute and for two, merges every row it stages', async (t) => {
  const path = join(tempDir(t), 'twice.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  t.teardown(() => store.close());
  const at = (row: MinuteAggregate, tsSec: number): MinuteAggregate => ({ ...row, tsSec });
  const write = (): void =>
    store.writeMinute([counter('c', [1]), at(counter('c', [2]), TS + 60), counter('c', [4]), gauge('g', [3], 1000), gauge('g', [9], 2000)]);
  write();
  write(); // the ids are known now, and nothing else wrote: the staged path with no check per row
  // Another connection writes (a second daemon on the file): the next write checks every id again.
  const other = new BetterSqlite3(path);
  other.prepare("INSERT INTO series (type, name, tags, first_seen, last_seen) VALUES ('counter', 'elsewhere', '', ?, ?)").run(TS, TS);
  other.close();
  write();
  const minutes = readMetrics(path).map((row) => [row.name, row.ts, row.sum, row.count, row.last]);
  t.same(
    minutes.sort((a, b) => String(a).localeCompare(String(b))),
    [
      ['c', TS, 15, 6, null],
      ['c', TS + 60, 6, 3, null],
      ['g', TS, 36, 6, 9],
    ],
  );
  t.same(store.db.prepare("SELECT sum, count FROM metrics_1h WHERE name = 'c'").all(), [{ sum: 21, count: 9 }], 'the hour row holds both minutes of each write');
  t.same(
    store.db.prepare("SELECT name, first_seen, last_seen FROM series WHERE name IN ('c', 'g') ORDER BY name").all(),
    [
      { name: 'c', first_seen: TS, last_seen: TS + 60 },
      { name: 'g', first_seen: TS, last_seen: TS },
    ],
  );
});

t.test('a counter and a gauge merge into their hour row in SQL as mergeStored merges them', async (t) => {
  const path = join(tempDir(t), 'hour.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  const at = (row: MinuteAggregate, minute: number): MinuteAggregate => ({ ...row, tsSec: TS + minute * 60 });
  // Minutes arrive out of order; the gauge stamped latest (minute 2, at 130 s)
  // keeps its last value although minute 1 is written after it.
  store.writeMinute([at(counter('c', [1.5]), 2), at(gauge('g', [4, -2], TS * 1000 + 130_000), 2)]);
  store.writeMinute([at(counter('c', [2, 0.25]), 1), at(gauge('g', [9], TS * 1000 + 70_000), 1)]);
  store.writeMinute([at(gauge('only-min', [6], TS * 1000 + 130_000), 2)]);
  store.writeMinute([at(gauge('only-min', [8], TS * 1000 + 130_000), 3)]); // a tie: the larger last wins
  store.close();
  const db = new BetterSqlite3(path, { readonly: true });
  t.teardown(() => db.close());
  const hour = db.prepare('SELECT name, value, count, sum, min, max, last FROM metrics_1h ORDER BY name').all();
  t.same(hour, [
    { name: 'c', value: 3.75, count: 3, sum: 3.75, min: null, max: null, last: null },
    { name: 'g', value: -2, count: 3, sum: 11, min: -2, max: 9, last: -2 },
    { name: 'only-min', value: 8, count: 2, sum: 14, min: 6, max: 8, last: 8 },
  ]);
});

t.test('tags are part of the identity and series remember first and last seen', async (t) => {
  const store = new SqliteStore({ path: ':memory:', busyTimeoutMs: 0, retention: RETENTION });
  t.teardown(() => store.close());
  store.writeMinute([counter('c', [1], 'env:prod'), counter('c', [2], 'env:dev'), counter('c', [4])]);
  store.writeMinute([{ ...counter('c', [8], 'env:prod'), tsSec: TS + 120 }]);
  const series = store.db.prepare('SELECT type, name, tags, first_seen, last_seen FROM series ORDER BY tags').all();
  t.same(series, [
    { type: 'counter', name: 'c', tags: '', first_seen: TS, last_seen: TS },
    { type: 'counter', name: 'c', tags: 'env:dev', first_seen: TS, last_seen: TS },
    { type: 'counter', name: 'c', tags: 'env:prod', first_seen: TS, last_seen: TS + 120 },
  ]);
});

t.test('known series: last_seen moves forward, a late minute moves first_seen back, a series deleted meanwhile comes back', async (t) => {
  const path = join(tempDir(t), 'known.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  t.teardown(() => store.close());
  const seen = (): unknown => store.db.prepare('SELECT id, name, first_seen, last_seen FROM series ORDER BY name').all();
  const at = (row: MinuteAggregate, tsSec: number): MinuteAggregate => ({ ...row, tsSec });
  store.writeMinute([counter('a', [1]), counter('b', [1])]);
  store.writeMinute([at(counter('a', [1]), TS + 60), at(counter('b', [1]), TS + 60)]);
  store.writeMinute([at(counter('a', [1]), TS + 120), at(counter('a', [1]), TS - 60), at(counter('b', [1]), TS + 30)]);
  t.same(seen(), [
    { id: 1, name: 'a', first_seen: TS - 60, last_seen: TS + 120 },
    { id: 2, name: 'b', first_seen: TS, last_seen: TS + 60 },
  ]);

  // Another connection (a second daemon's sweep, an operator) removes b, and its id goes to a new
  // series c: the id this store remembers for b is no longer b's.
  const other = new BetterSqlite3(path);
  for (const table of ['minute_aggregates', 'recent_minute_aggregates', 'hour_aggregates', 'day_aggregates']) other.prepare(`DELETE FROM ${table} WHERE series_id = 2`).run();
  other.prepare('DELETE FROM series WHERE id = 2').run();
  other.prepare("INSERT INTO series (id, type, name, tags, first_seen, last_seen) VALUES (2, 'counter', 'c', '', ?, ?)").run(TS, TS);
  other.close();
  store.writeMinute([at(counter('a', [5]), TS + 180), at(counter('b', [7]), TS + 180)]);
  t.same(seen(), [
    { id: 1, name: 'a', first_seen: TS - 60, last_seen: TS + 180 },
    { id: 3, name: 'b', first_seen: TS + 180, last_seen: TS + 180 },
    { id: 2, name: 'c', first_seen: TS, last_seen: TS },
  ]);
  t.same(
    readMetrics(path).filter((row) => row.ts === TS + 180).map((row) => [row.name, row.value]),
    [
      ['a', 5],
      ['b', 7],
    ],
    'b written as b, not into c',
  );
});

t.test('a store opened on a file remembers its recent series, and still checks them once another connection has written', async (t) => {
  const path = join(tempDir(t), 'recall.db');
  const at = (row: MinuteAggregate, tsSec: number): MinuteAggregate => ({ ...row, tsSec });
  const first = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  first.writeMinute([counter('a', [1]), counter('b', [1])]);
  first.close();

  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  t.teardown(() => store.close());
  store.writeMinute([at(counter('a', [2]), TS + 60), at(counter('b', [3]), TS + 60)]);
  const seen = (): unknown => store.db.prepare('SELECT id, name, first_seen, last_seen FROM series ORDER BY id').all();
  t.same(seen(), [
    { id: 1, name: 'a', first_seen: TS, last_seen: TS + 60 },
    { id: 2, name: 'b', first_seen: TS, last_seen: TS + 60 },
  ], 'the remembered ids are used, and their last seen moves');

  // Another connection removes b and gives its id to c while the store is open.
  const other = new BetterSqlite3(path);
  for (const table of ['recent_minute_aggregates', 'hour_aggregates', 'day_aggregates']) other.prepare(`DELETE FROM ${table} WHERE series_id = 2`).run();
  other.prepare('DELETE FROM series WHERE id = 2').run();
  other.prepare("INSERT INTO series (id, type, name, tags, first_seen, last_seen) VALUES (2, 'counter', 'c', '', ?, ?)").run(TS, TS);
  other.close();
  store.writeMinute([at(counter('b', [7]), TS + 120)]);
  t.same(
    readMetrics(path).filter((row) => row.ts === TS + 120).map((row) => [row.name, row.value]),
    [['b', 7]],
    'b written as b, not into c',
  );
  t.same(store.db.prepare("SELECT name FROM series WHERE id = 2").pluck().get(), 'c');
});

t.test("a timer's hour and day rows, remembered as last written, still merge every minute committed", async (t) => {
  const path = join(tempDir(t), 'rollups.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: { minuteDays: 1, hourDays: 1, dayDays: 1 } });
  t.teardown(() => store.close());
  const at = (row: MinuteAggregate, minute: number): MinuteAggregate => ({ ...row, tsSec: TS + minute * 60 });
  const rollups = (): unknown =>
    store.db.prepare('SELECT ts, samples, sum, min, max FROM hour_aggregates UNION ALL SELECT ts, samples, sum, min, max FROM day_aggregates').all();
  // TS starts an hour and a day: the hour row and the day row are the same merge.
  const merged = (values: number[]): unknown => {
    const row = { ts: TS, samples: values.length, sum: values.reduce((a, b) => a + b, 0), min: Math.min(...values), max: Math.max(...values) };
    return [row, row];
  };

  store.writeMinute([timer('t', [10])]);
  store.writeMinute([at(timer('t', [20]), 1)]);
  t.same(rollups(), merged([10, 20]), 'merged into the rows this connection wrote');

  // A second daemon on the same file merges its minute into the same rows.
  const other = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  other.writeMinute([at(timer('t', [30]), 2)]);
  other.close();
  store.writeMinute([at(timer('t', [40]), 3)]);
  t.same(rollups(), merged([10, 20, 30, 40]), "the other connection's minute is kept");

  // A write that rolls back leaves the rows as they were committed.
  const broken = { ...counter('bad', [1]), type: 'histogram' } as unknown as MinuteAggregate;
  t.throws(() => store.writeMinute([at(timer('t', [1000]), 4), broken]), { code: 'DATTSS_STORE_WRITE' });
  store.writeMinute([at(timer('t', [50]), 5)]);
  t.same(rollups(), merged([10, 20, 30, 40, 50]), 'the rolled-back minute is not merged later');
  const p50 = store.db.prepare('SELECT p50 FROM hour_aggregates').pluck().get() as number;
  t.ok(Math.abs(p50 - 30) <= 0.3, `p50 ${p50} from the merged sketch, within 1% of 30`);

  // Pruned rows are not written back: a late minute of that hour starts it again.
  store.prune(TS + 3 * 86400, 1000);
  t.same(rollups(), [], 'pruned');
  store.writeMinute([at(timer('t', [60]), 6)]);
  t.same(rollups(), merged([60]), 'the late minute alone');

  // A new hour starts from its own row; the hour before is still merged into when a late minute comes.
  store.writeMinute([at(timer('t', [70]), 60)]);
  store.writeMinute([at(timer('t', [80]), 7)]);
  t.same(
    store.db.prepare('SELECT ts, samples, sum FROM hour_aggregates ORDER BY ts').all(),
    [
      { ts: TS, samples: 2, sum: 140 },
      { ts: TS + 3600, samples: 1, sum: 70 },
    ],
  );
  t.same(store.db.prepare('SELECT samples, sum FROM day_aggregates').all(), [{ samples: 3, sum: 210 }]);
});

t.test('the hourly sweep of series without rows forgets their ids, so they can come back', async (t) => {
  const store = new SqliteStore({ path: ':memory:', busyTimeoutMs: 0, retention: { minuteDays: 1, hourDays: 1, dayDays: 1 } });
  t.teardown(() => store.close());
  store.writeMinute([counter('gone', [1])]);
  store.prune(TS + 2 * 86400, 1000);
  t.same(store.db.prepare('SELECT name FROM series').all(), [], 'swept');
  store.writeMinute([{ ...counter('gone', [2]), tsSec: TS + 2 * 86400 }]);
  t.same(store.db.prepare('SELECT name, first_seen FROM series').all(), [{ name: 'gone', first_seen: TS + 2 * 86400 }], 'written again under a new id');
});

t.test('a flush is one transaction: a failing row leaves nothing of the minute', async (t) => {
  const store = new SqliteStore({ path: ':memory:', busyTimeoutMs: 0, retention: RETENTION });
  t.teardown(() => store.close());
  const broken = { ...counter('bad', [1]), type: 'histogram' } as unknown as MinuteAggregate;
  t.throws(() => store.writeMinute([counter('good', [1]), broken]), { code: 'DATTSS_STORE_WRITE' });
  t.equal((store.db.prepare('SELECT count(*) AS n FROM minute_aggregates').get() as { n: number }).n, 0);
});

t.test('migration 004 keys hour and day rows by time and keeps every row', async (t) => {
  const path = join(tempDir(t), 'v3.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  store.writeMinute([counter('hits', [1, 2]), timer('latency', [10, 20, 30]), set('users', ['a', 'b'])]);
  const views = ['metrics_1h', 'metrics_1d'];
  const read = (db: BetterSqlite3.Database) => views.map((view) => db.prepare(`SELECT * FROM ${view} ORDER BY name`).all());
  const before = read(store.db);
  const tables = ['hour_aggregates', 'day_aggregates'];
  const stored = (db: BetterSqlite3.Database) => tables.map((table) => db.prepare(`SELECT * FROM ${table} ORDER BY series_id`).all());
  const rows = stored(store.db);
  store.close();
  // The same rows in a version-3 database: the tables as 002 made them.
  const old = new BetterSqlite3(join(tempDir(t), 'old.db'));
  migrate(old, loadMigrations().slice(0, 3));
  old.exec(`ATTACH '${path}' AS v4; INSERT INTO series SELECT * FROM v4.series`);
  for (const table of tables) old.exec(`INSERT INTO ${table} SELECT * FROM v4.${table}`);
  old.exec('DETACH v4');
  const primaryKey = (db: BetterSqlite3.Database, table: string) =>
    (db.prepare(`SELECT name, pk FROM pragma_table_info('${table}') WHERE pk > 0 ORDER BY pk`).all() as { name: string }[]).map((c) => c.name);
  t.same(primaryKey(old, 'hour_aggregates'), ['series_id', 'ts'], 'version 3 keyed hour rows by series');
  migrate(old);
  t.same(stored(old), rows, 'every row and column kept');
  t.same(read(old), before, 'the views read the same');
  for (const table of tables) {
    t.same(primaryKey(old, table), ['ts', 'series_id'], `${table} is keyed by time first`);
    const plan = old.prepare(`EXPLAIN QUERY PLAN SELECT * FROM ${table} WHERE series_id = 1 AND ts >= 0 AND ts < 1e10 ORDER BY ts`).all();
    t.match(JSON.stringify(plan), `USING INDEX ${table}_series`, `${table} is read by series through its index`);
  }
  t.throws(() => old.prepare(`INSERT INTO hour_aggregates SELECT * FROM hour_aggregates`).run(), /UNIQUE/, 'one row per series and hour');
  old.close();
});

t.test('minute rows settle a slice of series at a time once their hour has closed, and every read sees each row once', async (t) => {
  const store = new SqliteStore({ path: join(tempDir(t), 'settle.db'), busyTimeoutMs: 1000, retention: RETENTION });
  t.teardown(() => store.close());
  const at = (row: MinuteAggregate, tsSec: number): MinuteAggregate => ({ ...row, tsSec });
  const oneSlice = { budgetMs: 0, sliceIds: 200 };
  // 450 counters (three slices of series ids) and one series of each other type, a row every
  // 10 minutes for two hours.
  for (let minute = 0; minute < 120; minute += 10) {
    const ts = TS + minute * 60;
    const rows = Array.from({ length: 450 }, (_, i) => at(counter(`c${i}`, [i + minute]), ts));
    rows.push(at(timer('latency', [minute, 2 * minute + 1]), ts), at(set('users', [`u${minute}`, 'all']), ts), at(gauge('depth', [minute], ts * 1000), ts));
    store.writeMinute(rows);
  }
  const count = (table: string, where = '1 = 1') => (store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).get() as { n: number }).n;
  const view = () => store.db.prepare('SELECT * FROM metrics_1m ORDER BY name, ts').all();
  const ids = (store.db.prepare('SELECT id FROM series ORDER BY id').pluck().all() as number[]).filter((id) => id % 50 === 1);
  const rowsRead = () => [...readRows(store.db, '1m', ids, TS - 3600, TS + 3 * 3600)];
  const everything = view();
  const read = rowsRead();
  t.equal(everything.length, 453 * 12);
  t.equal(count('minute_aggregates'), 0, 'new minute rows are written to the recent table');

  t.equal(store.settle(TS + 3600 + 299, oneSlice), 0, 'an hour closed less than 5 minutes ago is not settled');
  const moves: number[] = [];
  for (let call = 0; call < 10 && count('recent_minute_aggregates', `ts < ${TS + 3600}`) > 0; call++) {
    moves.push(store.settle(TS + 3600 + 300, oneSlice));
    t.same(view(), everything, `after settle call ${call + 1} the view reads every row once`);
  }
  t.same(moves, [199 * 6, 200 * 6, 54 * 6], 'a budget of 0 settles one slice of 200 series ids a call');
  t.same(rowsRead(), read, 'readRows reads the same rows');
  t.equal(count('minute_aggregates'), 453 * 6, "the closed hour's rows are settled");
  t.equal(count('recent_minute_aggregates', `ts < ${TS + 3600}`), 0);
  t.equal(count('recent_minute_aggregates'), 453 * 6, "the open hour's rows are still recent");
  t.equal(store.settle(TS + 3600 + 300, oneSlice), 0, 'nothing left to settle');

  // Late minutes of the settled hour: one merges into its settled row, one without a row is
  // written to the recent table and settled on the next call.
  store.writeMinute([at(counter('c7', [1000]), TS), at(counter('c7', [5]), TS + 60)]);
  const c7 = () => store.db.prepare("SELECT ts, value FROM metrics_1m WHERE name = 'c7' AND ts < ? ORDER BY ts").all(TS + 600);
  t.same(c7(), [
    { ts: TS, value: 1007 },
    { ts: TS + 60, value: 5 },
  ]);
  t.equal(count('recent_minute_aggregates', `ts < ${TS + 3600}`), 1);
  t.equal(store.settle(TS + 3600 + 300, { budgetMs: 1000, sliceIds: 200 }), 1, 'a late row behind the settled series is settled too');
  t.same(c7(), [
    { ts: TS, value: 1007 },
    { ts: TS + 60, value: 5 },
  ]);
  t.equal(count('metrics_1m'), 453 * 12 + 1);
});

t.test('migration 005 leaves the minute rows where they were and settles nothing a later write would miss', async (t) => {
  const path = join(tempDir(t), 'v4.db');
  const old = new BetterSqlite3(path);
  migrate(old, loadMigrations().slice(0, 4));
  old.exec(`INSERT INTO series (id, type, name, tags, first_seen, last_seen) VALUES (1, 'counter', 'hits', '', ${TS}, ${TS + 60})`);
  for (const ts of [TS, TS + 60]) old.exec(`INSERT INTO minute_aggregates (series_id, ts, count, samples, sum) VALUES (1, ${ts}, 2, 2, 3)`);
  old.close();
  const store = new SqliteStore({ path, busyTimeoutMs: 1000, retention: RETENTION });
  t.teardown(() => store.close());
  t.equal(store.db.prepare('SELECT settled_before FROM minute_settle').pluck().get(), TS + 120, 'settled before the minute after the newest row');
  store.writeMinute([{ ...counter('hits', [4]), tsSec: TS + 60 }, { ...counter('hits', [1]), tsSec: TS + 120 }]);
  t.same(
    store.db.prepare("SELECT ts, value FROM metrics_1m WHERE name = 'hits' ORDER BY ts").all(),
    [
      { ts: TS, value: 3 },
      { ts: TS + 60, value: 7 },
      { ts: TS + 120, value: 1 },
    ],
    'a minute written before the upgrade merges into its row there',
  );
  t.equal(store.db.prepare('SELECT count(*) FROM recent_minute_aggregates').pluck().get(), 1);
});

t.test('refuses a database from a newer dattss and an unopenable path', async (t) => {
  const path = join(tempDir(t), 'future.db');
  const db = new BetterSqlite3(path);
  db.pragma('user_version = 999');
  db.close();
  t.throws(() => new SqliteStore({ path, busyTimeoutMs: 0, retention: RETENTION }), { code: 'DATTSS_STORE_OPEN', message: /schema version 999/ });
  let error: unknown;
  try {
    new SqliteStore({ path: tempDir(t), busyTimeoutMs: 0, retention: RETENTION });
  } catch (caught) {
    error = caught;
  }
  t.ok(error instanceof DattssError && error.code === 'DATTSS_STORE_OPEN', 'a directory is not a database');
});
