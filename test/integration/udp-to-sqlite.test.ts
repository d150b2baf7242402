import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { sendFromChild } from '../helpers/held-sender.js';
import { readMetrics, sendAndSettle, startDaemon, type MetricRow } from '../helpers/daemon.js';
import { batchReaderMissing } from '../../src/ingest/udp-socket.js';

// 2026-01-05T10:20:02Z: two seconds into a minute, so the first samples land
// in that minute's first 5-second interval.
const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);
const START_MS = MINUTE_START_MS + 2_000;

function byName(rows: MetricRow[], name: string): MetricRow {
  const matching = rows.filter((row) => row.name === name);
  if (matching.length !== 1) throw new Error(`expected one row for ${name}, got ${matching.length}`);
  return matching[0] as MetricRow;
}

t.test('UDP lines across a minute boundary give the exact metrics_1m rows', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  const port = addresses.udp.port;

  // Counters: 100 × 1 plus 10 × 2 at rate 0.5, spread over two 5 s intervals.
  await sendAndSettle(daemon, port, Array.from({ length: 100 }, () => 'c1:1|c'));
  clock.advance(5_000);
  await daemon.written();
  await sendAndSettle(daemon, port, Array.from({ length: 10 }, () => 'c1:2|c|@0.5'));
  // Timings 1..1000, twenty lines per datagram, over several intervals.
  for (let batch = 0; batch < 50; batch++) {
    const lines = Array.from({ length: 20 }, (_, i) => `t1:${batch * 20 + i + 1}|ms`).join('\n');
    await sendAndSettle(daemon, port, [lines]);
    if (batch % 10 === 9) clock.advance(5_000);
  }
  // Gauge 10, +5, -3 in one datagram (ordered), sets a, b, a.
  await sendAndSettle(daemon, port, ['g1:10|g\ng1:+5|g\ng1:-3|g', 's1:a|s\ns1:b|s', 's1:a|s']);

  t.same(readMetrics(dbPath), [], 'nothing is written before the minute ends');
  clock.advance(MINUTE_START_MS + 60_000 - clock.now());
  await daemon.written();

  const rows = readMetrics(dbPath);
  const ts = MINUTE_START_MS / 1000;
  const c1 = byName(rows, 'c1');
  t.match(c1, { type: 'counter', tags: '', ts, value: 140, sum: 140, count: 120 }, 'counter 100×1 + 10×2@0.5');

  const t1 = byName(rows, 't1');
  t.match(t1, { type: 'timer', ts, count: 1000, min: 1, max: 1000, sum: 500500, value: 500.5 });
  t.ok(Math.abs((t1.p99 as number) - 990) / 990 <= 0.01, `p99 ${t1.p99} within 1% of 990`);
  t.ok(Math.abs((t1.p50 as number) - 500) / 500 <= 0.01, `p50 ${t1.p50} within 1% of 500`);

  const g1 = byName(rows, 'g1');
  t.match(g1, { type: 'gauge', ts, value: 12, last: 12, min: 10, max: 15, count: 3 });
  t.match(byName(rows, 's1'), { type: 'set', ts, value: 2, count: 3 });

  t.match(byName(rows, 'dattss.packets_received'), { type: 'counter', ts, value: daemon.stats().packetsReceived });
  t.match(byName(rows, 'dattss.lines_received'), { value: 100 + 10 + 1000 + 3 + 3 });
  t.match(byName(rows, 'dattss.bad_lines'), { value: 0 });
  t.equal(rows.filter((row) => !row.name.startsWith('dattss.')).length, 4, 'one row per user series');
});

t.test('bad lines are counted, never fatal, and good lines beside them are kept', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  await sendAndSettle(daemon, addresses.udp.port, [
    'ok:1|c\nbad-no-colon\nok:2|c|@0\nok:x|c\nok:4|zz\nok:-1|ms\nok:3|c',
    Buffer.from([0xff, 0xfe, 0x3a, 0x7c, 0x0a]),
  ]);
  t.match(daemon.stats(), { packetsReceived: 2, linesReceived: 8, badLines: 6 });
  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath);
  t.match(byName(rows, 'ok'), { type: 'counter', value: 4 });
  t.match(byName(rows, 'dattss.bad_lines'), { value: 6 });
});

