import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { sendAndSettle, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

// 2026-01-05T10:20:02Z, two seconds into a minute.
const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);
const START_MS = MINUTE_START_MS + 2_000;
const MINUTE_SEC = MINUTE_START_MS / 1000;

interface Json {
  status: number;
  // Response shapes are asserted field by field with t.match.
  body: any;
  headers: Headers;
}

async function get(running: RunningDaemon, path: string, headers: Record<string, string> = {}): Promise<Json> {
  const response = await fetch(`http://127.0.0.1:${running.addresses.http?.port}${path}`, { headers });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, body: isJson ? JSON.parse(text) : text, headers: response.headers };
}

/** A daemon holding two flushed minutes of counters, a timer, a gauge and a set, and live data in the third. */
async function fedDaemon(t: Test): Promise<{ running: RunningDaemon; clock: FakeClock }> {
  const clock = new FakeClock(START_MS);
  const running = await startDaemon(t, clock);
  const port = running.addresses.udp.port;
  const timings = Array.from({ length: 100 }, (_, i) => `api.latency:${i + 1}|ms`).join('\n');
  await sendAndSettle(running.daemon, port, ['hits:3|c|#env:prod', 'hits:4|c|#env:dev', timings, 'queue.depth:7|g', 'users:a|s\nusers:b|s']);
  clock.advance(60_000);
  await running.daemon.written();
  await sendAndSettle(running.daemon, port, ['hits:10|c|#env:prod', 'queue.depth:9|g', 'users:a|s']);
  clock.advance(60_000);
  await running.daemon.written();
  await sendAndSettle(running.daemon, port, ['hits:5|c|#env:prod', 'api.latency:40|ms']);
  return { running, clock };
}

t.test('an empty database: no series, health up, helpful 404s', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS));
  t.ok((running.addresses.http?.port ?? 0) > 0, 'HTTP on an ephemeral port');
  t.match(await get(running, '/api/series'), { status: 200, body: { total: 0, truncated: false, series: [] } });
  t.match(await get(running, '/api/health'), { status: 200, body: { status: 'up', flushErrors: 0, seriesLive: 0, metricsPrefix: 'dattss.' } });
  t.match(await get(running, '/api/live'), { status: 200, body: { nowMs: START_MS, truncated: false, series: [] } });
  t.match(await get(running, '/api/query?name=hits'), {
    status: 404,
    body: { error: { code: 'DATTSS_SERIES_NOT_FOUND', message: 'no series named "hits" is stored' } },
  });
  t.match(await get(running, '/api/nothing'), { status: 404, body: { error: { code: 'DATTSS_HTTP_NOT_FOUND' } } });
});

t.test('GET /api/series searches by substring or glob, filters by type, limits', async (t) => {
  const { running } = await fedDaemon(t);
  const names = (body: { series: { name: string }[] }): string[] => body.series.map((s) => s.name);
  const all = await get(running, '/api/series?search=&limit=1000');
  t.ok(all.body.total >= 5, 'user and self-metric series listed');
  const hits = await get(running, '/api/series?search=HIT');
  t.same(names(hits.body), ['hits', 'hits'], 'substring, case-insensitive: both tag sets');
  t.same(hits.body.series.map((s: { tags: string }) => s.tags).sort(), ['env:dev', 'env:prod']);
  t.match(hits.body.series[0], { type: 'counter', firstSeen: MINUTE_SEC });
  t.same(names((await get(running, '/api/series?search=*.latency')).body), ['api.latency'], 'glob');
  t.same(names((await get(running, '/api/series?search=q?eue.*')).body), ['queue.depth'], '? matches one character');
  t.same(names((await get(running, '/api/series?search=users&type=set')).body), ['users']);
  t.same(names((await get(running, '/api/series?search=users&type=gauge')).body), []);
  t.match((await get(running, '/api/series?search=hits&limit=1')).body, { total: 2, truncated: true, series: [{ name: 'hits' }] });
  t.match(await get(running, '/api/series?limit=0'), { status: 400, body: { error: { code: 'DATTSS_QUERY_INVALID', message: /limit: expected an integer from 1 to 1000/ } } });
  t.match(await get(running, '/api/series?type=histogram'), { status: 400, body: { error: { message: /type: expected one of counter, timer, gauge, set/ } } });
  t.match(await get(running, '/api/series?serch=hits'), { status: 400, body: { error: { message: 'unknown parameter "serch"; this endpoint takes search, type, limit' } } });
});

