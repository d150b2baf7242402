import type { PartialFigures } from '../protocol/partial-line.js';
import type { SeriesBatch } from './series-batch.js';
import type { DogEvent, ServiceCheck } from '../protocol/events.js';
import type { BadLineReason, ParserOptions, Sample } from './parser.js';
import type { ActiveUdpReader, UdpReader } from './udp-socket.js';

/**
 * The messages between the daemon and its receive threads
 * (ingest/receive-thread.ts), which read the UDP socket, parse and
 * pre-aggregate. Only data crosses: the two sides share these types.
 */

export interface ReceiveThreadData {
  host: string;
  port: number;
  /** Bind with SO_REUSEPORT, so that several threads share the port (the batch reader, or dgram on Node >= 22.12). */
  reusePort: boolean;
  /** SO_RCVBUF to request; 0 keeps the kernel default. */
  recvBufferBytes: number;
  reader: UdpReader;
  /** The batch reader's queue (udp-socket.ts); 0: none. */
  queueBytes: number;
  parser: ParserOptions;
  /** Series a hand-over holds at most; a full buffer is handed over at once. */
  maxSeries: number;
  maxSetMembers: number;
}

/** A client's partial-aggregate line: name, tags, figures. */
export type PartialTransfer = [name: string, tags: string, figures: PartialFigures];

/**
 * What a thread received since its last hand-over. `series` are its own
 * pre-aggregates; what it cannot pre-aggregate travels as parsed: samples
 * with a timestamp (they may belong to an earlier minute), clients' partial
 * lines, events and service checks.
 */
export interface Batch {
  type: 'batch';
  /** The daemon's request this answers, or null when the thread handed over by itself. */
  id: number | null;
  packets: number;
  lines: number;
  badLines: number;
  /** Its pre-aggregated series, moved rather than copied (series-batch.ts). */
  series: SeriesBatch;
  partials: PartialTransfer[];
  samples: Sample[];
  events: DogEvent[];
  checks: ServiceCheck[];
  /** The first bad lines, each cut to a little more than the log quotes (ingest/bad-line-log.ts). */
  quotes: [reason: BadLineReason, line: Uint8Array][];
  /** Bytes waiting in the thread's UDP queue when it handed the batch over (set by the thread; 0 from the batcher). */
  queuedBytes: number;
}

export type ToReceiver = { type: 'flush'; id: number } | { type: 'stop'; id: number };

export type FromReceiver =
  | { type: 'listening'; address: string; port: number; family: string; recvBufferBytes: number; reader: ActiveUdpReader }
  | { type: 'failed'; message: string }
  | { type: 'socket-error'; message: string }
  | Batch;