t.test('stop() writes the unfinished minute; a restart merges into the same row', async (t) => {
  const clock = new FakeClock(START_MS);
  const first = await startDaemon(t, clock);
  await sendAndSettle(first.daemon, first.addresses.udp.port, ['m:5|c\nlat:10|ms\nlat:30|ms\ng:7|g\nu:a|s']);
  await first.daemon.stop();
  const afterFirst = readMetrics(first.dbPath, "name NOT LIKE 'dattss.%'");
  t.match(afterFirst, [
    { name: 'g', value: 7 },
    { name: 'lat', count: 2, min: 10, max: 30 },
    { name: 'm', value: 5 },
    { name: 'u', value: 1 },
  ]);

  clock.advance(20_000); // same minute, a later interval
  const second = await startDaemon(t, clock, { db: first.dbPath });
  await sendAndSettle(second.daemon, second.addresses.udp.port, ['m:2|c\nlat:50|ms\ng:9|g\nu:a|s\nu:b|s']);
  await second.daemon.stop();
  const merged = readMetrics(first.dbPath, "name NOT LIKE 'dattss.%'");
  t.equal(merged.length, 4, 'still one row per series and minute');
  t.match(merged, [
    { name: 'g', value: 9, last: 9, min: 7, max: 9, count: 2 },
    { name: 'lat', count: 3, min: 10, max: 50, sum: 90, value: 30 },
    { name: 'm', value: 7, count: 2 },
    { name: 'u', value: 2, count: 3 },
  ]);
  // Nearest-rank p99 of 10, 30, 50 is 50; the first run alone had only 10 and 30.
  const lat = merged.find((row) => row.name === 'lat') as MetricRow;
  t.ok(Math.abs((lat.p99 as number) - 50) / 50 <= 0.01, `merged p99 ${lat.p99} comes from the merged sketch`);
  t.ok(Math.abs((lat.p50 as number) - 30) / 30 <= 0.01, `merged p50 ${lat.p50} comes from the merged sketch`);
});

t.test('live values and 1-minute moving averages through the daemon API', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses } = await startDaemon(t, clock);
  const port = addresses.udp.port;
  // 12 intervals of 5 s, each with 6 increments and one timing.
  for (let interval = 0; interval < 12; interval++) {
    await sendAndSettle(daemon, port, [`hits:6|c\nlat:${(interval + 1) * 10}|ms\nmem:${interval}|g`]);
    clock.advance(5_000);
    await daemon.written();
  }
  await sendAndSettle(daemon, port, ['hits:1|c']);
  const [hits] = daemon.live({ name: 'hits' });
  t.match(hits, { type: 'counter', current: 1, movingAverage: { ratePerSec: (12 * 6) / 60, count: 12 } });
  const [lat] = daemon.live({ type: 'timer' });
  t.match(lat, { name: 'lat', current: null, movingAverage: { mean: 65, min: 10, max: 120 } });
  const [mem] = daemon.live({ type: 'gauge' });
  t.match(mem, { current: 11, movingAverage: { mean: 5.5, min: 0, max: 11 } });
});

t.test('listens on IPv6 loopback when the host is ::1', async (t) => {
  const clock = new FakeClock(START_MS);
  let running;
  try {
    running = await startDaemon(t, clock, { host: '::1' });
  } catch (error) {
    t.plan(0, `no IPv6 loopback here: ${(error as Error).message}`);
    return;
  }
  t.equal(running.addresses.udp.family, 'IPv6');
  await sendAndSettle(running.daemon, running.addresses.udp.port, ['v6:1|c'], '::1');
  clock.advance(60_000);
  await running.daemon.written();
  t.match(byName(readMetrics(running.dbPath), 'v6'), { value: 1 });
});

t.test('the start-up warm-up of the parser and registry leaves no trace in the daemon', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 5, 10, 20, 2));
  const { daemon, dbPath } = await startDaemon(t, clock);
  t.same(daemon.live(), [], 'no live series');
  t.match(daemon.stats(), { packetsReceived: 0, linesReceived: 0, badLines: 0 });
  clock.advance(60_000);
  await daemon.written();
  t.same(readMetrics(dbPath, "name NOT LIKE 'dattss.%'"), [], 'nothing stored but the self-metrics');
  t.equal(readMetrics(dbPath, "name = 'dattss.lines_received'")[0]?.value, 0);
});

