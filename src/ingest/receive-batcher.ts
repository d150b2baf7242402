import { IntervalBuffer } from '../aggregate/interval-buffer.js';
import { decodedFigures } from '../aggregate/partial-figures.js';
import { QUOTE_BYTES } from './bad-line-log.js';
import { LineParser, type ParseSink } from './parser.js';
import type { Batch, ReceiveThreadData } from './receive-protocol.js';
import { emptySeriesBatch, encodeSeries } from './series-batch.js';

/** Bad lines quoted per hand-over at most; the rest are only counted. */
const QUOTES_PER_BATCH = 20;
/** Parsed items (timestamped samples, partial lines, events, checks) a batch holds before it is handed over. */
const MAX_PASSED_ITEMS = 10_000;

/**
 * A receive thread's work apart from its socket and timers: parses each
 * packet and pre-aggregates its samples per series, until `take` hands the
 * lot over as a Batch. Pure, so tests run it in the test's own thread.
 */
export class ReceiveBatcher {
  readonly #parser: LineParser;
  readonly #buffer: IntervalBuffer;
  readonly #sink: ParseSink;
  /** Called when the batch is full and must be handed over before more is added. */
  readonly #onFull: () => void;
  #batch: Batch = emptyBatch();
  #passed = 0;

  constructor(data: Pick<ReceiveThreadData, 'parser' | 'maxSeries' | 'maxSetMembers'>, onFull: () => void) {
    this.#parser = new LineParser(data.parser);
    this.#buffer = new IntervalBuffer({ maxSeries: data.maxSeries, maxSetMembers: data.maxSetMembers });
    this.#onFull = onFull;
    this.#sink = {
      sample: (sample, keyId) => {
        if (!Number.isNaN(sample.timestampSec)) return this.#pass(this.#batch.samples, { ...sample });
        const { type, name, tags, value, rate, gaugeDelta, member } = sample;
        if (this.#buffer.add(type, name, tags, value, rate, gaugeDelta, member, keyId) === undefined) return;
        // A full buffer (series, or a set's members) goes to the daemon, which applies its own limits.
        this.#onFull();
        this.#buffer.add(type, name, tags, value, rate, gaugeDelta, member, keyId);
      },
      event: (event) => this.#pass(this.#batch.events, event),
      serviceCheck: (check) => this.#pass(this.#batch.checks, check),
      partial: (record) => this.#pass(this.#batch.partials, [record.name, record.tags, decodedFigures(record)]),
      badLine: (reason, buf, start, end) => {
        this.#batch.badLines++;
        const quotes = this.#batch.quotes;
        // A byte more than the log shows, so that the log can say the line was cut.
        if (quotes.length < QUOTES_PER_BATCH) quotes.push([reason, Uint8Array.prototype.slice.call(buf, start, Math.min(end, start + QUOTE_BYTES + 1))]);
      },
    };
  }

  /** True when nothing was received since the last hand-over. */
  get empty(): boolean {
    return this.#batch.packets === 0 && this.#batch.badLines === 0;
  }

  /**
   * Lines per series held: what handing the batch over saves the daemon's
   * thread, which merges one partial per series instead of adding each line.
   */
  get linesPerSeries(): number {
    return this.#batch.lines / Math.max(1, this.#buffer.size);
  }

  /** Takes the packet `buf[start, end)` (the whole buffer by default). */
  packet(buf: Buffer, start = 0, end = buf.length): void {
    this.#batch.packets++;
    // Read apart: a full buffer may hand the batch over while the packet is parsed.
    const lines = this.#parser.parse(buf, this.#sink, start, end);
    this.#batch.lines += lines;
  }

  /** Everything received since the last call, answering request `id` (null: handed over unasked). */
  take(id: number | null): Batch {
    const batch = this.#batch;
    batch.id = id;
    batch.series = encodeSeries(this.#buffer.take());
    this.#batch = emptyBatch();
    this.#passed = 0;
    return batch;
  }

  #pass<T>(list: T[], item: T): void {
    list.push(item);
    if (++this.#passed >= MAX_PASSED_ITEMS) this.#onFull();
  }
}

function emptyBatch(): Batch {
  return { type: 'batch', id: null, packets: 0, lines: 0, badLines: 0, series: emptySeriesBatch(), partials: [], samples: [], events: [], checks: [], quotes: [], queuedBytes: 0 };
}