t.test('GET /api/query: tag sets merged or selected, percentiles, resolutions', async (t) => {
  const { running, clock } = await fedDaemon(t);
  const merged = await get(running, '/api/query?name=hits&since=10m');
  t.equal(merged.status, 200);
  t.match(merged.body, { name: 'hits', type: 'counter', resolution: '1m', downsampled: false, series: 2 });
  t.same(
    merged.body.points.map((p: { ts: number; value: number }) => [p.ts, p.value]),
    [
      [MINUTE_SEC, 7],
      [MINUTE_SEC + 60, 10],
    ],
    'both tag sets merged per minute; the unfinished minute is not stored yet',
  );
  const prod = await get(running, '/api/query?name=hits&tag=env:prod&since=10m');
  t.same(prod.body.points.map((p: { value: number }) => p.value), [3, 10], 'tag filter');
  t.equal(prod.body.series, 1);
  const exact = await get(running, '/api/query?name=hits&tags=env:dev&since=10m&type=counter');
  t.same(exact.body.points.map((p: { value: number }) => p.value), [4], 'exact tags');
  t.equal(exact.body.tags, 'env:dev');

  const latency = await get(running, '/api/query?name=api.latency&since=10m');
  const [point] = latency.body.points;
  t.match(point, { ts: MINUTE_SEC, count: 100, sum: 5050, min: 1, max: 100, value: 50.5 });
  t.same(Object.keys(point.percentiles), ['p50', 'p90', 'p99'], 'timers get p50, p90 and p99 by default');
  for (const [key, expected] of [['p50', 50], ['p90', 90], ['p99', 99]] as const) {
    t.ok(Math.abs(point.percentiles[key] - expected) / expected <= 0.01, `${key} ${point.percentiles[key]} within 1% of ${expected}`);
  }
  const p999 = await get(running, '/api/query?name=api.latency&since=10m&percentiles=99.9,p75');
  t.same(Object.keys(p999.body.points[0].percentiles), ['p99.9', 'p75']);

  const iso = new Date(MINUTE_START_MS + 60_000).toISOString();
  const fromTo = await get(running, `/api/query?name=hits&from=${iso}&to=${MINUTE_SEC + 120}`);
  t.same(fromTo.body.points.map((p: { ts: number }) => p.ts), [MINUTE_SEC + 60], 'from (ISO) and to (Unix seconds)');

  const hourly = await get(running, '/api/query?name=hits&since=30d');
  t.match(hourly.body, { resolution: '1h', downsampled: true }, 'auto picks hours for 30 days and says so');
  t.same(hourly.body.points.map((p: { value: number }) => p.value), [17], 'the hour row holds both minutes');
  const daily = await get(running, '/api/query?name=hits&since=30d&resolution=1d');
  t.match(daily.body, { resolution: '1d', downsampled: false, points: [{ value: 17 }] });

  clock.advance(60_000);
  await running.daemon.written();
  const later = await get(running, '/api/query?name=hits&since=10m');
  t.same(later.body.points.map((p: { value: number }) => p.value), [7, 10, 5], 'the next minute appears once flushed');
});

