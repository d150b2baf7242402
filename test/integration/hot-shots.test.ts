import t, { type Test } from 'tap';
import BetterSqlite3 from 'better-sqlite3';
import { StatsD, type ClientOptions } from 'hot-shots';
import type { Daemon } from '../../src/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, startDaemon, type MetricRow } from '../helpers/daemon.js';

// A real, widely used client drives the daemon in its three dialects: plain
// statsd, DogStatsD (the default) and Telegraf. Every call becomes one line,
// buffered by hot-shots into multi-metric datagrams.

const START_MS = Date.UTC(2026, 0, 5, 10, 20, 2);

async function until(daemon: Daemon, lines: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (daemon.stats().linesReceived < lines) {
    if (Date.now() > deadline) throw new Error(`daemon got ${daemon.stats().linesReceived} of ${lines} lines`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** hot-shots samples with Math.random(); pinned to 0 every sampled call is sent, with its rate. */
function pinRandom(t: Test): void {
  const random = Math.random;
  Math.random = () => 0;
  t.teardown(() => {
    Math.random = random;
  });
}

async function withClient(options: ClientOptions, use: (client: StatsD) => number): Promise<number> {
  const client = new StatsD({ host: '127.0.0.1', protocol: 'udp', maxBufferSize: 1000, bufferFlushInterval: 60_000, ...options });
  const lines = use(client);
  await new Promise<void>((resolve, reject) => client.close((error) => (error ? reject(error) : resolve())));
  return lines;
}

function one(rows: MetricRow[], name: string, tags = ''): MetricRow {
  const found = rows.filter((row) => row.name === name && row.tags === tags);
  if (found.length !== 1) throw new Error(`${found.length} rows for ${name} {${tags}}: ${JSON.stringify(rows.map((r) => [r.name, r.tags]))}`);
  return found[0] as MetricRow;
}

t.test('hot-shots, DogStatsD mode: tags, rates, every metric type, events and service checks', async (t) => {
  pinRandom(t);
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  const lines = await withClient({ port: addresses.udp.port, globalTags: { env: 'test' } }, (client) => {
    for (let i = 0; i < 10; i++) client.increment('shop.orders', 1, ['region:eu']);
    for (let i = 0; i < 10; i++) client.increment('shop.orders', 2, 0.5, ['region:us']);
    for (let i = 1; i <= 100; i++) client.timing('shop.checkout', i, ['region:eu']);
    client.gauge('shop.queue', 10);
    client.gaugeDelta('shop.queue', 5);
    client.gaugeDelta('shop.queue', -3);
    client.set('shop.users', 'alice');
    client.set('shop.users', 'bob');
    client.unique('shop.users', 'alice');
    for (let i = 1; i <= 4; i++) client.histogram('shop.size', i * 10);
    for (let i = 1; i <= 5; i++) client.distribution('shop.latency', i);
    client.event('deploy', 'version 1.2.3\nrolled out', { alert_type: 'success', hostname: 'web-1', priority: 'low' }, ['team:shop']);
    client.check('shop.db', client.CHECKS.WARNING, { hostname: 'db-1', message: 'replica lag' }, ['role:replica']);
    return 20 + 100 + 3 + 3 + 4 + 5 + 2;
  });
  await until(daemon, lines);
  t.equal(daemon.stats().badLines, 0, 'nothing hot-shots sent was rejected');
  t.ok(daemon.stats().packetsReceived < lines / 10, `buffered into ${daemon.stats().packetsReceived} datagrams`);

  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath, "name LIKE 'shop.%'");
  t.match(one(rows, 'shop.orders', 'env:test,region:eu'), { type: 'counter', value: 10, count: 10 });
  t.match(one(rows, 'shop.orders', 'env:test,region:us'), { type: 'counter', value: 40, count: 20 }, '@0.5 scales up');
  const checkout = one(rows, 'shop.checkout', 'env:test,region:eu');
  t.match(checkout, { type: 'timer', count: 100, min: 1, max: 100, value: 50.5 });
  t.ok(Math.abs((checkout.p99 as number) - 99) <= 0.99, `p99 ${checkout.p99}`);
  t.match(one(rows, 'shop.queue', 'env:test'), { type: 'gauge', value: 12 });
  t.match(one(rows, 'shop.users', 'env:test'), { type: 'set', value: 2, count: 3 });
  t.match(one(rows, 'shop.size', 'env:test'), { type: 'timer', count: 4, sum: 100 }, 'histograms are timers');
  t.match(one(rows, 'shop.latency', 'env:test'), { type: 'timer', count: 5, sum: 15 }, 'distributions are timers');

  const db = new BetterSqlite3(dbPath, { readonly: true });
  t.teardown(() => db.close());
  t.match(db.prepare('SELECT * FROM events').all(), [
    { title: 'deploy', text: 'version 1.2.3\nrolled out', alert_type: 'success', hostname: 'web-1', priority: 'low', tags: 'env:test,team:shop' },
  ]);
  t.match(db.prepare('SELECT * FROM service_checks').all(), [
    { name: 'shop.db', status: 1, hostname: 'db-1', message: 'replica lag', tags: 'env:test,role:replica' },
  ]);
});

t.test('hot-shots, Telegraf mode: tags in the name', async (t) => {
  pinRandom(t);
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  const lines = await withClient({ port: addresses.udp.port, telegraf: true, globalTags: { env: 'test' } }, (client) => {
    for (let i = 0; i < 5; i++) client.increment('tg.hits', 1, 0.25, { host: 'a' });
    client.timing('tg.lat', 7, { host: 'a' });
    client.gauge('tg.mem', 512, { host: 'a' });
    client.set('tg.ids', 'x', { host: 'a' });
    return 8;
  });
  await until(daemon, lines);
  t.equal(daemon.stats().badLines, 0);
  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath, "name LIKE 'tg.%'");
  t.match(one(rows, 'tg.hits', 'env:test,host:a'), { type: 'counter', value: 20 });
  t.match(one(rows, 'tg.lat', 'env:test,host:a'), { type: 'timer', value: 7 });
  t.match(one(rows, 'tg.mem', 'env:test,host:a'), { type: 'gauge', value: 512 });
  t.match(one(rows, 'tg.ids', 'env:test,host:a'), { type: 'set', value: 1 });
});

t.test('hot-shots, plain statsd (no tags) over TCP', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  const lines = await withClient({ port: addresses.tcp?.port as number, protocol: 'tcp', prefix: 'plain.' }, (client) => {
    client.increment('hits', 3);
    client.decrement('hits', 1);
    client.timing('lat', 12);
    client.gauge('load', 0.5);
    return 4;
  });
  await until(daemon, lines);
  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath, "name LIKE 'plain.%'");
  t.match(one(rows, 'plain.hits'), { value: 2 });
  t.match(one(rows, 'plain.lat'), { value: 12 });
  t.match(one(rows, 'plain.load'), { value: 0.5 });
});
