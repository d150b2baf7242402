import { once } from 'node:events';
import { join } from 'node:path';
import * as workerThreads from 'node:worker_threads';
import { DgramAsPromised } from 'dgram-as-promised';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { loadConfig, reusePortSupported, runtimeProblems } from '../../src/config/load.js';
import { batchReaderMissing } from '../../src/ingest/udp-socket.js';
import type * as ReceiveThreadsModule from '../../src/ingest/receive-threads.js';
import type { Batch } from '../../src/ingest/receive-protocol.js';
import type * as DaemonModule from '../../src/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon, tempDir } from '../helpers/daemon.js';

// UDP received in worker threads (`receiveThreads`): the same rows, counts
// and logs as when the daemon's thread reads the socket. Threads start in
// about a second under the test runner's TypeScript loader, so each test
// starts one daemon.

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);

t.test('lines received in a thread are stored as sent, bad lines counted and logged, events kept', async (t) => {
  const clock = new FakeClock(MINUTE_START_MS + 50_000);
  const logs: { msg: string; [key: string]: unknown }[] = [];
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { receiveThreads: 1 }, (line) => logs.push(line));
  t.match(logs.find((line) => line.msg === 'listening'), { receiveThreads: 1 });
  const datagrams = Array.from({ length: 50 }, (_, i) =>
    [`hits:${i}|c`, `hits:2|c|@0.5`, `lat:${i}|ms`, `temp:+1|g`, `users:u${i % 7}|s`, 'not a line', `late:3|c|T${MINUTE_START_MS / 1000 - 60}`].join('\n'),
  );
  await sendAndSettle(daemon, addresses.udp.port, [...datagrams, '_e{5,2}:title|hi']);
  t.same(daemon.stats().linesReceived, 50 * 7 + 1);
  t.same(daemon.stats().badLines, 50);
  t.ok(logs.some((line) => line.msg === 'bad line' && line.line === 'not a line'), 'a bad line is quoted in the log');
  // The live view holds the thread's partials before any tick.
  t.match(daemon.live({ name: 'hits' }), [{ name: 'hits', current: (49 * 50) / 2 + 50 * 4 }]);
  clock.advance(10_000);
  await daemon.written();
  const rows = readMetrics(dbPath, "name NOT LIKE 'dattss.%'");
  const row = (name: string, ts = MINUTE_START_MS / 1000): unknown => rows.find((r) => r.name === name && r.ts === ts);
  t.match(row('hits'), { sum: (49 * 50) / 2 + 50 * 4, count: 150 });
  t.match(row('lat'), { count: 50, sum: (49 * 50) / 2, min: 0, max: 49 });
  t.match(row('temp'), { last: 50, count: 50 });
  t.match(row('users'), { value: 7 });
  t.match(row('late', MINUTE_START_MS / 1000 - 60), { sum: 150 }, 'timestamped lines go to their own minute');
  await daemon.stop();
  const events = readMetrics(dbPath, "name = 'dattss.events_received'");
  t.equal(events.reduce((sum, r) => sum + (r.sum ?? 0), 0), 1, 'the event was received');
});