t.test('GET /api/query refuses bad input with a 4xx that says what is wrong', async (t) => {
  const { running } = await fedDaemon(t);
  const cases: [string, number, RegExp | string][] = [
    ['/api/query', 400, 'name: a metric name is required'],
    ['/api/query?name=nope', 404, 'no series named "nope" is stored'],
    ['/api/query?name=users&type=timer', 404, '"users" is stored as set, not timer'],
    ['/api/query?name=api.latency&type=histo', 400, /type: expected one of/],
    ['/api/query?name=hits&since=3x', 400, 'since: expected a duration like 90s, 15m, 3h, 2d or 1w, got "3x"'],
    ['/api/query?name=hits&from=yesterday', 400, /from: expected Unix seconds or an ISO 8601 time/],
    ['/api/query?name=hits&from=200&to=100', 400, 'the range is empty: from (200) must be before to (100)'],
    ['/api/query?name=hits&since=30d&resolution=1m', 400, /43201 buckets of 1m exceed maxPoints 1000/],
    ['/api/query?name=hits&resolution=2m', 400, /resolution: expected auto, 1m, 1h, 1d/],
    ['/api/query?name=hits&maxPoints=10001', 400, /maxPoints: expected an integer from 1 to 10000/],
    ['/api/query?name=api.latency&percentiles=abc', 400, /percentiles: expected numbers in \(0, 100\]/],
    ['/api/query?name=api.latency&percentiles=0', 400, /percentiles/],
    ['/api/query?name=hits&tag=env:a&tag=env:b', 400, 'tag: "env" given twice; a series carries one value per key'],
    ['/api/query?name=hits&tag=:x', 400, 'tag: expected key:value, got ":x"'],
    ['/api/query?name=hits&since=1h&since=2h', 400, 'since given 2 times; give it once'],
    ['/api/query?name=hits&sinse=1h', 400, /unknown parameter "sinse"/],
  ];
  for (const [path, status, message] of cases) {
    const response = await get(running, path);
    t.equal(response.status, status, `${path} → ${status}`);
    t.match(response.body.error.message, message, path);
    t.match(response.body.error.code, /^DATTSS_(QUERY_INVALID|SERIES_NOT_FOUND)$/);
  }
});

t.test('a name stored under two types needs type', async (t) => {
  const clock = new FakeClock(START_MS);
  const running = await startDaemon(t, clock);
  await sendAndSettle(running.daemon, running.addresses.udp.port, ['jobs:1|c', 'jobs:250|ms']);
  clock.advance(60_000);
  await running.daemon.written();
  t.match(await get(running, '/api/query?name=jobs'), { status: 400, body: { error: { message: '"jobs" is stored as counter and timer; say which with type' } } });
  t.match(await get(running, '/api/query?name=jobs&type=timer&since=10m'), { status: 200, body: { type: 'timer', points: [{ value: 250 }] } });
});

t.test('GET /api/live: current values and 1-minute moving averages, by name or search', async (t) => {
  const { running } = await fedDaemon(t);
  const live = await get(running, '/api/live?search=hits');
  t.equal(live.status, 200);
  t.same(
    live.body.series.map((s: { name: string; tags: string; current: number }) => [s.name, s.tags, s.current]),
    [
      ['hits', 'env:dev', 0],
      ['hits', 'env:prod', 5],
    ],
    'sorted by name and tags; current is this interval',
  );
  const prod = live.body.series[1];
  t.match(prod.movingAverage, { count: 1, ratePerSec: 10 / 60 }, 'the last minute: one line of 10 hits, over 60 s');
  const timer = await get(running, '/api/live?name=api.latency&type=timer');
  t.match(timer.body.series, [{ name: 'api.latency', type: 'timer', current: 40 }]);
  t.same((await get(running, '/api/live?search=*.latency')).body.series.length, 1, 'glob');
  t.match((await get(running, '/api/live?limit=1')).body, { truncated: true, series: [{ name: 'api.latency' }] });
  t.match(await get(running, '/api/live?type=bogus'), { status: 400 });
});

t.test('GET /api/week: today against the previous days per bucket', async (t) => {
  const { running } = await fedDaemon(t);
  const week = await get(running, '/api/week?name=hits&bucketMinutes=60');
  t.equal(week.status, 200);
  t.match(week.body, { name: 'hits', type: 'counter', timeZone: 'UTC', today: '2026-01-05' });
  t.equal(week.body.buckets.length, 24);
  t.match(week.body.buckets[10], { label: '10:00', today: 17, weekAverage: null, daysWithData: 0 });
  t.match(await get(running, '/api/week?name=hits&bucketMinutes=7'), { status: 400, body: { error: { message: /bucketMinutes must divide 60/ } } });
  t.match(await get(running, '/api/week?name=hits&tz=Mars/Olympus'), { status: 400, body: { error: { message: /unknown timezone/ } } });
});

