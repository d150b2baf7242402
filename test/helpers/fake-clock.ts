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
  #nowMs: number;
  #nextId = 1;
  #timers: PendingTimer[] = [];

  constructor(startMs: number) {
    this.#nowMs = startMs;
  }

  now(): number {
    return this.#nowMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.#nextId++, dueMs: this.#nowMs + Math.max(0, delayMs), callback };
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
    const targetMs = this.#nowMs + ms;
    for (;;) {
      this.#timers.sort((a, b) => a.dueMs - b.dueMs || a.id - b.id);
      const next = this.#timers[0];
      if (next === undefined || next.dueMs > targetMs) break;
      this.#timers.shift();
      this.#nowMs = Math.max(this.#nowMs, next.dueMs);
      next.callback();
    }
    this.#nowMs = targetMs;
  }

  /** Sets the wall clock without firing anything (a clock jump). */
  set(ms: number): void {
    this.#nowMs = ms;
  }
}
