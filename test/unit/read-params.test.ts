import { join } from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { HttpServer, type HttpBackend } from '../../src/api/http.js';
import { nameMatcher } from '../../src/api/name-match.js';
import { formatPrometheus } from '../../src/api/prometheus.js';
import { parseDurationSec, parseInstantSec, parsePercentiles, planRange, resolveSelector } from '../../src/api/read-params.js';
import { CounterPartial } from '../../src/aggregate/partial.js';
import { aggregateOf, type MinuteAggregate } from '../../src/aggregate/summarize.js';
import { openReadOnly } from '../../src/store/queries.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { tempDir } from '../helpers/daemon.js';

t.test('durations and instants', async (t) => {
  for (const [text, seconds] of [['90s', 90], ['90', 90], ['15m', 900], ['3h', 10800], ['2d', 172800], ['1w', 604800], ['1.5h', 5400], [' 5m ', 300]] as const) {
    t.equal(parseDurationSec(text), seconds, text);
  }
  for (const text of ['', '0s', '-1h', '3x', 'h', '1h30m']) t.throws(() => parseDurationSec(text), { code: 'DATTSS_QUERY_INVALID' }, JSON.stringify(text));
  t.equal(parseInstantSec('1767608400', 'from'), 1767608400);
  t.equal(parseInstantSec('2026-01-05T10:20:00Z', 'from'), Date.UTC(2026, 0, 5, 10, 20) / 1000);
  t.equal(parseInstantSec('2026-01-05T11:20:00+01:00', 'from'), Date.UTC(2026, 0, 5, 10, 20) / 1000, 'offsets honoured');
  t.equal(parseInstantSec('2026-01-05', 'from'), Date.UTC(2026, 0, 5) / 1000, 'a bare date is UTC midnight');
  for (const text of ['tomorrow', '2026-13-45', '12:00']) t.throws(() => parseInstantSec(text, 'to'), { code: 'DATTSS_QUERY_INVALID', message: /^to: / });
  t.same(parsePercentiles('50, p90,99.9'), [50, 90, 99.9]);
  t.throws(() => parsePercentiles(','), { message: /percentiles/ });
  t.throws(() => parsePercentiles('101'), { message: /percentiles/ });
});

t.test('planRange: since, from/to and the bucket bound', async (t) => {
  const nowSec = 16_666 * 60; // on a minute boundary, so `since` spans whole minutes
  t.same(planRange({}, nowSec), { fromSec: nowSec - 3600, toSec: nowSec, resolution: 'auto', maxPoints: 1000 }, 'the last hour by default');
  t.same(planRange({ since: '2h', to: '500000' }, nowSec), { fromSec: 500000 - 7200, toSec: 500000, resolution: 'auto', maxPoints: 1000 });
  t.match(planRange({ from: '1000', since: '1h' }, nowSec), { fromSec: 1000, toSec: nowSec }, 'from wins over since');
  t.match(planRange({ since: '1000m', resolution: '1m' }, nowSec), { resolution: '1m' }, 'exactly maxPoints buckets is allowed');
  t.throws(() => planRange({ since: '1000m', to: String(nowSec + 1), resolution: '1m' }, nowSec), { message: /1001 buckets of 1m/ }, 'an unaligned edge adds a bucket');
  t.throws(() => planRange({ since: '2000m', resolution: '1m', maxPoints: '1000' }, nowSec), { message: /exceed maxPoints 1000/ });
  t.match(planRange({ since: '2000m', resolution: '1m', maxPoints: '5000' }, nowSec), { maxPoints: 5000 });
});

t.test('resolveSelector canonicalises exact tags', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x.db');
  const store = new SqliteStore({ path, busyTimeoutMs: 100, retention: { minuteDays: 7, hourDays: 90, dayDays: 3650 } });
  const partial = new CounterPartial();
  partial.add(1, 1);
  store.writeMinute([aggregateOf(partial, 'c', 'a:1,b:2', 60) as MinuteAggregate]);
  store.close();
  const db = openReadOnly(path);
  t.teardown(() => db.close());
  t.same(resolveSelector(db, { name: 'c', tags: ' b:2, a:1' }), { name: 'c', type: 'counter', tags: 'a:1,b:2' });
  t.same(resolveSelector(db, { name: 'c', tags: '' }), { name: 'c', type: 'counter', tags: '' }, 'tags= is the untagged series');
  t.same(resolveSelector(db, { name: 'c', tag: ['b:2', 'flag'] }), { name: 'c', type: 'counter', matchTags: { b: '2', flag: '' } });
});

