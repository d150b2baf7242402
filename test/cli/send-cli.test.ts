import { createSocket, type Socket } from 'node:dgram';
import t, { type Test } from 'tap';
import { failed, MINUTE_MS, ok, runCli } from '../helpers/cli.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { startDaemon } from '../helpers/daemon.js';

// `dattss send`, run as the real binary: against a plain UDP socket to see the datagrams, and
// against a daemon to see the lines counted and stored.

interface Receiver {
  port: number;
  datagrams: Buffer[];
  /** Resolves once `count` datagrams have arrived in all; fails after 5 s. */
  received(count: number): Promise<void>;
}

async function udpReceiver(t: Test): Promise<Receiver> {
  const socket: Socket = createSocket('udp4');
  const datagrams: Buffer[] = [];
  socket.on('message', (message) => datagrams.push(message));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => socket.close());
  return {
    port: socket.address().port,
    datagrams,
    async received(count) {
      const deadline = Date.now() + 5000;
      while (datagrams.length < count) {
        if (Date.now() > deadline) throw new Error(`received ${datagrams.length} of ${count} datagrams within 5 s`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}

/** Waits, bounded, until the daemon has counted `lines` lines in all. */
async function linesCounted(daemon: { stats(): { linesReceived: number } }, lines: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (daemon.stats().linesReceived < lines) {
    if (Date.now() > deadline) throw new Error(`daemon counted ${daemon.stats().linesReceived} of ${lines} lines within 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

t.test('lines are batched into datagrams of at most 1432 bytes, in order', async (t) => {
  const receiver = await udpReceiver(t);
  // 20 bytes a line: 68 lines and 67 newlines make 1427 bytes, a 69th would make 1448.
  const lines = Array.from({ length: 200 }, (_, i) => `batch.metric.${String(i).padStart(3, '0')}:1|c`);
  const run = await runCli(t, ['send', '--port', String(receiver.port), ...lines]);
  ok(t, run, 'send');
  t.equal(run.stdout, `sent 200 lines in 3 datagrams (4197 bytes) to 127.0.0.1:${receiver.port}\n`);
  await receiver.received(3);
  t.same(
    receiver.datagrams.map((d) => d.length),
    [1427, 1427, 64 * 20 + 63],
  );
  t.same(receiver.datagrams.map((d) => d.toString()).join('\n').split('\n'), lines, 'every line, in order, none split');
});

t.test('--agg values become statsd lines; stdin with -; the daemon counts and stores them', async (t) => {
  const clock = new FakeClock(MINUTE_MS + 2_000);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  const port = String(addresses.udp.port);
  let run = await runCli(t, [
    'send',
    'hits:1|c',
    '--agg', 'api.latency', '153ms',
    '--agg', 'api.latency', '47ms',
    '--agg', 'queue', '23g',
    '--agg', 'queue', '+3g',
    '--agg', 'queue=-2g',
    '--agg', 'jobs', '2c',
    'api.latency:100|ms|#env:prod',
    '--port', port,
    '--json',
  ]);
  ok(t, run, 'args and --agg');
  // 8 + 28 (the tagged line commander left among the --agg values) + 18 + 17 + 3 × 10 + 8 bytes, 7 newlines.
  t.same(JSON.parse(run.stdout), { lines: 8, datagrams: 1, bytes: 116, host: '127.0.0.1', port: Number(port) });
  run = await runCli(t, ['send', '-', '--port', port], { input: 'hits:2|c\r\n\nhits:3|c\n' });
  ok(t, run, 'stdin');
  t.equal(run.stdout, `sent 2 lines in 1 datagram (17 bytes) to 127.0.0.1:${port}\n`, 'empty lines skipped, CRLF tolerated');
  await linesCounted(daemon, 10);
  t.match(daemon.stats(), { packetsReceived: 2, linesReceived: 10, badLines: 0 });
  clock.advance(60_000);
  await daemon.written();

  const range = ['--db', dbPath, '--from', String(MINUTE_MS / 1000), '--to', String(MINUTE_MS / 1000 + 60), '--json'];
  const query = async (name: string, ...extra: string[]): Promise<unknown> => JSON.parse((await runCli(t, ['query', name, ...range, ...extra])).stdout);
  t.match(await query('api.latency', '--stat', 'count,min,max'), { series: 2, points: [{ count: 3, min: 47, max: 153 }] }, 'two --agg timers and a tagged line');
  t.match(await query('queue', '--stat', 'last,min,max'), { points: [{ last: 24, min: 23, max: 26 }] }, '23, +3, -2 as deltas');
  t.match(await query('jobs', '--stat', 'sum'), { points: [{ sum: 2 }] });
  t.match(await query('hits', '--stat', 'sum'), { points: [{ sum: 6 }] });
});

t.test('a bad line is named, nothing is sent, and the exit status is 2', async (t) => {
  const receiver = await udpReceiver(t);
  const port = String(receiver.port);
  failed(
    t,
    await runCli(t, ['send', 'hits:1|c', 'api.latency:fast|ms', '--port', port]),
    2,
    'dattss: line 2 "api.latency:fast|ms" is not a valid metric line: the value is not a number (bad_value); nothing was sent [DATTSS_CLI_USAGE]',
    'bad value',
  );
  failed(t, await runCli(t, ['send', 'hits|c', '--port', port]), 2, /line 1 "hits\|c" is not a valid metric line: no ":" between name and value \(missing_value\)/, 'no colon');
  failed(t, await runCli(t, ['send', 'hits:1|x', '--port', port]), 2, /\(unknown_type\)/, 'unknown type');
  failed(t, await runCli(t, ['send', 'lat:-1|ms', '--port', port]), 2, /a timer value is negative \(negative_timer\)/, 'negative timer');
  failed(t, await runCli(t, ['send', '_p1|c|hits||0|1', '--port', port]), 2, /a malformed _p1 partial-aggregate line .* \(bad_partial\)/, 'bad partial line');
  // A DogStatsD multi-value line that the parser accepts but no datagram holds.
  failed(t, await runCli(t, ['send', `lat${':1'.repeat(715)}|ms`, '--port', port]), 2, /^dattss: line 1 is 1436 bytes, more than a 1432-byte datagram holds; nothing was sent/, 'too long');
  failed(t, await runCli(t, ['send', '--agg', 'api.latency', 'fast', '--port', port]), 2, /^dattss: --agg api.latency: expected a value like 153ms, 1c, 23g, \+3g or -2g, got "fast"/, 'bad --agg value');
  failed(t, await runCli(t, ['send', '--agg', 'api.latency', '--port', port]), 2, /^dattss: --agg api.latency: a value is missing/, '--agg without a value');
  failed(t, await runCli(t, ['send', '--port', port]), 2, /^dattss: nothing to send: give statsd lines/, 'nothing');
  const badPort = await runCli(t, ['send', 'a:1|c', '--port', '70000']);
  t.equal(badPort.status, 1, 'bad port: exit status 1');
  t.match(badPort.stderr, /^dattss: invalid configuration:\n {2}- port \(from --port\): expected an integer from 0 to 65535, got 70000 \[DATTSS_CONFIG_INVALID\]\n$/, 'bad port');
  failed(t, await runCli(t, ['send', '--agg', 'queue', '-2g', '--port', port]), 2, "error: unknown option '-2g'", 'a lone negative value reads as an option');
  // Loopback delivers in order: a marker sent after the failures is the only datagram that arrived.
  ok(t, await runCli(t, ['send', 'marker:1|c', '--port', port]), 'marker');
  await receiver.received(1);
  t.same(receiver.datagrams.map(String), ['marker:1|c'], 'the failed sends sent nothing');
});
