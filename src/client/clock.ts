/**
 * The client's time, injectable for tests (the daemon's FakeClock fits). The
 * client reads it to align its flushes to the daemon's 5-second intervals and
 * to measure `time()`; this file is the client's only reader of the wall clock.
 */
export interface ClientClock {
  /** Wall-clock milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClientClock: ClientClock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => globalThis.setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};
