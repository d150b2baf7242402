import { IntervalBuffer } from '../aggregate/interval-buffer.js';
import { DattssError, type ErrorCode } from '../errors.js';
import type { MetricType } from '../protocol/metric-type.js';
import { canonicalTags, type Tag } from '../protocol/tags.js';
import { checkMember, parseAggValue } from './agg-value.js';
import { systemClientClock, type ClientClock } from './clock.js';
import { DatagramPacker } from './datagram-packer.js';
import { partialLines } from './partial-lines.js';
import { checkInteger, DEFAULTS, optionsError, tagList, type ClientOptions, type Tags } from './options.js';
import { statsdLines } from './statsd-line.js';
import { UdpSender } from './udp-sender.js';

export interface ClientStats {
  /** Samples accepted. */
  samples: number;
  /** Samples refused for a bad name, value or tag. */
  invalid: number;
  /** Samples given while stopped or closed, or discarded by `stop()`. */
  droppedStopped: number;
  /** Samples beyond `maxSeries` or `maxSetMembers`. */
  droppedOverflow: number;
  /** Lines (a series' partial, or one statsd line) too long for a datagram. */
  droppedOversize: number;
  datagramsSent: number;
  bytesSent: number;
  /** Datagrams that failed to send (socket errors, unknown host, too many waiting). */
  sendErrors: number;
}

const MAX_IN_FLIGHT = 1000;
/**
 * Flushes happen this long before each interval boundary (at most a fifth of
 * the interval), so a partial reaches the daemon while the interval it covers
 * is still current there: sent at the boundary, it would race the daemon's
 * own tick and usually land one interval (and, at :55, one minute) late.
 */
const FLUSH_LEAD_MS = 250;
const BAD_NAME = /[:|,;\r\n]/;

/**
 * The client SDK (docs/client.md): samples in, datagrams out. Nothing here
 * throws at the caller once constructed; every drop is counted in `stats()`
 * and reported to `onError`.
 */
export class DattssClient {
  readonly #host: string;
  readonly #port: number;
  readonly #prefix: string;
  readonly #mode: 'partials' | 'lines';
  readonly #mtu: number;
  readonly #flushIntervalMs: number;
  readonly #clock: ClientClock;
  readonly #onError: ((error: DattssError) => void) | undefined;
  readonly #globalTags: Tag[];
  readonly #globalTagText: string;
  readonly #buffer: IntervalBuffer;
  readonly #packer: DatagramPacker;
  readonly #sender: UdpSender;
  readonly #stats: ClientStats = { samples: 0, invalid: 0, droppedStopped: 0, droppedOverflow: 0, droppedOversize: 0, datagramsSent: 0, bytesSent: 0, sendErrors: 0 };
  #started = false;
  #closing: Promise<void> | undefined;
  #timer: unknown;

