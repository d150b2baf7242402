import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DgramAsPromised } from 'dgram-as-promised';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config/load.js';
import type * as DaemonModule from '../../src/daemon.js';
import type * as UdpModule from '../../src/ingest/udp.js';
import { batchReaderMissing, bindUdp, readerFor, type BoundUdp } from '../../src/ingest/udp-socket.js';
import { KernelUdpDrops } from '../../src/ingest/udp-drops.js';
import { sendAndSettle, tempDir } from '../helpers/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { sendFromChild } from '../helpers/held-sender.js';

// CI and development run on Linux, where npm install must have built the batch reader:
// a failed build would otherwise only show as a slower daemon.
if (process.platform === 'linux') t.equal(batchReaderMissing(), undefined, 'npm install built the batch UDP reader');
/** The batch reader's queue in these tests, where it has one. */
const QUEUE_BYTES = 1 << 20;
/** Each reader, and the batch reader reading into a queue from a thread of its own. */
const readers = [
  { name: 'batch', reader: 'batch', queueBytes: 0 },
  { name: 'batch, queued', reader: 'batch', queueBytes: QUEUE_BYTES },
  { name: 'dgram', reader: 'dgram', queueBytes: 0 },
].filter(({ reader }) => reader === 'dgram' || batchReaderMissing() === undefined) as { name: string; reader: 'batch' | 'dgram'; queueBytes: number }[];

/** A socket on host:0 that records every datagram as a copy of its bytes. */
async function listen(t: Test, reader: 'batch' | 'dgram', host = '127.0.0.1', extra: { port?: number; reusePort?: boolean; queueBytes?: number; recvBufferBytes?: number } = {}) {
  const received: Buffer[] = [];
  const errors: Error[] = [];
  const socket = await bindUdp({
    host,
    port: extra.port ?? 0,
    reusePort: extra.reusePort ?? false,
    recvBufferBytes: extra.recvBufferBytes ?? 1 << 20,
    reader,
    queueBytes: extra.queueBytes ?? 0,
    onDatagram: (buf, start, end) => received.push(Buffer.from(buf.subarray(start, end))),
    onError: (error) => errors.push(error),
  });
  t.teardown(() => socket.close());
  return { socket, received, errors };
}

