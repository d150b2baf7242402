import type { Logger } from '../log.js';
import type { BadLineReason } from './parser.js';

/** Longest part of a bad line quoted in the log. */
export const QUOTE_BYTES = 200;

/**
 * Logs bad lines at a capped rate: the first `perMinute` of each minute with
 * the line itself, then only a count of what was left out, so a broken client
 * cannot flood the log. Every bad line is counted elsewhere regardless.
 */
export class BadLineLog {
  readonly #logger: Logger;
  readonly #perMinute: number;
  #logged = 0;
  #suppressed = 0;

  constructor(logger: Logger, perMinute: number) {
    this.#logger = logger;
    this.#perMinute = perMinute;
  }

  report(reason: BadLineReason, buf: Buffer, start: number, end: number): void {
    if (this.#logged >= this.#perMinute) {
      this.#suppressed++;
      return;
    }
    this.#logged++;
    const quoteEnd = Math.min(end, start + QUOTE_BYTES);
    this.#logger.warn({ reason, line: buf.toString('utf8', start, quoteEnd), truncated: quoteEnd < end }, 'bad line');
  }

  /** Starts a new minute's budget, first saying how many were left out. */
  rollover(): void {
    if (this.#suppressed > 0) this.#logger.warn({ suppressed: this.#suppressed }, 'bad lines not logged (rate limit)');
    this.#logged = 0;
    this.#suppressed = 0;
  }
}