  constructor(options: ClientOptions = {}) {
    const settings = { ...DEFAULTS, ...options };
    checkInteger('port', settings.port, 1, 65535);
    checkInteger('mtu', settings.mtu, 64, 65507);
    checkInteger('flushIntervalMs', settings.flushIntervalMs, 10, 5000);
    checkInteger('maxSeries', settings.maxSeries, 1, 10_000_000);
    checkInteger('maxSetMembers', settings.maxSetMembers, 1, 10_000_000);
    if (settings.mode !== 'partials' && settings.mode !== 'lines') throw optionsError(`mode must be 'partials' or 'lines', not ${String(settings.mode)}`);
    this.#host = settings.host;
    this.#port = settings.port;
    this.#prefix = settings.prefix;
    this.#mode = settings.mode;
    this.#mtu = settings.mtu;
    this.#flushIntervalMs = settings.flushIntervalMs;
    this.#clock = options.clock ?? systemClientClock;
    this.#onError = options.onError;
    const tags = tagList(options.tags);
    if (typeof tags === 'string') throw optionsError(tags);
    this.#globalTags = tags;
    this.#globalTagText = canonicalTags(tags);
    this.#buffer = new IntervalBuffer({ maxSeries: settings.maxSeries, maxSetMembers: settings.maxSetMembers });
    this.#sender = new UdpSender({
      host: this.#host,
      port: this.#port,
      maxInFlight: MAX_IN_FLIGHT,
      onSent: (bytes) => {
        this.#stats.datagramsSent++;
        this.#stats.bytesSent += bytes;
      },
      onFailed: (error) => {
        this.#stats.sendErrors++;
        this.#report('DATTSS_CLIENT_SEND', `cannot send to ${this.#host}:${this.#port}: ${error.message}`, error);
      },
    });
    this.#packer = new DatagramPacker(this.#mtu, (datagram) => this.#sender.send(datagram));
    if (options.started !== false) this.start();
  }

  /** One sample in DaTtSs form: `'153ms'`, `'1c'`, `'23g'`, `'+3g'`, `'user42s'` (docs/client.md). */
  agg(name: string, value: string, tags?: Tags): void {
    try {
      const sample = typeof value === 'string' ? parseAggValue(value) : `value must be a string like '153ms', not ${typeof value}`;
      if (typeof sample === 'string') return this.#invalid(sample);
      this.#record(sample.type, name, sample.value, sample.delta, sample.member, tags);
    } catch (error) {
      this.#invalid(`unexpected: ${String(error)}`);
    }
  }

  /** Counter +`by` (default 1). */
  increment(name: string, by = 1, tags?: Tags): void {
    this.#safely(() => this.#recordNumber('counter', name, by, false, tags));
  }

  /** Timer sample in ms (≥ 0). */
  timing(name: string, ms: number, tags?: Tags): void {
    this.#safely(() => (ms >= 0 ? this.#recordNumber('timer', name, ms, false, tags) : this.#invalid(`negative or non-numeric timing for ${name}: ${ms}`)));
  }

  /** Gauge set to `value`. */
  gauge(name: string, value: number, tags?: Tags): void {
    this.#safely(() => this.#recordNumber('gauge', name, value, false, tags));
  }

  /** Gauge moved by `delta` from its current value (the daemon's). */
  gaugeDelta(name: string, delta: number, tags?: Tags): void {
    this.#safely(() => this.#recordNumber('gauge', name, delta, true, tags));
  }

  /** Set member (counted once per minute however often it is sent). */
  set(name: string, member: string | number, tags?: Tags): void {
    this.#safely(() => {
      const text = String(member);
      const bad = checkMember(text);
      if (bad !== undefined) return this.#invalid(bad);
      this.#record('set', name, 1, false, text.trim(), tags);
    });
  }

  /**
   * Runs `fn` and records its duration as a timer, also when it throws or
   * its promise rejects; returns what `fn` returns and rethrows its error
   * unchanged. An async `fn` is timed until its promise settles.
   */
  time<T>(name: string, fn: () => T, tags?: Tags): T {
    const startMs = this.#clock.now();
    const record = (): void => this.timing(name, this.#clock.now() - startMs, tags);
    let result: T;
    try {
      result = fn();
    } catch (error) {
      record();
      throw error;
    }
    if (result instanceof Promise) return result.finally(record) as T;
    record();
    return result;
  }

  /** Starts sending (idempotent); a closed client stays closed. */
  start(): void {
    if (this.#started || this.#closing !== undefined) return;
    this.#started = true;
    this.#schedule();
  }

  /** Stops sending (idempotent): pending samples are discarded, later ones dropped, all counted. */
  stop(): void {
    if (!this.#started) return;
    this.#started = false;
    this.#clock.clearTimeout(this.#timer);
    this.#stats.droppedStopped += this.#buffer.samples + this.#packer.discard();
    this.#buffer.clear();
  }

  /** Sends what is pending now; resolves when it has been handed to the socket. Never rejects. */
  async flush(): Promise<void> {
    if (this.#started) this.#drain();
    await this.#sender.settled();
  }

  /** Sends what is pending, then closes the socket (idempotent). Never rejects. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.flush();
      this.#clock.clearTimeout(this.#timer);
      this.#started = false;
      await this.#sender.close();
    })();
    return this.#closing;
  }

  stats(): ClientStats {
    return { ...this.#stats };
  }

  #schedule(): void {
    const interval = this.#flushIntervalMs;
    const lead = Math.min(FLUSH_LEAD_MS, interval / 5);
    const now = this.#clock.now() + lead;
    const delay = interval - (((now % interval) + interval) % interval);
    this.#timer = this.#clock.setTimeout(() => {
      if (!this.#started) return;
      this.#drain();
      this.#schedule();
    }, delay);
  }

  #drain(): void {
    if (this.#mode === 'partials') {
      const { lines, oversize } = partialLines(this.#buffer.take(), this.#mtu);
      if (oversize > 0) this.#oversize(oversize, 'a partial');
      for (const line of lines) this.#packer.push(line);
    }
    this.#packer.flush();
  }

  #recordNumber(type: MetricType, name: string, value: number, delta: boolean, tags: Tags | undefined): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.#invalid(`not a finite number for ${String(name)}: ${String(value)}`);
    this.#record(type, name, value, delta, '', tags);
  }

  #record(type: MetricType, name: string, value: number, delta: boolean, member: string, tags: Tags | undefined): void {
    if (!this.#started) {
      this.#stats.droppedStopped++;
      return;
    }
    if (typeof name !== 'string' || name === '' || BAD_NAME.test(name)) return this.#invalid(`bad name ${JSON.stringify(name)}: empty, or holds : | , ; or a line break`);
    let tagText = this.#globalTagText;
    if (tags !== undefined) {
      const own = tagList(tags);
      if (typeof own === 'string') return this.#invalid(own);
      tagText = canonicalTags([...this.#globalTags, ...own]);
    }
    const fullName = this.#prefix + name;
    if (this.#mode === 'lines') return this.#pushLine(statsdLines(type, fullName, tagText, value, delta, member));
    const overflow = this.#buffer.add(type, fullName, tagText, value, 1, delta, member);
    if (overflow === undefined) {
      this.#stats.samples++;
      return;
    }
    this.#stats.droppedOverflow++;
    this.#report('DATTSS_CLIENT_DROPPED', overflow === 'series' ? `more than maxSeries series this interval: ${fullName} dropped` : `more than maxSetMembers members in ${fullName} this interval`);
  }

  #pushLine(lines: string[]): void {
    if (lines.some((line) => Buffer.byteLength(line) > this.#mtu)) return this.#oversize(1, 'a statsd line');
    this.#stats.samples++;
    for (const line of lines) this.#packer.push(line);
  }

  #oversize(count: number, what: string): void {
    this.#stats.droppedOversize += count;
    this.#report('DATTSS_CLIENT_DROPPED', `${count} × ${what} longer than the ${this.#mtu}-byte MTU dropped`);
  }

  #invalid(message: string): void {
    this.#stats.invalid++;
    this.#report('DATTSS_CLIENT_INVALID', message);
  }

  #safely(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.#invalid(`unexpected: ${String(error)}`);
    }
  }

  #report(code: ErrorCode, message: string, cause?: unknown): void {
    if (this.#onError === undefined) return;
    try {
      this.#onError(new DattssError(code, message, cause === undefined ? undefined : { cause }));
    } catch {
      // The callback's own failure must not reach the code that recorded a sample.
    }
  }
}