t.test('several threads share the port with SO_REUSEPORT: dgram has it from Node 22.12, the batch reader on any Node', async (t) => {
  t.equal(reusePortSupported('20.20.2'), false);
  t.equal(reusePortSupported('22.11.0'), false);
  t.equal(reusePortSupported('22.12.0'), true);
  t.equal(reusePortSupported('23.0.0'), false);
  t.equal(reusePortSupported('23.1.0'), true);
  t.equal(reusePortSupported('24.0.0'), true);
  const config = loadConfig({ flags: {} });
  const threads = { ...config, receiveThreads: 2 };
  t.match(runtimeProblems({ ...threads, udpReader: 'dgram' }, '20.20.2', undefined), [
    /^receiveThreads: 2 threads share the port with SO_REUSEPORT, which Node's dgram has from Node 22\.12 \(this is Node 20\.20\.2\) and the batch UDP reader on any Node \(udpReader is dgram\); use 1/,
  ]);
  t.same(runtimeProblems({ ...threads, udpReader: 'dgram' }, '22.12.0', undefined), []);
  t.same(runtimeProblems({ ...threads, udpReader: 'dgram', receiveThreads: 1 }, '20.20.2', undefined), [], 'one thread needs no SO_REUSEPORT');
  t.same(runtimeProblems({ ...threads, udpReader: 'auto' }, '20.20.2', undefined), [], 'auto reads in batches where the reader is built');
  t.match(runtimeProblems({ ...threads, udpReader: 'auto' }, '20.20.2', 'it was not built'), [/the batch UDP reader on any Node, but it is not available: it was not built; use 1/]);
  t.match(runtimeProblems({ ...threads, udpReader: 'auto', host: 'fe80::1%eth0' }, '20.20.2', undefined), [/SO_REUSEPORT/], 'auto leaves a scoped address to dgram');
  t.match(runtimeProblems({ ...config, udpReader: 'batch' }, '24.0.0', 'it was not built'), [
    "udpReader: batch needs dattss's native UDP reader, which is not available: it was not built; use auto or dgram",
  ]);
  if (!reusePortSupported(process.versions.node)) {
    t.throws(() => loadConfig({ flags: { receiveThreads: '2', udpReader: 'dgram' } }), { code: 'DATTSS_CONFIG_INVALID', message: /SO_REUSEPORT/ });
  }
  const readers = (['batch', 'dgram'] as const).filter((reader) =>
    reader === 'batch' ? batchReaderMissing() === undefined : reusePortSupported(process.versions.node),
  );
  for (const reader of readers) {
    const clock = new FakeClock(MINUTE_START_MS);
    const { daemon, addresses } = await startDaemon(t, clock, { receiveThreads: 3, udpReader: reader });
    t.equal(addresses.udp.reader, reader);
    // Each sending socket hashes to one thread; eight of them reach several.
    for (let sender = 0; sender < 8; sender++) await sendAndSettle(daemon, addresses.udp.port, Array.from({ length: 20 }, () => 'spread:1|c'));
    t.equal(daemon.stats().packetsReceived, 160, `${reader}: every datagram counted`);
    t.match(daemon.live({ name: 'spread' }), [{ current: 160 }]);
    await daemon.stop();
  }
});

/** The receive-threads module, keeping a hand on every thread it starts. */
async function recordingThreads(t: Test): Promise<{ module: typeof ReceiveThreadsModule; threads: workerThreads.Worker[] }> {
  const threads: workerThreads.Worker[] = [];
  class RecordedWorker extends workerThreads.Worker {
    constructor(...args: ConstructorParameters<typeof workerThreads.Worker>) {
      super(...args);
      threads.push(this);
    }
  }
  const module = await t.mockImport<typeof ReceiveThreadsModule>('../../src/ingest/receive-threads.js', {
    'node:worker_threads': { ...workerThreads, Worker: RecordedWorker },
  });
  return { module, threads };
}

/** ReceiveThreads with one thread, keeping a hand on every thread it starts. */
async function recordedReceivers(
  t: Test,
  onBatch: (batch: Batch) => void = () => {},
  logger = pino({ level: 'silent' }),
): Promise<{ receivers: ReceiveThreadsModule.ReceiveThreads; threads: workerThreads.Worker[]; batches: Batch[]; lost: () => number }> {
  const { module, threads } = await recordingThreads(t);
  const { ReceiveThreads } = module;
  const batches: Batch[] = [];
  let lost = 0;
  const receivers = new ReceiveThreads({
    count: 1,
    data: {
      host: '127.0.0.1',
      port: 0,
      recvBufferBytes: 0,
      reader: 'auto',
      // A thread that reads into a queue, as by default: ending the receive thread must stop it too.
      queueBytes: 1 << 20,
      parser: { sanitizeNames: true, maxNameLength: 200, maxTagsPerLine: 10, maxTagLength: 100, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1024 },
      maxSeries: 100,
      maxSetMembers: 100,
    },
    onBatch: (batch) => {
      batches.push(batch);
      onBatch(batch);
    },
    onInternalError: () => lost++,
    logger,
  });
  return { receivers, threads, batches, lost: () => lost };
}

