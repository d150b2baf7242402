import type { Clock, TimerHandle } from '../../src/flush/clock.js';

interface PendingTimer {
  id: number;
  dueMs: number;
  callback: () => void;
}

/**
 * A Clock that moves only when told. `advance` fires every timer that falls
 * due on the way, in due order, including timers scheduled by those timers.
 */
export class FakeClock implements Clock {
  /** Monotonic time: what timers run on, as Node's do. */
  #monotonicMs: number;
  /** Wall clock minus monotonic time; `set` changes it (a clock step), timers do not notice. */
  #wallOffsetMs = 0;
  #nextId = 1;
  #timers: PendingTimer[] = [];

  constructor(startMs: number) {
    this.#monotonicMs = startMs;
  }

  now(): number {
    return this.#monotonicMs + this.#wallOffsetMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.#nextId++, dueMs: this.#monotonicMs + Math.max(0, delayMs), callback };
    this.#timers.push(timer);
    return timer.id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== (handle as unknown as number));
  }

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing due timers on the way. */
  advance(ms: number): void {
    const targetMs = this.#monotonicMs + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.dueMs - b.dueMs || a.id - b.id);
      const next = this.#timers[0];
      if (next === undefined || next.dueMs > targetMs) break;
      this.#timers.shift();
      this.#monotonicMs = Math.max(this.#monotonicMs, next.dueMs);
      next.callback();
    }
    this.#monotonicMs = targetMs;
  }

  /** Steps the wall clock to `ms` without firing anything; timers keep their monotonic schedule. */
  set(ms: number): void {
    this.#wallOffsetMs = ms - this.#monotonicMs;
  }
}