/** Sends each datagram (all queued before the receiver runs again, so the batch reader takes several a call) and waits until `received` has them. */
async function sendAll(socket: BoundUdp, datagrams: Buffer[], received: Buffer[], host = '127.0.0.1'): Promise<void> {
  const sender = DgramAsPromised.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const target = received.length + datagrams.length;
  try {
    await Promise.all(datagrams.map((datagram) => sender.send(datagram, socket.port, host)));
  } finally {
    await sender.close();
  }
  const deadline = Date.now() + 5000;
  while (received.length < target) {
    if (Date.now() > deadline) throw new Error(`received ${received.length} of ${target} datagrams within 5 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

for (const { name, reader, queueBytes } of readers) {
  t.test(`${name}: every datagram arrives whole and in order, from empty to the largest UDP allows`, async (t) => {
    const { socket, received, errors } = await listen(t, reader, '127.0.0.1', { queueBytes });
    t.match(socket, { address: '127.0.0.1', family: 'IPv4', reader });
    t.ok(socket.port > 0);
    t.ok(socket.recvBufferBytes >= 1 << 20, 'the requested receive buffer was granted (Linux reports it doubled)');
    const sizes = [0, 1, 17, 1400, 9000, 65_507];
    const datagrams = sizes.map((size, i) => Buffer.alloc(size, `${i}:1|c\n`));
    // Bytes the parser treats specially, and a datagram whose last byte is a newline.
    datagrams.push(Buffer.from([0x00, 0xff, 0x0a, 0x0d, 0x80]), Buffer.from('a:1|c\n'));
    // Many small ones at once: the batch reader takes up to 64 a call, and a fresh slot must not show an earlier datagram's bytes.
    for (let i = 0; i < 200; i++) datagrams.push(Buffer.from(`many.${i}:${'x'.repeat(i % 7)}`));
    await sendAll(socket, datagrams, received);
    t.same(received, datagrams);
    t.same(errors, []);
  });

  t.test(`${name}: IPv6 on ::1, and a host name resolved as dgram resolves it`, async (t) => {
    const v6 = await listen(t, reader, '::1', { queueBytes });
    t.match(v6.socket, { address: '::1', family: 'IPv6' });
    await sendAll(v6.socket, [Buffer.from('v6:1|c')], v6.received, '::1');
    t.same(v6.received, [Buffer.from('v6:1|c')]);
    const named = await listen(t, reader, 'localhost', { queueBytes });
    t.match(named.socket, { address: '127.0.0.1', family: 'IPv4' });
  });

  t.test(`${name}: a port already taken is an EADDRINUSE error that names it`, async (t) => {
    const { socket } = await listen(t, 'dgram');
    await t.rejects(listen(t, reader, '127.0.0.1', { port: socket.port, queueBytes }), { code: 'EADDRINUSE', message: /EADDRINUSE/ });
  });

  t.test(`${name}: close stops delivery, and closing twice is harmless`, async (t) => {
    const { socket, received } = await listen(t, reader, '127.0.0.1', { queueBytes });
    await sendAll(socket, [Buffer.from('before:1|c')], received);
    await socket.close();
    await socket.close();
    const sender = DgramAsPromised.createSocket('udp4');
    await sender.send(Buffer.from('after:1|c'), socket.port, '127.0.0.1');
    await sender.close();
    // A datagram to a closed port is refused by the kernel at once; give the loop a few turns to show any delivery.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    t.same(received, [Buffer.from('before:1|c')]);
  });
}

/** Sends `count` datagrams of `bytes` each (`n:1|c`, padded with newlines) from a child process, while this one's event loop is held. */
function sendWhileHeld(port: number, count: number, bytes: number): Buffer[] {
  const datagrams = Array.from({ length: count }, (_, n) => `${n}:1|c`.padEnd(bytes, '\n'));
  const child = sendFromChild(port, datagrams);
  if (child.status !== 0) throw new Error(`the sender failed: ${child.stderr}`);
  return datagrams.map((datagram) => Buffer.from(datagram));
}

/** Waits until `received` stops growing (five turns of the loop, 20 ms apart, without a datagram). */
async function settled(received: Buffer[]): Promise<void> {
  let quiet = 0;
  let last = -1;
  const deadline = Date.now() + 5000;
  while (quiet < 5 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    quiet = received.length === last ? quiet + 1 : 0;
    last = received.length;
  }
}

t.test('batch, queued: while the event loop is held, its thread empties the socket into the queue', { skip: batchReaderMissing() ?? false }, async (t) => {
  // A receive buffer that takes about 900 of these: enough for the thread's wake-ups, too few for the burst.
  const polled = await listen(t, 'batch', '127.0.0.1', { recvBufferBytes: 1 << 20 });
  const queued = await listen(t, 'batch', '127.0.0.1', { recvBufferBytes: 1 << 20, queueBytes: 16 << 20 });
  const sent = 4000;
  sendWhileHeld(polled.socket.port, sent, 1000);
  const queuedSent = sendWhileHeld(queued.socket.port, sent, 1000);
  // The event loop has not run since: what the thread read waits in the queue, each with a 4-byte length.
  const waiting = queued.socket.queuedBytes();
  t.ok(waiting > 0 && waiting <= sent * 1004, `${waiting} bytes queued`);
  t.equal(polled.socket.queuedBytes(), 0, 'no queue, nothing queued');
  await settled(queued.received);
  await settled(polled.received);
  t.equal(queued.socket.queuedBytes(), 0, 'all taken from the queue');
  t.ok(polled.received.length < sent, `read on its own thread, the socket overflowed (${polled.received.length} of ${sent} received)`);
  t.same(queued.received, queuedSent, 'with the queue, every datagram arrived, whole and in order');
  t.same(queued.errors, []);
});

t.test('batch, queued: a full queue stops the reading; the kernel drops what comes on, and counts it', { skip: batchReaderMissing() ?? false }, async (t) => {
  const { socket, received, errors } = await listen(t, 'batch', '127.0.0.1', { recvBufferBytes: 1 << 20, queueBytes: QUEUE_BYTES });
  // Twice what the queue and the receive buffer hold.
  const sent = sendWhileHeld(socket.port, 4000, 1000);
  await settled(received);
  const drops = new KernelUdpDrops(socket.port).read() ?? 0;
  t.ok(received.length >= 1000 && received.length < sent.length, `the queue's worth and the receive buffer's received (${received.length})`);
  t.equal(received.length + drops, sent.length, 'every datagram received or dropped by the kernel');
  const index = (datagram: Buffer): number => Number(datagram.toString('latin1').split(':')[0]);
  t.same(
    received.filter((datagram) => !datagram.equals(sent[index(datagram)] as Buffer)),
    [],
    'each one received whole',
  );
  t.ok(received.every((datagram, i) => i === 0 || index(datagram) > index(received[i - 1] as Buffer)), 'in the order sent');
  t.same(errors, []);
});

t.test('batch: sockets with reusePort share a port, and the kernel spreads senders over them', { skip: batchReaderMissing() ?? false }, async (t) => {
  const first = await listen(t, 'batch', '127.0.0.1', { reusePort: true });
  const second = await listen(t, 'batch', '127.0.0.1', { port: first.socket.port, reusePort: true });
  t.equal(second.socket.port, first.socket.port);
  const total = (): number => first.received.length + second.received.length;
  // Each sending socket hashes to one of them: sixteen senders reach both.
  for (let sender = 0; sender < 16; sender++) {
    const socket = DgramAsPromised.createSocket('udp4');
    await socket.send(Buffer.from('spread:1|c'), first.socket.port, '127.0.0.1');
    await socket.close();
  }
  const deadline = Date.now() + 5000;
  while (total() < 16 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  t.equal(total(), 16);
  t.ok(first.received.length > 0 && second.received.length > 0, `both received (${first.received.length} and ${second.received.length})`);
});

for (const { name, queueBytes } of readers.filter(({ reader }) => reader === 'batch')) {
  t.test(`${name}: a worker thread that ends with its socket open closes it (the addon cleans up with its thread${queueBytes > 0 ? ', and stops its reading thread' : ''})`, { skip: batchReaderMissing() ?? false }, async (t) => {
    const addonPath = fileURLToPath(new URL('../../native/build/Release/udp_batch.node', import.meta.url));
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       const addon = require(workerData);
       const handle = addon.open('127.0.0.1', 0, false, false);
       addon.start(handle, new Uint8Array(4096), new Uint32Array(4), () => {}, ${queueBytes});
       parentPort.postMessage(addon.address(handle)[1]);`,
      { eval: true, workerData: addonPath },
    );
    const [port] = (await once(worker, 'message')) as [number];
    await worker.terminate();
    // Only a closed descriptor frees the port; a live libuv handle would have aborted the process.
    const { socket } = await listen(t, 'dgram', '127.0.0.1', { port });
    t.equal(socket.port, port);
  });

  t.test(`${name}: a socket whose handle is collected without close() is closed by its finalizer`, { skip: batchReaderMissing() ?? false }, async (t) => {
    // In a child with --expose-gc: open and start a socket, drop the handle, collect it, then bind its port again.
    const script = `
      const addon = require(process.argv[1]);
      const dgram = require('node:dgram');
      const port = (() => {
        const handle = addon.open('127.0.0.1', 0, false, false);
        addon.start(handle, new Uint8Array(4096), new Uint32Array(4), () => {}, ${queueBytes});
        return addon.address(handle)[1];
      })();
      (async () => {
        // Finalizers run after the collection, from the event loop; the poll handle closes a turn later.
        for (let i = 0; i < 10; i++) { globalThis.gc(); await new Promise((resolve) => setImmediate(resolve)); }
        const socket = dgram.createSocket('udp4');
        socket.on('error', (error) => { console.log(error.code); socket.close(); });
        socket.bind(port, '127.0.0.1', () => { console.log('bound again'); socket.close(); });
      })();`;
    const child = spawnSync(process.execPath, ['--expose-gc', '-e', script, fileURLToPath(new URL('../../native/build/Release/udp_batch.node', import.meta.url))], { encoding: 'utf8', timeout: 20_000 });
    t.equal(child.stdout.trim(), 'bound again', child.stderr);
    t.equal(child.status, 0);
  });
}

