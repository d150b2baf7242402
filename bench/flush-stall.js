// How long the minute flush of N series holds up the event loop (and with it
// the UDP receive loop): a real daemon from dist/ on a hand-moved clock gets N
// series over UDP, then the clock crosses the minute. Event-loop delay is
// sampled with perf_hooks.monitorEventLoopDelay from just before the flush
// until every row is written (Daemon.written()), for the first minute of a
// daemon, which meets every series, and for the next one.
// Usage: npm run build && node bench/flush-stall.js [series=100000] [runs=3] [writer=thread|main]
// (`main`: --no-writer-thread, the writer in the daemon's own thread, for comparison)
import { mkdtempSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance, PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadConfig } from '../dist/config/load.js';
import { createDaemon } from '../dist/daemon.js';

const series = Number(process.argv[2] ?? 100_000);
const runs = Number(process.argv[3] ?? 3);
const writerThread = (process.argv[4] ?? 'thread') === 'thread';
const LINES_PER_DATAGRAM = 40;

/** A clock that moves only when told, firing the timers that fall due on the way. */
class ManualClock {
  #nowMs;
  #timers = new Map();
  #nextId = 1;
  constructor(startMs) {
    this.#nowMs = startMs;
  }
  now() {
    return this.#nowMs;
  }
  setTimeout(callback, delayMs) {
    const id = this.#nextId++;
    this.#timers.set(id, { dueMs: this.#nowMs + Math.max(0, delayMs), callback });
    return id;
  }
  clearTimeout(id) {
    this.#timers.delete(id);
  }
  advance(ms) {
    const target = this.#nowMs + ms;
    for (;;) {
      let next;
      for (const [id, timer] of this.#timers) if (timer.dueMs <= target && (next === undefined || timer.dueMs < next[1].dueMs)) next = [id, timer];
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#nowMs = next[1].dueMs;
      next[1].callback();
    }
    this.#nowMs = target;
  }
}

/** Sends one sample to each of `count` series (60% counters, 25% timers, 10% gauges, 5% sets) and waits until all arrived. */
async function feed(daemon, port, count) {
  const socket = createSocket('udp4');
  const lines = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 20;
    lines.push(kind < 12 ? `stall.c${i}:1|c` : kind < 17 ? `stall.t${i}:${i % 500}|ms` : kind < 19 ? `stall.g${i}:${i}|g` : `stall.s${i}:m${i}|s`);
  }
  const target = daemon.stats().packetsReceived + Math.ceil(count / LINES_PER_DATAGRAM);
  for (let i = 0; i < count; i += LINES_PER_DATAGRAM) {
    await new Promise((resolve, reject) => socket.send(lines.slice(i, i + LINES_PER_DATAGRAM).join('\n'), port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    // Stay under what the socket buffer holds.
    if ((i / LINES_PER_DATAGRAM) % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  socket.close();
  const deadline = Date.now() + 20_000;
  while (daemon.stats().packetsReceived < target) {
    if (Date.now() > deadline) throw new Error(`only ${daemon.stats().packetsReceived} of ${target} datagrams arrived`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** From the minute's last tick across the minute, as in production: how long that holds the event loop, and until every row is written. */
async function crossMinute(daemon, clock) {
  clock.advance(55_000);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  // Garbage collection pauses of the main thread while the flush runs: part of the event-loop delay.
  let maxGc = 0;
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) maxGc = Math.max(maxGc, entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  const began = performance.now();
  clock.advance(5_000);
  const inline = performance.now() - began;
  await daemon.written();
  const total = performance.now() - began;
  histogram.disable();
  gc.disconnect();
  // The histogram samples with a timer, so it can miss the first, synchronous hold: take the larger.
  return { inline, total, maxDelay: Math.max(inline, histogram.max / 1e6), maxGc };
}

/** Two minutes of one daemon: the first meets every series for the first time, the second is a minute of a daemon running. */
async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'dattss-stall-'));
  const clock = new ManualClock(Date.UTC(2026, 0, 5, 10, 20, 1));
  const config = loadConfig({ flags: {} });
  const daemon = createDaemon(
    Object.freeze({ ...config, host: '127.0.0.1', port: 0, tcp: false, admin: false, http: false, db: join(dir, 'dattss.db'), maxSeries: series * 2, writerThread }),
    { clock, logger: pino({ level: 'silent' }) },
  );
  const { udp } = await daemon.start();
  try {
    await feed(daemon, udp.port, series);
    const first = await crossMinute(daemon, clock);
    await feed(daemon, udp.port, series);
    return { first, next: await crossMinute(daemon, clock) };
  } finally {
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await run());
for (const minute of ['first', 'next']) {
  const median = (pick) => results.map((r) => pick(r[minute])).sort((a, b) => a - b)[Math.floor(results.length / 2)];
  const list = (pick) => results.map((r) => pick(r[minute]).toFixed(0)).join(', ');
  console.log(
    `${minute === 'first' ? 'first minute (every series new to the writer)' : 'next minute (series known)'} of ${series} series, ` +
      `writer ${writerThread ? 'in its thread' : 'in the main thread'}: event loop held ${median((r) => r.inline).toFixed(0)} ms at the tick (runs: ${list((r) => r.inline)}), ` +
      `longest event-loop delay ${median((r) => r.maxDelay).toFixed(0)} ms (runs: ${list((r) => r.maxDelay)}), ` +
      `longest GC pause ${median((r) => r.maxGc).toFixed(0)} ms (runs: ${list((r) => r.maxGc)}), ` +
      `all rows written after ${median((r) => r.total).toFixed(0)} ms (runs: ${list((r) => r.total)}) on node ${process.version}`,
  );
}
