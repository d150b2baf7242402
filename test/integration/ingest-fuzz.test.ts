import { connect } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { sendAndSettle, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

// Every ingest path fed hostile input by fast-check: the daemon never
// crashes, bad input is refused or counted, and good lines travelling with
// bad ones are counted exactly.

const START_MS = Date.UTC(2026, 0, 5, 10, 20, 2);
const GOOD = 'fuzz.ok:1|c';
/** Anything but a newline, invalid UTF-8 included. */
const GARBAGE = fc.oneof(
  fc.string({ maxLength: 120 }).map((text) => Buffer.from(text.replace(/\n/g, ''))),
  fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes.filter((b) => b !== 0x0a))),
  fc.constantFrom('fuzz.ok:1e400|c', 'fuzz.ok:NaN|c', 'fuzz.ok:1|c|@0', 'fuzz.ok', 'fuzz.ok:|c', '_e{9,9}:x|y').map((s) => Buffer.from(s)),
);
/** A datagram: good lines and garbage lines in random order; returns the bytes and how many good lines. */
const MIXED = fc.array(fc.oneof(fc.constant(null), GARBAGE), { minLength: 1, maxLength: 30 }).map((parts) => ({
  bytes: Buffer.concat(parts.flatMap((part, i) => [...(i === 0 ? [] : [Buffer.from('\n')]), part ?? Buffer.from(GOOD)])),
  good: parts.filter((part) => part === null).length,
}));

function goodCounted(running: RunningDaemon): number {
  return running.daemon.live({ name: 'fuzz.ok', type: 'counter' }).reduce((sum, series) => sum + (series.current ?? 0), 0);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

t.test('UDP: random datagrams of good and hostile lines', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS));
  let expected = 0;
  await fc.assert(
    fc.asyncProperty(MIXED, async ({ bytes, good }) => {
      await sendAndSettle(running.daemon, running.addresses.udp.port, [bytes]);
      expected += good;
      return goodCounted(running) === expected;
    }),
    { numRuns: 150, seed: 20261122 },
  );
  t.ok(running.daemon.stats().badLines > 0, 'bad lines counted');
  t.equal(goodCounted(running), expected, `all ${expected} good lines counted`);
});

t.test('TCP: the same stream cut at random places', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS));
  let expected = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(MIXED, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 8 }), async (datagrams, cuts) => {
      const stream = Buffer.concat(datagrams.flatMap((d) => [d.bytes, Buffer.from('\n')]));
      const points = [...new Set(cuts.map((c) => c % stream.length))].sort((a, b) => a - b);
      const socket = connect(running.addresses.tcp?.port as number, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      let from = 0;
      for (const point of [...points, stream.length]) {
        socket.write(stream.subarray(from, point));
        from = point;
      }
      await new Promise<void>((resolve) => socket.end(resolve));
      expected += datagrams.reduce((n, d) => n + d.good, 0);
      await until(() => goodCounted(running) >= expected, `${expected} good lines over TCP`);
      return goodCounted(running) === expected;
    }),
    { numRuns: 60, seed: 20261122 },
  );
  t.equal(goodCounted(running), expected);
});

t.test('HTTP ingest: random JSON never gets a 5xx and never takes the daemon down', async (t) => {
  const running = await startDaemon(t, new FakeClock(START_MS));
  const base = `http://127.0.0.1:${running.addresses.http?.port}`;
  const partial = fc.record(
    { pth: fc.oneof(fc.string(), fc.constant('ok.name')), nam: fc.string(), sum: fc.oneof(fc.double(), fc.jsonValue()), cnt: fc.oneof(fc.integer(), fc.jsonValue()), min: fc.double(), max: fc.double(), lst: fc.jsonValue() },
    { requiredKeys: [] },
  );
  const bodies = fc.oneof(
    fc.jsonValue(),
    fc.record({ prt: fc.record({ c: fc.array(partial), ms: fc.array(partial), g: fc.array(partial) }, { requiredKeys: [] }) }),
    fc.record({ metrics: fc.array(fc.record({ name: fc.string(), tags: fc.dictionary(fc.string(), fc.jsonValue()), fields: fc.dictionary(fc.string(), fc.jsonValue()) }, { requiredKeys: [] })) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(['PUT', '/agg'], ['POST', '/v1/metrics']), bodies, async ([method, path], body) => {
      const response = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) ?? 'null' });
      await response.arrayBuffer();
      return response.status < 500;
    }),
    { numRuns: 200, seed: 20261122 },
  );
  t.equal((await fetch(`${base}/api/health`)).status, 200, 'still serving');
  for (const series of running.daemon.live()) {
    t.ok(series.current === null || Number.isFinite(series.current), `${series.name}: finite`);
  }
});
