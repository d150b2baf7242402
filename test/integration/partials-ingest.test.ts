import { connect } from 'node:net';
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon, type MetricRow } from '../helpers/daemon.js';

// Partial-aggregate lines over UDP and TCP: merged exactly into the current
// 5-second partial beside ordinary lines, malformed ones counted and never
// half applied (docs/protocol.md, "Partial aggregates").

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);
const START_MS = MINUTE_START_MS + 2_000;

const row = (rows: MetricRow[], name: string): MetricRow | undefined => rows.find((r) => r.name === name);

t.test('partials over UDP merge with lines of the same series', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  await sendAndSettle(daemon, addresses.udp.port, [
    ['hits:1|c|#env:prod', '_p1|c|hits|env:prod|3|10', 'lat:5|ms', '_p1|ms|lat||2|2|30|500|10|20|10:20'].join('\n'),
    ['q:7|g', '_p1|g|q||~2|5|2|3|3|1|1|1|1|1', 'u:a|s', '_p1|s|u||3|a:b'].join('\n'),
  ]);
  clock.advance(5_000);
  await daemon.written();
  await sendAndSettle(daemon, addresses.udp.port, ['_p1|g|q||~1|-4|-4|-4|-4']);
  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath);
  t.match(row(rows, 'hits'), { tags: 'env:prod', count: 4, sum: 11 });
  const lat = row(rows, 'lat')!;
  t.match(lat, { count: 3, sum: 35, min: 5, max: 20 });
  t.ok(Math.abs(lat.p50! - 10) <= 0.1 && Math.abs(lat.p99! - 20) <= 0.2, `p50 ${lat.p50} and p99 ${lat.p99} within 1% of 10 and 20`);
  t.match(row(rows, 'q'), { count: 5, min: -3, max: 10, last: -3, sum: 7 + 9 + 10 + 1 - 3 }, 'offsets apply to the current value 7, then to 1');
  t.match(row(rows, 'u'), { value: 2, count: 4 });
  t.match(row(rows, 'dattss.partials_received'), { value: 5 });
  t.match(row(rows, 'dattss.lines_received'), { value: 9 });
  t.match(row(rows, 'dattss.bad_lines'), { value: 0 });
});

t.test('partials over TCP, newline-delimited, split across writes', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  const socket = connect(addresses.tcp!.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('_p1|c|tcp.hits||2|5\n_p1|ms|tcp.la');
  socket.write('t||1|1|4|16|4|4|4\n_p1|c|tcp.bad||x|1\n');
  await new Promise<void>((resolve) => socket.end(resolve));
  const deadline = Date.now() + 5000;
  while (daemon.stats().linesReceived < 3) {
    if (Date.now() > deadline) throw new Error('lines not received');
    await new Promise((resolve) => setImmediate(resolve));
  }
  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath);
  t.match(row(rows, 'tcp.hits'), { count: 2, sum: 5 });
  t.match(row(rows, 'tcp.lat'), { count: 1, sum: 4 });
  t.equal(row(rows, 'tcp.bad'), undefined);
  t.match(row(rows, 'dattss.bad_lines'), { value: 1 });
});

t.test('a malformed partial is refused whole and counted; its neighbours are kept', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  await sendAndSettle(daemon, addresses.udp.port, [
    ['_p1|ms|t||3|3|6|14|1|3|1:2', '_p1|s|u||1|a:b', '_p1|g|g||~1|5|5|5|5|1|2|2|2|9', 'ok:1|c', '_p9|c|v||1|1', '_p1|c|ok||1|2'].join('\n'),
  ]);
  t.match(daemon.stats(), { linesReceived: 6, badLines: 4 });
  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath, "name NOT LIKE 'dattss.%'");
  t.same(rows.map((r) => [r.name, r.count, r.sum]), [['ok', 2, 3]], 'nothing of the bad partials was applied');
  t.match(row(readMetrics(dbPath), 'dattss.partials_received'), { value: 1 });
});
