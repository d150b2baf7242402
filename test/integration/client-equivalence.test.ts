import fc from 'fast-check';
import t from 'tap';
import { dattss, type DattssClient } from '../../src/client/index.js';
import type { Daemon } from '../../src/daemon.js';
import { SKETCH_RELATIVE_ACCURACY } from '../../src/protocol/metric-type.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon, type MetricRow } from '../helpers/daemon.js';

// The SDK's promise: sending samples through it in partials mode gives the
// same minute rows as sending every sample as its own statsd line. A random
// stream goes both ways into two in-process daemons on fake clocks; the
// exact fields must be equal, the percentiles within the sketch's bound.
// Values are integers, so sums are exact whatever the order of additions
// (docs/client.md says what happens to rounding otherwise).

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);
const START_MS = MINUTE_START_MS + 40_000; // eight intervals before a minute boundary
const INTERVAL_MS = 5_000;

type Kind = 'counter' | 'timer' | 'gauge' | 'delta' | 'set';
interface StreamSample {
  kind: Kind;
  series: number;
  value: number;
  tagged: boolean;
}

const SAMPLE = fc.record({
  kind: fc.constantFrom<Kind>('counter', 'timer', 'timer', 'gauge', 'delta', 'set'),
  series: fc.nat(2),
  value: fc.integer({ min: -1000, max: 100_000 }),
  tagged: fc.boolean(),
});
/** Some intervals burst past the 32 exact timer values, so sketches travel too. */
const INTERVAL = fc.oneof(fc.array(SAMPLE, { maxLength: 25 }), fc.array(SAMPLE.map((s) => ({ ...s, kind: 'timer' as const, series: 0 })), { minLength: 30, maxLength: 90 }));
const STREAM = fc.array(INTERVAL, { minLength: 1, maxLength: 16 });

const NAME: Record<Kind, string> = { counter: 'c', timer: 't', gauge: 'g', delta: 'g', set: 's' };

function line(sample: StreamSample): string {
  const name = `${NAME[sample.kind]}${sample.series}`;
  const tags = sample.tagged ? '|#env:a' : '';
  switch (sample.kind) {
    case 'counter':
      return `${name}:${sample.value}|c${tags}`;
    case 'timer':
      return `${name}:${Math.abs(sample.value)}|ms${tags}`;
    case 'gauge':
      return `${name}:${Math.abs(sample.value)}|g${tags}`;
    case 'delta':
      return `${name}:${sample.value < 0 ? sample.value : `+${sample.value}`}|g${tags}`;
    case 'set':
      return `${name}:m${sample.value % 40}|s${tags}`;
  }
}

function send(client: DattssClient, sample: StreamSample): void {
  const name = `${NAME[sample.kind]}${sample.series}`;
  const tags = sample.tagged ? { env: 'a' } : undefined;
  switch (sample.kind) {
    case 'counter':
      return client.agg(name, `${sample.value}c`, tags);
    case 'timer':
      return client.agg(name, `${Math.abs(sample.value)}ms`, tags);
    case 'gauge':
      return client.agg(name, `${Math.abs(sample.value)}g`, tags);
    case 'delta':
      return client.agg(name, `${sample.value < 0 ? sample.value : `+${sample.value}`}g`, tags);
    case 'set':
      return client.agg(name, `m${sample.value % 40}s`, tags);
  }
}

/** Waits until the daemon has received every datagram the client sent. */
async function settle(daemon: Daemon, client: DattssClient): Promise<void> {
  await client.flush();
  const deadline = Date.now() + 5000;
  while (daemon.stats().packetsReceived < client.stats().datagramsSent) {
    if (Date.now() > deadline) throw new Error('the daemon did not receive every datagram within 5 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function userRows(dbPath: string): MetricRow[] {
  return readMetrics(dbPath, "name NOT LIKE 'dattss.%'");
}

const QUANTILES = ['p50', 'p90', 'p95', 'p99'] as const;

t.test('a random stream gives the same minute rows as lines and as SDK partials', async (t) => {
  let runs = 0;
  let sketchRuns = 0;
  await fc.assert(
    fc.asyncProperty(STREAM, async (stream) => {
      const lineClock = new FakeClock(START_MS);
      const sdkClock = new FakeClock(START_MS);
      const direct = await startDaemon(t, lineClock);
      const viaSdk = await startDaemon(t, sdkClock);
      // The client's own timers never fire: the test flushes it at the end of each interval.
      const client = dattss({ port: viaSdk.addresses.udp.port, clock: new FakeClock(START_MS), onError: (error) => t.fail(error.message) });
      try {
        for (const interval of stream) {
          const lines = interval.map(line);
          const datagrams: string[] = [];
          for (let i = 0; i < lines.length; i += 20) datagrams.push(lines.slice(i, i + 20).join('\n'));
          if (datagrams.length > 0) await sendAndSettle(direct.daemon, direct.addresses.udp.port, datagrams);
          for (const sample of interval) send(client, sample);
          await settle(viaSdk.daemon, client);
          lineClock.advance(INTERVAL_MS);
          sdkClock.advance(INTERVAL_MS);
        }
        await client.close();
      } finally {
        await Promise.all([direct.daemon.stop(), viaSdk.daemon.stop()]);
      }
      const expected = userRows(direct.dbPath);
      const actual = userRows(viaSdk.dbPath);
      const exact = (rows: MetricRow[]): unknown[] => rows.map((row) => ({ ...row, p50: null, p90: null, p95: null, p99: null }));
      if (JSON.stringify(exact(actual)) !== JSON.stringify(exact(expected))) {
        throw new Error(`rows differ:\n${JSON.stringify(exact(expected))}\n${JSON.stringify(exact(actual))}`);
      }
      expected.forEach((row, i) => {
        for (const q of QUANTILES) {
          const want = row[q];
          const got = (actual[i] as MetricRow)[q];
          if (want === null || got === null ? want !== got : Math.abs(got - want) > SKETCH_RELATIVE_ACCURACY * Math.abs(want)) {
            throw new Error(`${row.name} ${q}: ${got} vs ${want}`);
          }
        }
      });
      runs++;
      if (stream.some((interval) => interval.length >= 33)) sketchRuns++;
    }),
    { numRuns: 30, seed: 20261130 },
  );
  t.equal(runs, 30, '30 random streams, each into two daemons');
  t.ok(sketchRuns > 0, `${sketchRuns} streams sent timers past 32 values (as sketches)`);
});

t.test("the client's own ticks land each partial in the minute its samples belong to", async (t) => {
  // Client and daemon share one clock, as on one host: the client ticks 250 ms before each
  // boundary, so the partial of 10:20:55–10:21:00 arrives while that interval is still current.
  const clock = new FakeClock(MINUTE_START_MS + 56_000);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  const client = dattss({ port: addresses.udp.port, clock });
  t.teardown(() => client.close());
  client.increment('late.in.the.minute', 7);
  clock.advance(3_750); // 10:20:59.750: the client's tick
  await daemon.written();
  await settle(daemon, client);
  t.equal(client.stats().datagramsSent, 1);
  client.increment('late.in.the.minute', 1); // the last 250 ms go with the next partial
  clock.advance(5_000);
  await daemon.written();
  await settle(daemon, client);
  clock.advance(60_000);
  await daemon.written();
  t.same(
    userRows(dbPath).map((row) => [row.ts - MINUTE_START_MS / 1000, row.sum]),
    [
      [0, 7],
      [60, 1],
    ],
  );
});