t.test('GET /api/health follows the admin interface and GET /metrics speaks Prometheus', async (t) => {
  const { running } = await fedDaemon(t);
  const metrics = await get(running, '/metrics');
  t.equal(metrics.status, 200);
  t.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics.body)?.[1]);
  t.equal(value('dattss_packets_received_total'), running.daemon.stats().packetsReceived);
  t.equal(value('dattss_lines_received_total'), running.daemon.stats().linesReceived);
  t.equal(value('dattss_series_live'), running.daemon.stats().seriesLive);
  t.ok(value('dattss_rss_bytes') > value('dattss_heap_used_bytes') && value('dattss_heap_used_bytes') > 1e6, 'memory, read at the scrape');
  t.equal(value('dattss_uptime_seconds'), 120);
  t.equal(value('dattss_healthy'), 1);
  t.match(metrics.body, /^# HELP dattss_bad_lines_total .+\n# TYPE dattss_bad_lines_total counter\n/m);

  await adminCommand(running.addresses.admin?.port as number, 'health down\n');
  t.match(await get(running, '/api/health'), { status: 503, body: { status: 'down' } });
  t.match((await get(running, '/metrics')).body, /^dattss_healthy 0$/m);
  await adminCommand(running.addresses.admin?.port as number, 'health up\n');
  t.match(await get(running, '/api/health'), { status: 200, body: { status: 'up', uptimeSec: 120 } });
});

t.test('static files: the dashboard, uPlot from the package, ETags, nothing outside the list', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS));
  const uplot = await get(running, '/assets/uplot.min.js');
  t.equal(uplot.status, 200);
  t.match(uplot.headers.get('content-type'), /^text\/javascript/);
  t.match(uplot.body, /uPlot/);
  const etag = uplot.headers.get('etag') as string;
  t.equal((await get(running, '/assets/uplot.min.js', { 'if-none-match': etag })).status, 304, 'unchanged file: 304');
  t.equal((await get(running, '/assets/uplot.min.css')).status, 200);
  const index = await get(running, '/');
  t.match(index, { status: 200, body: /<script type="module" src="assets\/app\.js">/ });
  t.match(index.headers.get('content-type'), /^text\/html/);
  // Every module the dashboard imports is served (the browser tests check the rest, when chromium is there).
  const modules = new Set(['app.js']);
  for (const module of modules) {
    const file = await get(running, `/assets/${module}`);
    t.equal(file.status, 200, `/assets/${module}`);
    for (const [, imported] of String(file.body).matchAll(/from '\.\/([\w-]+\.js)'/g)) modules.add(imported as string);
  }
  t.ok(modules.size >= 5, `the dashboard's modules: ${[...modules].join(', ')}`);
  for (const path of ['/assets/../package.json', '/assets/%2e%2e/package.json', '/assets/..%2f..%2fpackage.json', '/assets/uPlot.esm.js']) {
    t.equal((await get(running, path)).status, 404, `${path} is not served`);
  }
});

t.test('--no-http turns the server off; a taken port fails at start', async (t) => {
  const off = await startDaemon(t, new FakeClock(START_MS), { http: false });
  t.equal(off.addresses.http, undefined);
  const first = await startDaemon(t, new FakeClock(START_MS));
  await t.rejects(startDaemon(t, new FakeClock(START_MS), { httpPort: first.addresses.http?.port as number }), {
    code: 'DATTSS_LISTEN_FAILED',
    message: /HTTP cannot listen on 127\.0\.0\.1:\d+/,
  });
});

function adminCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(command));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.endsWith('\n')) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
  });
}

t.test('httpMaxConnections refuses and counts extra connections; httpIdleTimeoutSec closes idle ones', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS), { httpMaxConnections: 2, httpIdleTimeoutSec: 1 });
  const port = running.addresses.http?.port as number;
  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('error', reject);
    });
  const closedByServer = (socket: Socket): Promise<void> => new Promise((resolve) => socket.once('close', () => resolve()));
  const first = await open();
  const second = await open();
  const third = await open();
  await closedByServer(third);
  t.pass('the third connection was closed by the server');
  const metrics = await new Promise<string>((resolve, reject) => {
    // The two idle connections time out after a second, which frees room for this request.
    void Promise.all([closedByServer(first), closedByServer(second)]).then(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      resolve(await response.text());
    }, reject);
  });
  t.match(metrics, /^dattss_http_connections_refused_total 1$/m, 'counted');
});
