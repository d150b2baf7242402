import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';

/**
 * Fire-and-forget UDP: the socket is opened on the first send and unref'd so
 * it never keeps the process alive; every failure is reported, never thrown.
 * At most `maxInFlight` datagrams wait for the kernel (a stalled DNS lookup
 * must not pile them up); further ones fail at once.
 */
export interface UdpSenderOptions {
  host: string;
  port: number;
  maxInFlight: number;
  onSent: (bytes: number) => void;
  onFailed: (error: Error) => void;
}

export class UdpSender {
  readonly #options: UdpSenderOptions;
  #socket: Socket | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: UdpSenderOptions) {
    this.#options = options;
  }

  send(datagram: Buffer): void {
    const { host, port, maxInFlight, onSent, onFailed } = this.#options;
    if (this.#closed) return onFailed(new Error('the client is closed'));
    if (this.#inFlight.size >= maxInFlight) return onFailed(new Error(`${maxInFlight} datagrams already waiting to be sent`));
    const socket = this.#openSocket();
    const sent = new Promise<void>((resolve) => {
      try {
        socket.send(datagram, port, host, (error) => {
          if (error) onFailed(error);
          else onSent(datagram.length);
          resolve();
        });
      } catch (error) {
        onFailed(error as Error);
        resolve();
      }
    });
    this.#inFlight.add(sent);
    void sent.then(() => this.#inFlight.delete(sent));
  }

  /** Resolves when every datagram handed over so far has been sent or has failed. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  async close(): Promise<void> {
    await this.settled();
    this.#closed = true;
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket === undefined) return;
    await new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve());
      } catch {
        resolve(); // already closed by an error
      }
    });
  }

  #openSocket(): Socket {
    if (this.#socket === undefined) {
      const socket = createSocket(isIPv6(this.#options.host) ? 'udp6' : 'udp4');
      socket.on('error', (error) => this.#options.onFailed(error));
      socket.unref();
      this.#socket = socket;
    }
    return this.#socket;
  }
}