t.test('nameMatcher: globs anchored and literal apart from * and ?', async (t) => {
  const cases: [string, string, boolean][] = [
    ['', 'anything', true],
    ['LAT', 'api.latency', true],
    ['api.*', 'api.latency', true],
    ['api.*', 'apixlatency', false],
    ['*.latency', 'db.latency.p99', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a+b*', 'a+b.c', true],
    ['a[b]*', 'a[b]x', true],
    ['(x)*', '(x)y', true],
  ];
  for (const [search, name, expected] of cases) t.equal(nameMatcher(search)(name), expected, `${search} ~ ${name}`);
});

t.test('formatPrometheus writes HELP, TYPE and special values', async (t) => {
  const text = formatPrometheus({
    counters: [{ name: 'x', value: 3, help: 'X things.' }],
    gauges: [{ name: 'y', value: NaN, help: 'Y.' }, { name: 'z', value: Infinity, help: 'Z.' }, { name: 'w', value: -Infinity, help: 'W.' }],
    uptimeSec: 5,
    healthy: false,
  });
  t.equal(
    text,
    '# HELP dattss_x_total X things.\n# TYPE dattss_x_total counter\ndattss_x_total 3\n' +
      '# HELP dattss_y Y.\n# TYPE dattss_y gauge\ndattss_y NaN\n' +
      '# HELP dattss_z Z.\n# TYPE dattss_z gauge\ndattss_z +Inf\n' +
      '# HELP dattss_w W.\n# TYPE dattss_w gauge\ndattss_w -Inf\n' +
      '# HELP dattss_uptime_seconds Seconds since the daemon started.\n# TYPE dattss_uptime_seconds gauge\ndattss_uptime_seconds 5\n' +
      '# HELP dattss_healthy 1 while health is up, 0 when down or degraded.\n# TYPE dattss_healthy gauge\ndattss_healthy 0\n',
  );
});

t.test('a failing handler answers 500 and the server keeps serving', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'x.db');
  new SqliteStore({ path, busyTimeoutMs: 100, retention: { minuteDays: 7, hourDays: 90, dayDays: 3650 } }).close();
  const logged: unknown[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const backend: HttpBackend = {
    nowMs: () => 0,
    live: () => {
      throw new Error('boom');
    },
    status: () => ({ status: 'degraded', uptimeSec: 1, flushErrors: 2, lastFlushDurationMs: 0, seriesLive: 0, metricsPrefix: 'dattss.' }),
    prometheus: () => ({ counters: [], gauges: [], uptimeSec: 1, healthy: false }),
  };
  const ingest = {
    sink: { sample: () => undefined, partial: () => undefined },
    authKeys: [],
    maxNameLength: 200,
    maxTagsPerLine: 50,
    maxTagLength: 200,
    binocularsIntervalMinutes: 60,
    intervalStartMs: () => 0,
    counters: { itemsReceived: 0, requestsRejected: 0 },
  };
  let internalErrors = 0;
  const server = new HttpServer({ host: '127.0.0.1', port: 0, maxBodyBytes: 1024, maxConnections: 10, idleTimeoutMs: 10_000, onConnectionRefused: () => undefined, onInternalError: () => void internalErrors++, token: '', dbPath: path, backend, ingest, logger });
  const { port } = await server.start();
  t.teardown(() => server.stop());
  const live = await fetch(`http://127.0.0.1:${port}/api/live`);
  t.equal(live.status, 500);
  t.same(await live.json(), { error: { code: 'DATTSS_HTTP_INTERNAL', message: 'internal error; see the daemon log' } }, 'no internals leak');
  t.match(logged, [{ msg: 'HTTP handler failed', method: 'GET', url: '/api/live', err: { message: 'boom' } }]);
  t.equal(internalErrors, 1, 'counted');
  const health = await fetch(`http://127.0.0.1:${port}/api/health`);
  t.equal(health.status, 503, 'degraded is not healthy');
  t.match(await health.json(), { status: 'degraded', flushErrors: 2 });
});