t.test('a receive thread that ends unasked is replaced on the same port', async (t) => {
  const { receivers, threads, batches, lost } = await recordedReceivers(t);
  const address = await receivers.start();
  t.teardown(() => receivers.stop());
  t.equal(threads.length, 1);
  await threads[0]!.terminate();
  t.equal(lost(), 1, 'the loss is reported');
  t.equal(receivers.listening, 0);
  const deadline = Date.now() + 20_000;
  while (receivers.listening === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(threads.length, 2, 'a new thread');
  t.equal(receivers.listening, 1, 'listening');
  const socket = DgramAsPromised.createSocket('udp4');
  t.teardown(() => socket.close());
  const received = (): number => batches.reduce((sum, batch) => sum + batch.lines, 0);
  await socket.send(Buffer.from('again:1|c'), address.port, '127.0.0.1');
  while (received() === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok(received() > 0, 'the replacement receives on the same port');
  // flush() resolves once each thread's answer has been given to onBatch.
  const before = batches.length;
  await receivers.flush();
  t.equal(batches.length, before + 1);
  t.type(batches.at(-1)?.id, 'number', 'an answer to the request');
  t.equal(batches.at(-1)?.queuedBytes, 0, 'the batch tells how full its UDP queue was: empty, all read');
  t.equal(receivers.queuedBytes(), 0, 'the sum over the threads, as of their latest batches');
});

t.test("a batch the daemon's thread cannot merge is counted and logged, and the next ones merge", async (t) => {
  const logs: { msg: string; level: number; [key: string]: unknown }[] = [];
  let failures = 1;
  const merged: number[] = [];
  const { receivers, lost } = await recordedReceivers(
    t,
    (batch) => {
      // A flush may be answered before the datagram arrived: only batches with lines count.
      if (batch.lines === 0) return;
      if (failures-- > 0) throw new Error('not a series batch: type 9 at number 0');
      merged.push(batch.lines);
    },
    pino({ level: 'info' }, { write: (text: string) => logs.push(JSON.parse(text)) }),
  );
  const address = await receivers.start();
  t.teardown(() => receivers.stop());
  const socket = DgramAsPromised.createSocket('udp4');
  t.teardown(() => socket.close());
  for (const round of [1, 2]) {
    await socket.send(Buffer.from(`round${round}:1|c`), address.port, '127.0.0.1');
    // The thread hands over when its socket is quiet, or when asked; flush() waits for its answer.
    const deadline = Date.now() + 20_000;
    while (lost() + merged.length < round && Date.now() < deadline) await receivers.flush();
  }
  t.equal(lost(), 1, 'counted as an internal error');
  t.same(merged, [1], 'the next batch merged');
  t.match(logs, [{ level: 50, msg: "could not merge a receive thread's batch; its lines are lost", lines: 1, err: { message: /not a series batch/ } }]);
});

t.test('a port already taken is a clear listen error', async (t) => {
  const clock = new FakeClock(MINUTE_START_MS);
  const first = await startDaemon(t, clock, { tcp: false });
  await t.rejects(startDaemon(t, clock, { tcp: false, receiveThreads: 1, port: first.addresses.udp.port }), {
    code: 'DATTSS_LISTEN_FAILED',
    message: new RegExp(`cannot listen for UDP on 127\\.0\\.0\\.1:${first.addresses.udp.port}: .*EADDRINUSE`),
  });
});

t.test('a replacement that comes up after stop() ends at once', async (t) => {
  const { receivers, threads } = await recordedReceivers(t);
  await receivers.start();
  await threads[0]!.terminate();
  t.equal(threads.length, 2, 'a replacement is starting');
  const ended = once(threads[1]!, 'exit');
  await receivers.stop();
  await ended;
  t.equal(receivers.listening, 0);
});

t.test("the daemon's health is degraded while a receive thread is replaced", async (t) => {
  const { module, threads } = await recordingThreads(t);
  const { createDaemon } = await t.mockImport<typeof DaemonModule>('../../src/daemon.js', { '../../src/ingest/receive-threads.js': module });
  const config = loadConfig({ flags: {} });
  const daemon = createDaemon(
    Object.freeze({ ...config, host: '127.0.0.1', port: 0, tcp: false, admin: false, http: false, db: join(tempDir(t), 'd.db'), writerThread: false, receiveThreads: 1 }),
    { clock: new FakeClock(MINUTE_START_MS), logger: pino({ level: 'silent' }) },
  );
  await daemon.start();
  t.teardown(() => daemon.stop());
  t.equal(daemon.status(), 'up');
  await threads[0]!.terminate();
  t.equal(daemon.status(), 'degraded', 'while the new thread starts');
  const deadline = Date.now() + 20_000;
  while (daemon.status() !== 'up' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(daemon.status(), 'up', 'once it listens');
  t.equal(threads.length, 2);
});
