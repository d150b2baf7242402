import { DattssError } from '../errors.js';
import type { Logger } from '../log.js';
import { bindUdp, type ActiveUdpReader, type BoundUdp, type OnDatagram, type UdpReader } from './udp-socket.js';

export interface UdpListenerOptions {
  host: string;
  port: number;
  /** SO_RCVBUF to request; 0 keeps the kernel default. */
  recvBufferBytes: number;
  reader: UdpReader;
  /** The batch reader's queue (udp-socket.ts); 0: none. */
  queueBytes: number;
  onDatagram: OnDatagram;
  logger: Logger;
}

export interface UdpAddress {
  address: string;
  port: number;
  family: string;
  /** What the kernel granted (Linux reports twice the accepted SO_RCVBUF). */
  recvBufferBytes: number;
  /** How datagrams are read (ingest/udp-socket.ts). */
  reader: ActiveUdpReader;
}

/** The UDP listener of the daemon's own thread (receive threads have theirs: ingest/receive-thread.ts). */
export class UdpListener {
  readonly #options: UdpListenerOptions;
  #socket: BoundUdp | undefined;

  constructor(options: UdpListenerOptions) {
    this.#options = options;
  }

  async start(): Promise<UdpAddress> {
    const { host, port, recvBufferBytes, reader, queueBytes, onDatagram, logger } = this.#options;
    let socket;
    try {
      socket = await bindUdp({
        host,
        port,
        reusePort: false,
        recvBufferBytes,
        reader,
        queueBytes,
        onDatagram,
        onError: (error) => logger.error({ err: error }, 'UDP socket error'),
      });
    } catch (cause) {
      throw new DattssError('DATTSS_LISTEN_FAILED', `cannot listen for UDP on ${host}:${port}: ${(cause as Error).message}`, { cause });
    }
    if (socket.recvBufferError !== undefined) {
      logger.warn({ err: socket.recvBufferError, requested: recvBufferBytes }, 'could not set the UDP receive buffer; keeping the kernel default');
    }
    this.#socket = socket;
    return { address: socket.address, port: socket.port, family: socket.family, recvBufferBytes: socket.recvBufferBytes, reader: socket.reader };
  }

  /** Bytes of datagrams waiting in the batch reader's queue (udpQueueBytes); 0 without one or a socket. */
  queuedBytes(): number {
    return this.#socket?.queuedBytes() ?? 0;
  }

  /** Stops receiving; datagrams still queued in the kernel or the reader's queue are discarded with the socket. */
  async stop(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    await socket?.close();
  }
}
