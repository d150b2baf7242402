import { lookup } from 'node:dns/promises';
import { createRequire } from 'node:module';
import { isIP, isIPv6 } from 'node:net';
import { getSystemErrorName } from 'node:util';
import { DgramAsPromised, type SocketAsPromisedOptions } from 'dgram-as-promised';
import { NEWLINE } from './line-bytes.js';

/**
 * How UDP is read. 'batch': the native reader (native/udp_batch.c), which
 * takes up to SLOTS datagrams per recvmmsg(2) call and calls JavaScript once
 * for them; Node's dgram makes a Buffer, an address object and a callback for
 * every datagram, most of the cost of a one-line datagram. 'dgram': Node's.
 * 'auto': the batch reader where it is built (Linux), else dgram.
 */
export type UdpReader = 'auto' | 'batch' | 'dgram';
/** The reader a socket is read with, once 'auto' is resolved. */
export type ActiveUdpReader = Exclude<UdpReader, 'auto'>;

/** One datagram's bytes, `buf[start, end)`; valid only during the call (the batch reader reuses its buffer). */
export type OnDatagram = (buf: Buffer, start: number, end: number) => void;

export interface BindUdpOptions {
  host: string;
  port: number;
  /** SO_REUSEPORT, so that several sockets (receive threads) share the port. */
  reusePort: boolean;
  /** SO_RCVBUF to request; 0 keeps the kernel default. */
  recvBufferBytes: number;
  reader: UdpReader;
  /**
   * The batch reader's queue, in bytes: a thread of its own reads the socket
   * into it, and onDatagram is called from it; 0 reads the socket on this
   * thread when it is readable. Node's dgram has no queue.
   */
  queueBytes: number;
  onDatagram: OnDatagram;
  /** A receive error after binding (the socket goes on). */
  onError: (error: Error) => void;
}

export interface BoundUdp {
  address: string;
  port: number;
  family: string;
  /** What the kernel granted (Linux reports twice the accepted SO_RCVBUF). */
  recvBufferBytes: number;
  /** Why the requested receive buffer was refused; the kernel default is kept. */
  recvBufferError: Error | undefined;
  reader: ActiveUdpReader;
  /** Bytes of datagrams waiting in the batch reader's queue now; 0 without one. */
  queuedBytes(): number;
  /** Stops receiving; datagrams still in the kernel's buffer or the reader's queue are discarded with the socket. */
  close(): Promise<void>;
}

/** native/udp_batch.c's exports. */
interface UdpBatchAddon {
  open(address: string, port: number, ipv6: boolean, reusePort: boolean): object;
  address(handle: object): [address: string, port: number, family: string];
  recvBufferSize(handle: object, bytes: number): number;
  /** Calls onBatch(count) with `count` datagrams in the slots, or with -errno; with queueBytes above 0, from a queue a thread reads into. */
  start(handle: object, buffer: Uint8Array, lengths: Uint32Array, onBatch: (count: number) => void, queueBytes: number): void;
  /** Bytes waiting in the queue (record headers included); 0 without one. */
  queued(handle: object): number;
  close(handle: object): void;
}

/**
 * A slot holds the largest UDP payload (65,527 bytes over IPv6) and one byte
 * more, where the reader puts a newline: the parser's search for the end of
 * a line then stops at the datagram's end instead of running on through the
 * slot's stale bytes.
 */
const SLOT_BYTES = 65_536;
/** Datagrams one recvmmsg call takes at most: 4 MiB of slots, of which small datagrams touch a page each. */
const SLOTS = 64;

const addon = loadAddon();

function loadAddon(): { addon: UdpBatchAddon } | { why: string } {
  if (process.platform !== 'linux') return { why: `it is built only on Linux, for recvmmsg(2) (this is ${process.platform})` };
  try {
    return { addon: createRequire(import.meta.url)('../../native/build/Release/udp_batch.node') as UdpBatchAddon };
  } catch (error) {
    return { why: `native/build/Release/udp_batch.node did not load (${(error as Error).message.split('\n')[0]}); npm install builds it, as does npm run build:native` };
  }
}

/** Why the batch reader cannot be used here, or undefined when it can. */
export function batchReaderMissing(): string | undefined {
  return 'why' in addon ? addon.why : undefined;
}

