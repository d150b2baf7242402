import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { DattssError } from './errors.js';
import type { Logger } from './log.js';

export interface TcpServerOptions {
  /** What listens, for messages: 'TCP ingest', 'the admin interface'. */
  purpose: string;
  /** Connections beyond this are closed at once. */
  maxConnections: number;
  onConnection: (socket: Socket) => void;
  /** A connection was refused because of maxConnections. */
  onRefused?: () => void;
  logger: Logger;
}

/**
 * A TCP server that remembers its connections, so that closing it also
 * closes them (an idle client must not keep the daemon from stopping).
 * Shared by the TCP ingest listener and the admin interface.
 */
export class TcpServer {
  readonly #options: TcpServerOptions;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;

  constructor(options: TcpServerOptions) {
    this.#options = options;
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    const { purpose, maxConnections, onConnection, onRefused, logger } = this.#options;
    const server = createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
      onConnection(socket);
    });
    server.maxConnections = maxConnections;
    if (onRefused !== undefined) server.on('drop', onRefused);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (cause) {
      throw new DattssError('DATTSS_LISTEN_FAILED', `cannot listen for ${purpose} on ${host}:${port}: ${(cause as Error).message}`, { cause });
    }
    server.on('error', (error) => logger.error({ err: error }, `${purpose} server error`));
    this.#server = server;
    return server.address() as AddressInfo;
  }

  /** Stops accepting and closes every open connection. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
