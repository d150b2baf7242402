import type { Clock, TimerHandle } from './clock.js';

/**
 * Calls `onTick(nowMs)` on every wall-clock multiple of `intervalMs`. Each
 * timer is computed afresh from the clock, so lateness never accumulates
 * (drift-corrected), and a tick that fires a little early is pushed to the
 * boundary it was meant for.
 */
export class AlignedScheduler {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #onTick: (nowMs: number) => void;
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, intervalMs: number, onTick: (nowMs: number) => void) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#onTick = onTick;
  }

  start(): void {
    if (this.#timer === undefined) this.#schedule();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    const now = this.#clock.now();
    const delay = this.#intervalMs - (((now % this.#intervalMs) + this.#intervalMs) % this.#intervalMs);
    this.#timer = this.#clock.setTimeout(() => {
      this.#onTick(this.#clock.now());
      this.#schedule();
    }, delay);
  }
}
