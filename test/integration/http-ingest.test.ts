import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, startDaemon, type MetricRow, type RunningDaemon } from '../helpers/daemon.js';

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);
const START_MS = MINUTE_START_MS + 2_000;
const MINUTE_SEC = MINUTE_START_MS / 1000;

async function send(running: RunningDaemon, method: string, path: string, body: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  const response = await fetch(`http://127.0.0.1:${running.addresses.http?.port}${path}`, {
    method,
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

function row(rows: MetricRow[], name: string, tags = ''): MetricRow | undefined {
  return rows.find((r) => r.name === name && r.tags === tags);
}

// A DaTtSs v2 client's push, as clients/nodejs/lib/dattss.js builds it every 5 s.
const V2_PUSH = {
  prt: {
    c: [{ typ: 'c', pth: 'routes.put_agg.ok', pct: 0.1, sum: 12, cnt: 4, max: 5, min: 1, lst: 5, fst: 1, emp: false, bot: 1, top: 5 }],
    ms: [{ typ: 'ms', pth: 'db.query', pct: 0.1, sum: 612, cnt: 4, max: 210, min: 98, lst: 150, fst: 98, emp: false, bot: 98, top: 210 }],
    g: [{ typ: 'g', pth: 'environment.active', pct: 0.1, sum: 30, cnt: 3, max: 12, min: 8, lst: 10, fst: 8, emp: true, bot: 8, top: 12 }],
  },
};

t.test('PUT /agg: DaTtSs v2 and v1 partials merge exactly into the minute', async (t) => {
  const clock = new FakeClock(START_MS);
  const running = await startDaemon(t, clock);
  t.same(await send(running, 'PUT', '/agg', V2_PUSH), { status: 200, body: { ok: true } });
  clock.advance(5_000);
  await running.daemon.written();
  t.same(await send(running, 'PUT', '/agg', V2_PUSH), { status: 200, body: { ok: true } }, 'a second interval');
  const v1 = { nam: 'worker', upt: 42.5, prt: { c: [{ nam: 'jobs.done', sum: 7, cnt: 7 }], ms: [], g: [] } };
  t.same(await send(running, 'PUT', '/agg', v1), { status: 200, body: { ok: true } });
  t.same(await send(running, 'PUT', '/agg', { prt: { c: [{ pth: 'jobs.done', sum: 1, cnt: 1 }] } }), { status: 200, body: { ok: true } }, 'missing arrays are empty');

  clock.advance(60_000);
  await running.daemon.written();
  const rows = readMetrics(running.dbPath);
  t.match(row(rows, 'routes.put_agg.ok'), { type: 'counter', ts: MINUTE_SEC, value: 24, sum: 24, count: 8 });
  t.match(row(rows, 'environment.active'), { type: 'gauge', value: 10, last: 10, min: 8, max: 12, count: 6 });
  const timer = row(rows, 'db.query') as MetricRow;
  t.match(timer, { type: 'timer', count: 8, sum: 1224, min: 98, max: 210, value: 153 });
  t.ok((timer.p50 as number) >= 98 && (timer.p50 as number) <= 210, `p50 ${timer.p50} is an estimate within [min, max]`);
  t.match(row(rows, 'jobs.done', 'process:worker'), { value: 7, count: 7 }, "v1's process name is the tag process");
  t.match(row(rows, 'jobs.done'), { value: 1 });
  t.match(row(rows, 'dattss.http_items_received'), { value: 8 });
  t.match(row(rows, 'dattss.http_requests_rejected'), { value: 0 });
});

t.test('PUT /agg refuses bad items whole, naming the item', async (t) => {
  const clock = new FakeClock(START_MS);
  const running = await startDaemon(t, clock);
  const good = { pth: 'ok.counter', sum: 1, cnt: 1 };
  const cases: [unknown, string][] = [
    [{}, 'prt: Expected required property'],
    [{ prt: { c: [good, { pth: 'x', sum: 1, cnt: 0 }] } }, 'prt.c[1].cnt: Expected integer to be greater or equal to 1'],
    [{ prt: { c: [good, { pth: 'x', sum: 1, cnt: 1.5 }] } }, 'prt.c[1].cnt: Expected integer'],
    [{ prt: { c: [good, { pth: 'x', sum: '1', cnt: 1 }] } }, 'prt.c[1].sum: Expected number'],
    [{ prt: { c: [good, { sum: 1, cnt: 1 }] } }, 'prt.c[1]: has neither pth nor nam'],
    [{ prt: { g: [{ pth: 'has space', sum: 1, cnt: 1 }] } }, 'prt.g[0]: name "has space" must be 1 to'],
    [{ prt: { g: [{ pth: 'x', sum: 1, cnt: 1, min: 5, max: 1 }] } }, 'prt.g[0]: min is above max'],
    [{ prt: { ms: [{ pth: 'x', sum: -5, cnt: 1 }] } }, 'prt.ms[0]: a timer cannot be negative'],
    [{ prt: { ms: [{ pth: 'x', sum: 5, cnt: 2, min: -1, max: 6 }] } }, 'prt.ms[0]: a timer cannot be negative'],
    [{ prt: { c: [{ pth: 'x'.repeat(300), sum: 1, cnt: 1 }] } }, 'prt.c[0]: name'],
  ];
  for (const [body, message] of cases) {
    const response = await send(running, 'PUT', '/agg', body);
    t.equal(response.status, 400, JSON.stringify(body).slice(0, 80));
    t.equal(response.body.error.code, 'DATTSS_INGEST_INVALID');
    t.match(response.body.error.message, message);
  }
  t.match(await send(running, 'PUT', '/agg', '{"prt": {"c": [1e400]}}'), { status: 400 }, 'Infinity from 1e400 is not a number here');
  t.match(await send(running, 'PUT', '/agg', '{"prt": '), { status: 400, body: { error: { code: 'FST_ERR_CTP_INVALID_JSON_BODY' } } });
  t.match(await send(running, 'PUT', '/agg', 'hits:1|c', 'text/plain'), { status: 400, body: { error: { message: 'body: Expected object' } } });
  t.match(await send(running, 'PUT', '/agg', 'hits', 'application/x-www-form-urlencoded'), { status: 415, body: { error: { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' } } });
  t.same(running.daemon.live(), [], 'the good items beside bad ones were not applied');
  clock.advance(60_000);
  await running.daemon.written();
  t.match(row(readMetrics(running.dbPath), 'dattss.http_requests_rejected'), { value: cases.length + 4 }, 'the cases, 1e400, bad JSON, text and a form');
});

t.test('PUT /agg checks auth keys when configured; bodies are size-limited', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS), { dattssAuthKeys: ['0_secret', '1_other'], httpMaxBodyBytes: 2048 });
  const push = { prt: { c: [{ pth: 'hits', sum: 1, cnt: 1 }] } };
  t.match(await send(running, 'PUT', '/agg', push), { status: 401, body: { error: { code: 'DATTSS_AUTH_FAILED' } } });
  t.match(await send(running, 'PUT', '/agg?auth=0_secre', push), { status: 401 });
  t.match(await send(running, 'PUT', '/agg?auth=0_secret', push), { status: 200, body: { ok: true } });
  t.match(await send(running, 'PUT', '/agg?auth=1_other', push), { status: 200 });
  const big = { prt: { c: Array.from({ length: 100 }, (_, i) => ({ pth: `hits.${i}`, sum: 1, cnt: 1 })) } };
  t.match(await send(running, 'PUT', '/agg?auth=0_secret', big), { status: 413, body: { error: { code: 'FST_ERR_CTP_BODY_TOO_LARGE' } } });
  t.match(running.daemon.live({ name: 'hits' }), [{ current: 2 }], 'only the authorised pushes counted');
});

t.test('POST /v1/metrics: Binoculars fields become tagged gauges; the reply sets the interval', async (t) => {
  const clock = new FakeClock(START_MS);
  const running = await startDaemon(t, clock, { binocularsIntervalMinutes: 15 });
  const report = {
    metrics: [
      { name: 'longhorn_volume', tags: { instance_uuid: 'ab-12', cluster: 'c1' }, fields: { count: 12, size_bytes: 5e11, healthy: true } },
      { name: 'node', fields: { cpu: 3.5 } },
    ],
  };
  t.same(await send(running, 'POST', '/v1/metrics', report), { status: 200, body: { requestIntervalInMinutes: 15 } });
  const bad: [unknown, string][] = [
    [{ metrics: [{ name: 'x', fields: { a: 'text' } }] }, 'metrics[0].fields.a: Expected union value'],
    [{ metrics: [{ fields: { a: 1 } }] }, 'metrics[0].name: Expected required property'],
    [{ metrics: [{ name: 'x', tags: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, 'v'])), fields: { a: 1 } }] }, 'metrics[0]: 60 tags, more than maxTagsPerLine'],
    [{ metrics: [{ name: 'x', fields: { ['f'.repeat(300)]: 1 } }] }, 'metrics[0]: a field name is empty, or name.field is longer than maxNameLength'],
    [{ metric: [] }, 'metrics: Expected required property'],
  ];
  for (const [body, message] of bad) {
    const response = await send(running, 'POST', '/v1/metrics', body);
    t.equal(response.status, 400);
    t.match(response.body.error.message, message);
  }
  clock.advance(60_000);
  await running.daemon.written();
  const rows = readMetrics(running.dbPath);
  const tags = 'cluster:c1,instance_uuid:ab-12';
  t.match(row(rows, 'longhorn_volume.count', tags), { type: 'gauge', value: 12 });
  t.match(row(rows, 'longhorn_volume.size_bytes', tags), { value: 5e11 });
  t.match(row(rows, 'longhorn_volume.healthy', tags), { value: 1 });
  t.match(row(rows, 'node.cpu'), { value: 3.5 });
  t.match(row(rows, 'dattss.http_items_received'), { value: 4 });
});
