import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DattssError } from '../errors.js';
import type { Logger } from '../log.js';
import { partialOf, type DecodedPartial } from '../aggregate/partial-figures.js';
import type { Partial } from '../aggregate/partial.js';
import type { GaugeSection, PartialFigures } from '../protocol/partial-line.js';
import type { ParseSink } from './parser.js';
import type { Batch, FromReceiver, ReceiveThreadData, ToReceiver } from './receive-protocol.js';
import { forEachSeries } from './series-batch.js';
import type { UdpAddress } from './udp.js';

/**
 * How long a tick waits for the threads' batches at most. A thread answers
 * within an event-loop turn of its own; this bounds the wait for one that
 * is stuck, so the minute is still written.
 */
const FLUSH_TIMEOUT_MS = 1000;

export interface ReceiveThreadsOptions {
  count: number;
  /**
   * What each thread starts with; `port` is the first thread's (the others
   * share what it bound, an ephemeral one for 0), and `reusePort` follows
   * from `count`.
   */
  data: Omit<ReceiveThreadData, 'reusePort'>;
  onBatch: (batch: Batch) => void;
  /**
   * A thread ended unasked (it is replaced on the same port), or one of its
   * batches could not be merged (its lines are lost): bugs, each logged.
   */
  onInternalError: () => void;
  logger: Logger;
}

interface Receiver {
  worker: Worker;
  /** Requests sent and not yet answered, by id. */
  waiting: Map<number, () => void>;
  /** Its UDP queue's bytes as of its latest batch. */
  queuedBytes: number;
}

/**
 * UDP received in worker threads (`receiveThreads`): each thread binds the
 * port (with SO_REUSEPORT when there are several), parses and pre-aggregates,
 * and hands its batches to the daemon's thread, which merges them into the
 * registry. `flush` collects what every thread holds, so that a tick ends
 * its interval with everything received before it.
 */
export class ReceiveThreads {
  readonly #options: ReceiveThreadsOptions;
  #receivers: Receiver[] = [];
  #port = 0;
  #nextId = 1;
  #stopping = false;

  constructor(options: ReceiveThreadsOptions) {
    this.#options = options;
  }

