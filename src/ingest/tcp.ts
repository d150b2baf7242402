import type { AddressInfo, Socket } from 'node:net';
import { TcpServer } from '../tcp-server.js';
import type { Logger } from '../log.js';

export interface TcpListenerOptions {
  host: string;
  /** Connections beyond this are refused (closed at once) and counted. */
  maxConnections: number;
  /** A connection silent for this long is closed. */
  idleTimeoutMs: number;
  /** Longest line accepted; a longer one is dropped and counted, the connection goes on. */
  maxLineBytes: number;
  /** Called with whole lines only (a block ending in '\n'), like one UDP packet. */
  onPacket: (packet: Buffer) => void;
  /** A line longer than maxLineBytes was dropped. */
  onLineTooLong: () => void;
  /**
   * A connection broke off (reset, error, idle timeout, the daemon stopping)
   * in the middle of a line, which is dropped: its end may be missing
   * (`a:1|c|@0.1` cut to `a:1|c` would count ten times too much).
   */
  onLineCut: () => void;
  onConnectionRefused: () => void;
  logger: Logger;
}

const NEWLINE = 0x0a;

/**
 * Newline-framed statsd over TCP. Everything up to the last newline of the
 * data received so far is handed on as one packet (as Etsy statsd does); the
 * unfinished last line waits for more data, up to `maxLineBytes`.
 */
export class TcpListener {
  readonly #options: TcpListenerOptions;
  readonly #server: TcpServer;

  constructor(options: TcpListenerOptions) {
    this.#options = options;
    this.#server = new TcpServer({
      purpose: 'TCP',
      maxConnections: options.maxConnections,
      onConnection: (socket) => this.#accept(socket),
      onRefused: options.onConnectionRefused,
      logger: options.logger,
    });
  }

  start(port: number): Promise<AddressInfo> {
    return this.#server.listen(port, this.#options.host);
  }

  /** Stops accepting and closes the connections; an unfinished last line is dropped and counted as cut. */
  stop(): Promise<void> {
    return this.#server.close();
  }

  #accept(socket: Socket): void {
    const { idleTimeoutMs, maxLineBytes, onPacket, onLineTooLong, onLineCut, logger } = this.#options;
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    socket.on('error', (error) => logger.debug({ err: error }, 'TCP connection error'));
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    /** True while skipping the rest of a line that was too long. */
    let discarding = false;

    socket.on('data', (chunk: Buffer) => {
      let start = 0;
      if (discarding || pendingBytes > 0) {
        const newline = chunk.indexOf(NEWLINE);
        if (newline === -1) {
          if (!discarding) keep(chunk);
          return;
        }
        if (!discarding) emit(Buffer.concat([...pending, chunk.subarray(0, newline + 1)]));
        pending = [];
        pendingBytes = 0;
        discarding = false;
        start = newline + 1;
      }
      const last = chunk.lastIndexOf(NEWLINE);
      if (last >= start) {
        emit(chunk.subarray(start, last + 1));
        start = last + 1;
      }
      if (start < chunk.length) keep(chunk.subarray(start));
    });

    // A client that closes after its last line without a newline (`printf 'a:1|c' | nc`) meant it.
    socket.on('end', () => {
      if (!discarding && pendingBytes > 0) emit(Buffer.concat(pending));
      pending = [];
      pendingBytes = 0;
    });

    // Without an orderly end first, whatever is left of a line was cut off. (Node 20 reports data
    // followed by a reset as an end; Node 22 and later as an error.)
    socket.on('close', () => {
      if (!discarding && pendingBytes > 0) onLineCut();
    });

    /** Hands on whole lines; only a block longer than the limit can hold a line that is too long. */
    function emit(block: Buffer): void {
      if (block.length <= maxLineBytes) {
        onPacket(block);
        return;
      }
      let runStart = 0;
      let lineStart = 0;
      while (lineStart < block.length) {
        let lineEnd = block.indexOf(NEWLINE, lineStart);
        if (lineEnd === -1) lineEnd = block.length;
        if (lineEnd - lineStart > maxLineBytes) {
          if (lineStart > runStart) onPacket(block.subarray(runStart, lineStart));
          onLineTooLong();
          runStart = lineEnd + 1;
        }
        lineStart = lineEnd + 1;
      }
      if (runStart < block.length) onPacket(block.subarray(runStart));
    }

    function keep(part: Buffer): void {
      if (pendingBytes + part.length > maxLineBytes) {
        pending = [];
        pendingBytes = 0;
        discarding = true;
        onLineTooLong();
        return;
      }
      pending.push(part);
      pendingBytes += part.length;
    }
  }
}