t.test('datagrams the kernel dropped are counted, served, written and warned about', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const clock = new FakeClock(START_MS);
  const logs: { msg: string; level: number; [key: string]: unknown }[] = [];
  // The smallest buffer the kernel grants: a few datagrams of 1000 bytes; and no queue to take them from it meanwhile.
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { udpRecvBufferBytes: 1024, udpQueueBytes: 0 }, (line) => logs.push(line));
  const metricsUrl = `http://127.0.0.1:${addresses.http?.port}/metrics`;
  const served = async (): Promise<number> => Number(/^dattss_udp_drops_total (\d+)$/m.exec(await (await fetch(metricsUrl)).text())?.[1]);
  t.equal(await served(), 0);
  const sent = 200;
  // 1000 bytes: one line and empty ones, which are not lines.
  const line = `big:1|c${'\n'.repeat(993)}`;
  // The daemon does not read while the child sends.
  const child = sendFromChild(addresses.udp.port, Array<string>(sent).fill(line));
  t.equal(child.status, 0, child.stderr);
  const deadline = Date.now() + 5000;
  let dropped = await served();
  while (daemon.stats().packetsReceived + dropped < sent && Date.now() < deadline) {
    await new Promise((resolve) => setImmediate(resolve));
    dropped = await served();
  }
  t.ok(dropped > 0, `some dropped (${dropped})`);
  t.equal(daemon.stats().packetsReceived + dropped, sent, 'every datagram either received or counted as dropped');

  clock.advance(MINUTE_START_MS + 60_000 - clock.now());
  await daemon.written();
  const ts = MINUTE_START_MS / 1000;
  t.match(byName(readMetrics(dbPath), 'dattss.udp_drops'), { type: 'counter', ts, value: dropped });
  t.match(byName(readMetrics(dbPath), 'big'), { ts, value: sent - dropped }, 'the lines received are all stored');
  t.match(byName(readMetrics(dbPath), 'dattss.bad_lines'), { value: 0 });
  const warnings = logs.filter((entry) => entry.level === 40 && /kernel dropped datagrams/.test(entry.msg));
  t.match(warnings, [{ component: 'udp', dropped, recvBufferBytes: 1024, udpQueueBytes: 0, receiveThreads: 0, msg: /raise udpQueueBytes or udpRecvBufferBytes/ }], 'one warning for the minute');
  clock.advance(60_000);
  await daemon.written();
  t.equal(logs.filter((entry) => /kernel dropped datagrams/.test(entry.msg)).length, 1, 'no warning for a minute without drops');
  t.match(byName(readMetrics(dbPath, `ts = ${ts + 60}`), 'dattss.udp_drops'), { value: 0 });
});

t.test('with the UDP queue (the default), a burst the receive buffer cannot hold is all received and stored', { skip: batchReaderMissing() ?? false }, async (t) => {
  const clock = new FakeClock(START_MS);
  // About 900 of the datagrams fit the receive buffer; the queue (32 MiB) takes the rest while the event loop is held.
  const logs: { msg: string; [key: string]: unknown }[] = [];
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { udpRecvBufferBytes: 1 << 20 }, (line) => logs.push(line));
  t.match(logs.find((line) => line.msg === 'listening'), { udpReader: 'batch', udpQueueBytes: 32 * 2 ** 20 }, 'the listening line says so');
  const sent = 4000;
  const line = `burst:1|c${'\n'.repeat(991)}`;
  // The daemon does not read while the child sends.
  const child = sendFromChild(addresses.udp.port, Array<string>(sent).fill(line));
  t.equal(child.status, 0, child.stderr);
  const deadline = Date.now() + 5000;
  while (daemon.stats().packetsReceived < sent && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  t.equal(daemon.stats().packetsReceived, sent, 'every datagram received');
  const metrics = await (await fetch(`http://127.0.0.1:${addresses.http?.port}/metrics`)).text();
  t.match(metrics, /^dattss_udp_queue_bytes 0$/m, 'and the queue is empty again');
  clock.advance(MINUTE_START_MS + 60_000 - clock.now());
  await daemon.written();
  const ts = MINUTE_START_MS / 1000;
  t.match(byName(readMetrics(dbPath), 'burst'), { ts, value: sent });
  t.match(byName(readMetrics(dbPath), 'dattss.udp_drops'), { value: 0 });
});

t.test('a receive buffer smaller than requested is warned about at start', async (t) => {
  const logs: { msg: string; level: number; [key: string]: unknown }[] = [];
  const smaller = (line: { msg: string }) => /smaller UDP receive buffer/.test(line.msg);
  const fits = await startDaemon(t, new FakeClock(START_MS), { udpRecvBufferBytes: 65_536 }, (line) => logs.push(line));
  t.ok(fits.addresses.udp.recvBufferBytes >= 65_536);
  t.same(logs.filter(smaller), [], 'not when the kernel granted it');
  // Beyond what the kernel grants anywhere this runs (Linux caps it at net.core.rmem_max).
  const { addresses } = await startDaemon(t, new FakeClock(START_MS), { udpRecvBufferBytes: 2 ** 31 - 1 }, (line) => logs.push(line));
  t.ok(addresses.udp.recvBufferBytes < 2 ** 31 - 1, `granted ${addresses.udp.recvBufferBytes}`);
  t.match(logs.filter(smaller), [{ level: 40, component: 'udp', requested: 2 ** 31 - 1, granted: addresses.udp.recvBufferBytes, msg: /raise net\.core\.rmem_max/ }]);
});
