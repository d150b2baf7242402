import { createSocket, type Socket } from 'node:dgram';
import t, { type Test } from 'tap';
import { dattss, type ClientOptions, type DattssClient, type DattssError } from '../../src/client/index.js';
import { TimerPartial } from '../../src/aggregate/partial.js';
import { LineParser } from '../../src/ingest/parser.js';
import { FakeClock } from '../helpers/fake-clock.js';

// The client SDK's contract against a plain UDP socket that records every
// datagram: what goes on the wire, batching at the MTU, the never-throw
// promise, start/stop/close, and its memory bounds.

const START_MS = Date.UTC(2026, 0, 5, 10, 20, 1);

interface Receiver {
  port: number;
  datagrams: string[];
  /** Waits until every datagram the client counted as sent has arrived. */
  settle(client: DattssClient): Promise<void>;
  lines(): string[];
}

async function receiver(t: Test): Promise<Receiver> {
  const socket: Socket = createSocket('udp4');
  const datagrams: string[] = [];
  socket.on('message', (message) => datagrams.push(message.toString()));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => socket.close());
  return {
    port: socket.address().port,
    datagrams,
    async settle(client) {
      await client.flush();
      const deadline = Date.now() + 5000;
      while (datagrams.length < client.stats().datagramsSent) {
        if (Date.now() > deadline) throw new Error('datagrams lost on loopback');
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    lines: () => datagrams.flatMap((datagram) => datagram.split('\n')),
  };
}

function client(t: Test, port: number, options: ClientOptions = {}): { client: DattssClient; errors: DattssError[]; clock: FakeClock } {
  const errors: DattssError[] = [];
  const clock = new FakeClock(START_MS);
  const c = dattss({ port, clock, onError: (error) => void errors.push(error), ...options });
  t.teardown(() => c.close());
  return { client: c, errors, clock };
}

t.test('partials: one line per series and interval, sent 250 ms before each 5-second boundary', async (t) => {
  const rx = await receiver(t);
  const { client: c, clock } = client(t, rx.port, { prefix: 'app.', tags: { env: 'prod', host: 'a' } });
  c.agg('hits', '1c');
  c.agg('hits', '2c!');
  c.increment('hits');
  c.agg('db.query', '153ms');
  c.timing('db.query', 12.5);
  c.agg('queue', '+3g');
  c.agg('queue', '-2g');
  c.agg('queue', '23g');
  c.gaugeDelta('queue', 4);
  c.agg('users', 'user42s');
  c.set('users', 7);
  c.set('users', 'user42');
  c.agg('hits', '1c', { env: 'dev', canary: '' });
  clock.advance(3_749);
  t.equal(c.stats().datagramsSent + rx.datagrams.length, 0, 'nothing before the tick');
  clock.advance(1);
  await c.flush();
  t.equal(c.stats().datagramsSent, 1, 'the tick at 10:20:04.750 sent one datagram');
  await rx.settle(c);
  t.same(rx.lines().sort(), [
    '_p1|c|app.hits|canary,env:dev,host:a|1|1',
    '_p1|c|app.hits|env:prod,host:a|3|4',
    '_p1|g|app.queue|env:prod,host:a|~2|4|1|3|1|2|50|23|27|27',
    '_p1|ms|app.db.query|env:prod,host:a|2|2|165.5|23565.25|12.5|153|153:12.5',
    '_p1|s|app.users|env:prod,host:a|3|user42:7',
  ]);
  t.match(c.stats(), { samples: 13, invalid: 0, datagramsSent: 1 });
  clock.advance(5_000);
  await c.flush();
  t.equal(c.stats().datagramsSent, 1, 'an empty interval sends nothing');
});

t.test('lines mode: plain statsd lines, a negative gauge set through 0', async (t) => {
  const rx = await receiver(t);
  const { client: c } = client(t, rx.port, { mode: 'lines', tags: { env: 'prod' } });
  c.agg('hits', '2c');
  c.timing('lat', 1.5);
  c.gauge('depth', -5);
  c.agg('depth', '+3g');
  c.agg('depth', '-1g');
  c.set('u', 'alice');
  await rx.settle(c);
  t.same(rx.lines(), ['hits:2|c|#env:prod', 'lat:1.5|ms|#env:prod', 'depth:0|g|#env:prod', 'depth:-5|g|#env:prod', 'depth:+3|g|#env:prod', 'depth:-1|g|#env:prod', 'u:alice|s|#env:prod']);
});

t.test('no datagram exceeds the MTU; what cannot fit is split, sketched or dropped and counted', async (t) => {
  for (const mode of ['partials', 'lines'] as const) {
    const rx = await receiver(t);
    const { client: c, errors } = client(t, rx.port, { mode, mtu: 300 });
    for (let i = 0; i < 200; i++) c.increment(`series.with.a.longish.name.${i}`, i);
    for (let i = 0; i < 400; i++) c.set('members', `member-${i}`);
    for (let i = 0; i < 32; i++) c.timing('slow', 1_000_000.123456 + i);
    // 1 to 8e15: too many sketch bins for one line (partials only: as lines, a burst the receiver cannot keep up with).
    if (mode === 'partials') for (let i = 0; i < 3000; i++) c.timing('wide', 1.0123 ** i);
    c.increment('x'.repeat(400));
    await rx.settle(c);
    t.ok(rx.datagrams.length > 10, `${mode}: ${rx.datagrams.length} datagrams`);
    t.same(rx.datagrams.filter((d) => Buffer.byteLength(d) > 300), [], `${mode}: none over 300 bytes`);
    t.equal(c.stats().droppedOversize, 1, `${mode}: the 400-byte name is dropped`);
    t.match(errors, [{ code: 'DATTSS_CLIENT_DROPPED' }]);
    if (mode === 'partials') {
      const lines = rx.lines();
      const members = lines.filter((line) => line.startsWith('_p1|s|members|')).flatMap((line) => line.split('|')[5]!.split(':'));
      t.equal(new Set(members).size, 400, 'the set is split over lines, every member once');
      t.ok(lines.filter((line) => line.startsWith('_p1|s|members|')).length > 1);
      t.match(lines.find((line) => line.startsWith('_p1|ms|slow|')), /\|=[A-Za-z0-9+/]+=*$/, '32 long values do not fit: the timer goes as a sketch');
      t.equal(lines.filter((line) => line.startsWith('_p1|c|series')).length, 200);
      const wide = lines.filter((line) => line.startsWith('_p1|ms|wide|'));
      t.ok(wide.length > 1, `the wide timer's sketch is split over ${wide.length} lines`);
      const merged = new TimerPartial();
      const parser = new LineParser({ sanitizeNames: true, maxNameLength: 250, maxTagsPerLine: 32, maxTagLength: 200, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1024 });
      parser.parse(Buffer.from(wide.join('\n')), {
        sample: () => t.fail('no samples'),
        event: () => undefined,
        serviceCheck: () => undefined,
        badLine: (reason) => t.fail(reason),
        partial: (record) => merged.merge(record.partial as TimerPartial),
      });
      const direct = new TimerPartial();
      for (let i = 0; i < 3000; i++) direct.add(1.0123 ** i, 1);
      t.match(merged, { count: 3000, samples: 3000, sum: direct.sum, sumSquares: direct.sumSquares, min: 1, max: direct.max }, 'the pieces merge back exactly');
      t.same([0.5, 0.9, 0.99].map((q) => merged.sketch!.getValueAtQuantile(q)), [0.5, 0.9, 0.99].map((q) => direct.sketch!.getValueAtQuantile(q)));
    } else {
      t.equal(rx.lines().length, 200 + 400 + 32);
    }
  }
});

t.test('agg and the helpers never throw: bad input is counted and reported', async (t) => {
  const rx = await receiver(t);
  const { client: c, errors } = client(t, rx.port);
  const bad: [string, unknown][] = [
    ['a', '12'],
    ['a', 'ms'],
    ['a', '1.5.5ms'],
    ['a', '-5ms'],
    ['a', '1e400c'],
    ['a', '0x10c'],
    ['a', '12msfoo'],
    ['a', 's'],
    ['a', 'a:bs'],
    ['a', ''],
    ['a', 12],
    ['a', null],
    ['', '1c'],
    ['a:b', '1c'],
    ['a|b', '1c'],
    ['a\nb', '1c'],
  ];
  for (const [name, value] of bad) t.doesNotThrow(() => c.agg(name, value as string), `${JSON.stringify(name)} ${JSON.stringify(value)}`);
  c.agg('a', '1c', { 'k:x': 'v' });
  c.agg('a', '1c', { k: 'a,b' });
  c.agg('a', '1c', 'env:prod' as never);
  c.increment('a', Number.NaN);
  c.timing('a', -1);
  c.gauge('a', Number.POSITIVE_INFINITY);
  c.set('a', '  ');
  c.set('a', 'x|y');
  c.increment(undefined as never);
  const hostile = { get k(): string { throw new Error('a getter that throws'); } };
  c.agg('a', '1c', hostile);
  c.increment('a', 1, hostile);
  t.equal(c.stats().invalid, bad.length + 11);
  t.equal(errors.length, bad.length + 11);
  t.match(errors.at(-1), { message: /unexpected: Error: a getter that throws/ });
  t.ok(errors.every((error) => error.code === 'DATTSS_CLIENT_INVALID'));
  t.equal(c.stats().samples, 0);

  const throwing = dattss({ port: rx.port, clock: new FakeClock(START_MS), onError: () => { throw new Error('a broken callback'); } });
  t.doesNotThrow(() => throwing.agg('a', 'zz'), "onError's own failure is swallowed");
  await throwing.close();
  t.throws(() => dattss({ mtu: 10 }), { code: 'DATTSS_CLIENT_OPTIONS' }, 'bad options are refused at construction');
  t.throws(() => dattss({ mode: 'json' as never }), { code: 'DATTSS_CLIENT_OPTIONS' });
  t.throws(() => dattss({ tags: { 'a:b': 'c' } }), { code: 'DATTSS_CLIENT_OPTIONS' });
});

t.test('send failures are swallowed and counted', async (t) => {
  // Broadcasting without SO_BROADCAST fails with EACCES in the kernel: a send error that never leaves the host.
  const { client: c, errors } = client(t, 8125, { host: '255.255.255.255', mode: 'lines' });
  c.increment('a');
  await t.resolves(c.flush());
  t.match(c.stats(), { sendErrors: 1, datagramsSent: 0 });
  t.match(errors, [{ code: 'DATTSS_CLIENT_SEND', cause: { code: 'EACCES' } }]);

  // Nothing listens on a closed port: UDP cannot tell, and the client goes on.
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
  const closedPort = probe.address().port;
  await new Promise<void>((resolve) => probe.close(resolve));
  const { client: quiet } = client(t, closedPort);
  quiet.increment('a');
  await t.resolves(quiet.flush());
  quiet.increment('a');
  await t.resolves(quiet.close());
  t.match(quiet.stats(), { samples: 2, datagramsSent: 2 });

  // Too many datagrams waiting at once: the rest fail at once instead of queueing without bound.
  const rx = await receiver(t);
  const flood = client(t, rx.port, { mode: 'lines', mtu: 64 });
  for (let i = 0; i < 1500; i++) flood.client.increment(`flood.${i}.${'x'.repeat(40)}`);
  await flood.client.flush();
  const stats = flood.client.stats();
  t.equal(stats.datagramsSent + stats.sendErrors, 1500);
  t.ok(stats.sendErrors > 0 && stats.datagramsSent >= 1000, `${stats.datagramsSent} sent, ${stats.sendErrors} refused`);
});

t.test('start() and stop() are idempotent; stopped drops and counts, sends nothing', async (t) => {
  const rx = await receiver(t);
  const { client: c, clock } = client(t, rx.port, { started: false });
  c.increment('a');
  t.equal(clock.pendingTimers, 0, 'not started: no timer');
  c.start();
  c.start();
  t.equal(clock.pendingTimers, 1, 'one flush timer however often start() is called');
  c.increment('a');
  c.increment('a');
  c.stop();
  c.stop();
  t.equal(clock.pendingTimers, 0);
  c.increment('a');
  clock.advance(10_000);
  await c.flush();
  t.match(c.stats(), { samples: 2, droppedStopped: 4, datagramsSent: 0 }, 'one before start, two discarded by stop, one after');
  c.start();
  c.increment('a', 5);
  clock.advance(5_000);
  await rx.settle(c);
  t.same(rx.lines(), ['_p1|c|a||1|5'], 'restarted: only what came after');
});

t.test('close() delivers what is pending, once; afterwards samples are dropped', async (t) => {
  const rx = await receiver(t);
  const { client: c, clock } = client(t, rx.port);
  c.increment('a', 3);
  c.agg('b', '7ms');
  const closing = c.close();
  t.equal(c.close(), closing, 'the same promise');
  await closing;
  t.equal(clock.pendingTimers, 0);
  await rx.settle(c);
  t.same(rx.lines().sort(), ['_p1|c|a||1|3', '_p1|ms|b||1|1|7|49|7|7|7']);
  c.increment('a');
  c.start();
  await c.flush();
  t.match(c.stats(), { droppedStopped: 1, datagramsSent: 1 });
});

t.test('memory is bounded: series and set members per interval, the overflow counted', async (t) => {
  const rx = await receiver(t);
  const { client: c, errors } = client(t, rx.port, { maxSeries: 3, maxSetMembers: 2 });
  for (const name of ['a', 'b', 'c', 'd', 'e']) c.increment(name);
  c.increment('a');
  c.set('a', 'x');
  t.equal(c.stats().droppedOverflow, 3, 'd, e and the set a are series 4 to 6');
  await rx.settle(c);
  t.equal(rx.lines().length, 3);
  c.set('s', 'x');
  c.set('s', 'y');
  c.set('s', 'x');
  c.set('s', 'z');
  t.equal(c.stats().droppedOverflow, 4, 'z is a third member');
  await rx.settle(c);
  t.same(rx.lines().slice(3), ['_p1|s|s||3|x:y']);
  t.equal(errors.length, 4);
});

t.test('time() records sync and async durations and rethrows unchanged', async (t) => {
  const rx = await receiver(t);
  const { client: c, clock } = client(t, rx.port);
  const after = (ms: number): void => clock.advance(ms);
  t.equal(c.time('sync', () => (after(25), 42)), 42);
  const failure = new Error('boom');
  t.throws(() => c.time('sync', () => { after(5); throw failure; }), failure);
  t.equal(await c.time('async', async () => (after(10), 'ok')), 'ok');
  const rejected = c.time('async', () => Promise.reject(failure));
  await t.rejects(rejected, failure);
  let caught: unknown;
  await rejected.catch((error: unknown) => (caught = error));
  t.equal(caught, failure, 'the very same error object');
  await rx.settle(c);
  t.same(rx.lines().sort(), ['_p1|ms|async||2|2|10|100|0|10|10:0', '_p1|ms|sync||2|2|30|650|5|25|25:5']);
});

t.test('with the system clock, close() sends what is pending', async (t) => {
  const rx = await receiver(t);
  const real = dattss({ port: rx.port });
  real.increment('real');
  await real.close();
  await rx.settle(real);
  t.same(rx.lines(), ['_p1|c|real||1|1']);
});
