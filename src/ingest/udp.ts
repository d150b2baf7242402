import { isIPv6 } from 'node:net';
import { DgramAsPromised, type SocketAsPromised } from 'dgram-as-promised';
import { DattssError } from '../errors.js';
import type { Logger } from '../log.js';

export interface UdpListenerOptions {
  host: string;
  port: number;
  /** SO_RCVBUF to request; 0 keeps the kernel default. */
  recvBufferBytes: number;
  onPacket: (packet: Buffer) => void;
  logger: Logger;
}

export interface UdpAddress {
  address: string;
  port: number;
  family: string;
  /** What the kernel granted (Linux reports twice the accepted SO_RCVBUF). */
  recvBufferBytes: number;
}

/**
 * The UDP listener. Datagrams are taken from the raw socket's 'message'
 * event: dgram-as-promised's recv() and async iteration drop datagrams
 * whenever the consuming loop yields, so the wrapper is used only to bind,
 * close and report errors.
 */
export class UdpListener {
  readonly #options: UdpListenerOptions;
  #socket: SocketAsPromised | undefined;

  constructor(options: UdpListenerOptions) {
    this.#options = options;
  }

  async start(): Promise<UdpAddress> {
    const { host, port, recvBufferBytes, onPacket, logger } = this.#options;
    const socket = DgramAsPromised.createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    socket.socket.on('message', onPacket);
    let bound;
    try {
      bound = await socket.bind(port, host);
    } catch (cause) {
      await socket.close().catch(() => undefined);
      throw new DattssError('DATTSS_LISTEN_FAILED', `cannot listen for UDP on ${host}:${port}: ${(cause as Error).message}`, { cause });
    }
    if (recvBufferBytes > 0) {
      try {
        socket.setRecvBufferSize(recvBufferBytes);
      } catch (error) {
        logger.warn({ err: error, requested: recvBufferBytes }, 'could not set the UDP receive buffer; keeping the kernel default');
      }
    }
    socket.socket.on('error', (error) => logger.error({ err: error }, 'UDP socket error'));
    this.#socket = socket;
    return { address: bound.address, port: bound.port, family: bound.family, recvBufferBytes: socket.getRecvBufferSize() };
  }

  /** Stops receiving; datagrams still queued in the kernel are discarded with the socket. */
  async stop(): Promise<void> {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined) {
      socket.socket.removeAllListeners('message');
      await socket.close();
    }
  }
}
