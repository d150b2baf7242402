/** A receive thread's entry: reads one UDP socket and hands pre-aggregated batches to the daemon. */
import { parentPort, workerData } from 'node:worker_threads';
import { ReceiveBatcher } from './receive-batcher.js';
import { seriesTransferables } from './series-batch.js';
import type { FromReceiver, ReceiveThreadData, ToReceiver } from './receive-protocol.js';
import { bindUdp, type BoundUdp } from './udp-socket.js';
import { feedWarmUpPackets, WARM_UP_SERIES } from './warm-up.js';

/** How often an open batch is looked at. */
const CHECK_MS = 10;
/**
 * A batch is handed over at the first check that finds the socket quiet, or
 * after this many checks (about a second) under steady traffic: the daemon's
 * live view lags by at most that, and its thread merges one partial per
 * series per second instead of a sample per line.
 */
const CHECKS_PER_HANDOVER = 100;
/**
 * Under steady traffic spread over so many series that a second brings
 * fewer lines per series than this, the merging would cost the daemon's
 * thread about as much as the lines (bench/README.md#receive-threads): the
 * batch waits for the tick's request instead, at most 5 seconds.
 */
const MIN_LINES_PER_SERIES = 8;

const data = workerData as ReceiveThreadData;
const port = parentPort as NonNullable<typeof parentPort>;
// A batch's series move to the daemon's thread instead of being copied.
const post = (message: FromReceiver): void => port.postMessage(message, message.type === 'batch' ? seriesTransferables(message.series) : []);

// On a throwaway batcher: optimized code is shared by all instances of the classes.
const warmUp = new ReceiveBatcher({ ...data, maxSeries: WARM_UP_SERIES }, () => warmUp.take(null));
feedWarmUpPackets((packet) => warmUp.packet(packet));
const batcher = new ReceiveBatcher(data, () => postBatch(null));

let checker: ReturnType<typeof setInterval> | undefined;
let checks = 0;
let packetsAtCheck = 0;
let received = 0;

function onDatagram(buf: Buffer, start: number, end: number): void {
  received++;
  batcher.packet(buf, start, end);
  if (checker === undefined) {
    checks = 0;
    packetsAtCheck = received;
    checker = setInterval(check, CHECK_MS);
  }
}

function check(): void {
  const quiet = received === packetsAtCheck;
  packetsAtCheck = received;
  if (quiet || (++checks >= CHECKS_PER_HANDOVER && batcher.linesPerSeries >= MIN_LINES_PER_SERIES)) handOver(null);
}

function handOver(id: number | null): void {
  if (checker !== undefined) clearInterval(checker);
  checker = undefined;
  postBatch(id);
}

function postBatch(id: number | null): void {
  const batch = batcher.take(id);
  batch.queuedBytes = socket?.queuedBytes() ?? 0;
  post(batch);
}

let socket: BoundUdp | undefined;
bindUdp({
  host: data.host,
  port: data.port,
  reusePort: data.reusePort,
  recvBufferBytes: data.recvBufferBytes,
  reader: data.reader,
  queueBytes: data.queueBytes,
  onDatagram,
  onError: (error) => post({ type: 'socket-error', message: error.message }),
}).then(
  (bound) => {
    socket = bound;
    if (bound.recvBufferError !== undefined) {
      post({ type: 'socket-error', message: `could not set the UDP receive buffer; keeping the kernel default: ${bound.recvBufferError.message}` });
    }
    const { address, port: boundPort, family, recvBufferBytes, reader } = bound;
    post({ type: 'listening', address, port: boundPort, family, recvBufferBytes, reader });
  },
  (error: Error) => post({ type: 'failed', message: error.message }),
);

port.on('message', (message: ToReceiver) => {
  if (message.type === 'flush') return handOver(message.id);
  // Stop: no more datagrams, then the last batch; the thread ends with nothing left to wait for.
  void Promise.resolve(socket?.close()).then(() => {
    handOver(message.id);
    port.close();
  });
});