  /** Starts the threads one after the other (the first decides an ephemeral port) and waits until each listens. */
  async start(): Promise<UdpAddress> {
    this.#stopping = false;
    let address: UdpAddress | undefined;
    try {
      for (let i = 0; i < this.#options.count; i++) {
        const bound = await this.#launch(address?.port ?? this.#options.data.port);
        address ??= bound;
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.#port = address!.port;
    return address!;
  }

  /** Threads listening now (fewer than `count` while one that died is being replaced). */
  get listening(): number {
    return this.#receivers.length;
  }

  /** Bytes waiting in the threads' UDP queues, as of each thread's latest batch (at most about 5 s old: the tick asks each thread for one). */
  queuedBytes(): number {
    return this.#receivers.reduce((sum, receiver) => sum + receiver.queuedBytes, 0);
  }

  /** Resolves when every thread has handed over what it held (each batch already given to onBatch). */
  flush(): Promise<void> {
    return this.#askAll('flush');
  }

  /** Stops receiving; resolves after every thread's last batch. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#askAll('stop');
    const receivers = this.#receivers;
    this.#receivers = [];
    await Promise.all(receivers.map(({ worker }) => worker.terminate()));
  }

  #askAll(type: ToReceiver['type']): Promise<void> {
    return new Promise((resolve) => {
      let answers = 0;
      const total = this.#receivers.length;
      if (total === 0) return resolve();
      const timer = setTimeout(() => {
        this.#options.logger.warn({ answered: answers, threads: total }, 'a receive thread did not answer in time; going on without its batch');
        resolve();
      }, FLUSH_TIMEOUT_MS);
      const answered = (): void => {
        if (++answers < total) return;
        clearTimeout(timer);
        resolve();
      };
      for (const receiver of this.#receivers) {
        const id = this.#nextId++;
        receiver.waiting.set(id, answered);
        receiver.worker.postMessage({ type, id } satisfies ToReceiver);
      }
    });
  }

  #launch(port: number): Promise<UdpAddress> {
    const { data, count, logger, onBatch } = this.#options;
    const threadData: ReceiveThreadData = { ...data, port, reusePort: count > 1 };
    // The thread runs the same kind of file as this one: .js from dist/, .ts under the test runner.
    const worker = new Worker(new URL(`./receive-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url), { workerData: threadData });
    const receiver: Receiver = { worker, waiting: new Map(), queuedBytes: 0 };
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on('message', (message: FromReceiver) => {
        switch (message.type) {
          case 'listening':
            listening = true;
            // A replacement that comes up after stop() would hold the port and the process open.
            if (this.#stopping) void worker.terminate();
            else this.#receivers.push(receiver);
            resolve({ address: message.address, port: message.port, family: message.family, recvBufferBytes: message.recvBufferBytes, reader: message.reader });
            break;
          case 'failed':
            reject(new DattssError('DATTSS_LISTEN_FAILED', `cannot listen for UDP on ${data.host}:${port}: ${message.message}`));
            void worker.terminate();
            break;
          case 'socket-error':
            logger.error({ error: message.message }, 'UDP socket error');
            break;
          case 'batch': {
            receiver.queuedBytes = message.queuedBytes;
            try {
              onBatch(message);
            } catch (error) {
              // A bug (the thread's encoding and this thread's decoding disagree, say), not the senders' input: the daemon goes on.
              this.#options.onInternalError();
              logger.error({ err: error, lines: message.lines }, "could not merge a receive thread's batch; its lines are lost");
            }
            const answered = message.id === null ? undefined : receiver.waiting.get(message.id);
            if (answered !== undefined) {
              receiver.waiting.delete(message.id!);
              answered();
            }
            break;
          }
        }
      });
      worker.on('error', (error) => logger.error({ err: error }, 'a receive thread failed'));
      worker.on('exit', (exitCode) => {
        for (const answered of receiver.waiting.values()) answered();
        receiver.waiting.clear();
        if (!listening) return reject(new DattssError('DATTSS_LISTEN_FAILED', `the receive thread ended (exit code ${exitCode}) before it listened`));
        if (this.#stopping || !this.#receivers.includes(receiver)) return;
        this.#receivers = this.#receivers.filter((other) => other !== receiver);
        this.#replace();
      });
    });
  }

  /** A thread that ended unasked loses the batch it held; a new one takes its place on the port. */
  #replace(): void {
    this.#options.onInternalError();
    this.#options.logger.error({ port: this.#port }, 'a receive thread ended unexpectedly; starting another');
    this.#launch(this.#port).catch((error: unknown) => {
      this.#options.logger.error({ err: error }, 'could not replace the receive thread; fewer threads receive now');
    });
  }
}

export interface BatchTarget {
  /** Where the lines would have gone had they been parsed in this thread. */
  sink: ParseSink;
  /** Counts what the thread received; the bad lines it quoted come through `sink.badLine` instead. */
  received(packets: number, lines: number, unquotedBadLines: number): void;
  /** A series' pre-aggregated samples (Registry.addPartial, which applies the daemon's limits). */
  merge(name: string, tags: string, partial: Partial, gaugeOffsets: GaugeSection | null): void;
}

/** Applies a receive thread's batch as if its lines had been parsed in the daemon's thread. */
export function mergeBatch(batch: Batch, target: BatchTarget): void {
  const { sink } = target;
  target.received(batch.packets, batch.lines, batch.badLines - batch.quotes.length);
  for (const [reason, line] of batch.quotes) sink.badLine(reason, Buffer.from(line.buffer, line.byteOffset, line.length), 0, line.length);
  forEachSeries(batch.series, (name, tags, figures) => {
    const decoded = decodeOrCount(figures, sink);
    if (decoded !== undefined) target.merge(name, tags, decoded.partial, decoded.gaugeOffsets);
  });
  for (const [name, tags, figures] of batch.partials) {
    const decoded = decodeOrCount(figures, sink);
    if (decoded !== undefined) sink.partial({ name, tags, ...decoded });
  }
  for (const sample of batch.samples) sink.sample(sample, -1);
  for (const event of batch.events) sink.event(event);
  for (const check of batch.checks) sink.serviceCheck(check);
}

/**
 * The partial of figures the thread encoded from partials it held or had
 * decoded; they always decode, and one that did not would be a bug, counted
 * as a bad partial rather than thrown.
 */
function decodeOrCount(figures: PartialFigures, sink: ParseSink): DecodedPartial | undefined {
  const decoded = partialOf(figures);
  if (decoded === undefined) sink.badLine('bad_partial', Buffer.alloc(0), 0, 0);
  return decoded;
}