t.test('batch: a queue too small for two of the largest datagrams is refused', { skip: batchReaderMissing() ?? false }, async (t) => {
  const addon = createRequire(import.meta.url)('../../native/build/Release/udp_batch.node') as { open: (...args: unknown[]) => object; start: (...args: unknown[]) => void; close: (handle: object) => void };
  const handle = addon.open('127.0.0.1', 0, false, false);
  t.teardown(() => addon.close(handle));
  // Slots of 1024 bytes: a record takes 1028, and the queue must hold two.
  t.throws(() => addon.start(handle, new Uint8Array(4096), new Uint32Array(4), () => {}, 2055), { code: 'EINVAL', message: /queueBytes must be 0 or hold two/ });
  t.doesNotThrow(() => addon.start(handle, new Uint8Array(4096), new Uint32Array(4), () => {}, 2056));
});

t.test('auto without the batch reader reads with dgram, and the daemon says why', async (t) => {
  const actual = await import('../../src/ingest/udp-socket.js');
  const notBuilt = {
    ...actual,
    batchReaderMissing: () => 'it was not built',
    bindUdp: (options: Parameters<typeof actual.bindUdp>[0]) => actual.bindUdp({ ...options, reader: actual.readerFor(options.reader, options.host, 'it was not built') }),
  };
  // The daemon asks udp-socket.ts why, and binds through ingest/udp.ts, which imports it too.
  const udp = await t.mockImport<typeof UdpModule>('../../src/ingest/udp.js', { '../../src/ingest/udp-socket.js': notBuilt });
  const { createDaemon } = await t.mockImport<typeof DaemonModule>('../../src/daemon.js', {
    '../../src/ingest/udp-socket.js': notBuilt,
    '../../src/ingest/udp.js': udp,
  });
  const lines: { level: number; msg: string; [key: string]: unknown }[] = [];
  const config = loadConfig({ flags: {} });
  const daemon = createDaemon(
    Object.freeze({ ...config, host: '127.0.0.1', port: 0, tcp: false, admin: false, http: false, db: join(tempDir(t), 'd.db'), writerThread: false }),
    { clock: new FakeClock(Date.UTC(2026, 0, 1)), logger: pino({ level: 'info' }, { write: (text: string) => lines.push(JSON.parse(text)) }) },
  );
  const addresses = await daemon.start();
  t.teardown(() => daemon.stop());
  t.equal(addresses.udp.reader, 'dgram');
  t.match(lines.find((line) => line.msg === 'listening'), { udpReader: 'dgram', udpQueueBytes: 0 });
  t.match(lines.find((line) => line.why !== undefined), {
    level: process.platform === 'linux' ? 40 : 30,
    why: 'it was not built',
    msg: "UDP is read with Node's dgram: the batch reader is not available",
  });
  await sendAndSettle(daemon, addresses.udp.port, ['still:1|c']);
  t.match(daemon.live({ name: 'still' }), [{ current: 1 }]);
});

t.test('auto is batch where the reader is built, and leaves what it cannot bind to dgram', async (t) => {
  t.equal(readerFor('auto', '127.0.0.1', undefined), 'batch');
  t.equal(readerFor('auto', '127.0.0.1', 'not built'), 'dgram');
  t.equal(readerFor('auto', 'fe80::1%eth0', undefined), 'dgram', 'a scoped IPv6 address');
  t.equal(readerFor('dgram', '127.0.0.1', undefined), 'dgram');
  t.equal(readerFor('batch', '127.0.0.1', 'not built'), 'batch', 'an explicit choice stands (config validation refuses it first)');
});