/** The reader `reader` resolves to for `host`, `missing` being why the batch reader is not here (undefined: it is). */
export function readerFor(reader: UdpReader, host: string, missing = batchReaderMissing()): ActiveUdpReader {
  if (reader !== 'auto') return reader;
  // The batch reader binds a plain address; a scoped IPv6 one (fe80::1%eth0) is left to dgram.
  return missing === undefined && !host.includes('%') ? 'batch' : 'dgram';
}

/** Binds a UDP socket on `host:port` and delivers each datagram to onDatagram. */
export async function bindUdp(options: BindUdpOptions): Promise<BoundUdp> {
  return readerFor(options.reader, options.host) === 'batch' ? bindBatch(options) : bindDgram(options);
}

async function bindBatch(options: BindUdpOptions): Promise<BoundUdp> {
  if ('why' in addon) throw new Error(`the batch UDP reader is not available: ${addon.why}`);
  const { open, address, recvBufferSize, start, queued, close } = addon.addon;
  const ipv6 = isIPv6(options.host);
  // dgram resolves a name for the socket's family; so does this.
  const literal = isIP(options.host) !== 0 ? options.host : (await lookup(options.host, { family: ipv6 ? 6 : 4 })).address;
  const handle = open(literal, options.port, ipv6, options.reusePort);
  const recvBufferError = requestRecvBuffer(options.recvBufferBytes, (bytes) => recvBufferSize(handle, bytes));
  const slots = Buffer.allocUnsafeSlow(SLOT_BYTES * SLOTS);
  const lengths = new Uint32Array(SLOTS);
  const { onDatagram, onError } = options;
  const onBatch = (count: number): void => {
    if (count < 0) return onError(Object.assign(new Error(`recvmmsg: ${getSystemErrorName(count)}`), { code: getSystemErrorName(count) }));
    for (let i = 0; i < count; i++) {
      const begin = i * SLOT_BYTES;
      const end = begin + (lengths[i] as number);
      slots[end] = NEWLINE;
      onDatagram(slots, begin, end);
    }
  };
  try {
    start(handle, slots, lengths, onBatch, options.queueBytes);
    const [boundAddress, boundPort, family] = address(handle);
    return {
      address: boundAddress,
      port: boundPort,
      family,
      recvBufferBytes: recvBufferSize(handle, 0),
      recvBufferError,
      reader: 'batch',
      queuedBytes: () => queued(handle),
      close: async () => close(handle),
    };
  } catch (error) {
    close(handle);
    throw error;
  }
}

async function bindDgram(options: BindUdpOptions): Promise<BoundUdp> {
  // reusePort came in Node 22.12 (config/load.ts refuses several dgram threads before it); @types/node 20 lacks it.
  const socketOptions = { type: isIPv6(options.host) ? 'udp6' : 'udp4', reusePort: options.reusePort } as SocketAsPromisedOptions;
  const socket = DgramAsPromised.createSocket(socketOptions);
  const { onDatagram } = options;
  socket.socket.on('message', (datagram: Buffer) => onDatagram(datagram, 0, datagram.length));
  let bound;
  try {
    bound = await socket.bind(options.port, options.host);
  } catch (error) {
    await socket.close().catch(() => undefined);
    throw error;
  }
  socket.socket.on('error', options.onError);
  let closed = false;
  const recvBufferError = requestRecvBuffer(options.recvBufferBytes, (bytes) => socket.setRecvBufferSize(bytes));
  return {
    address: bound.address,
    port: bound.port,
    family: bound.family,
    recvBufferBytes: socket.getRecvBufferSize(),
    recvBufferError,
    reader: 'dgram',
    queuedBytes: () => 0,
    close: async () => {
      if (closed) return;
      closed = true;
      socket.socket.removeAllListeners('message');
      await socket.close();
    },
  };
}

/** Asks for an SO_RCVBUF of `bytes` (0: keeps the kernel default); the error when refused. */
function requestRecvBuffer(bytes: number, request: (bytes: number) => unknown): Error | undefined {
  if (bytes === 0) return undefined;
  try {
    request(bytes);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}
