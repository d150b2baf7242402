import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DgramAsPromised } from 'dgram-as-promised';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import type { Test } from 'tap';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createDaemon, type Daemon, type DaemonAddresses } from '../../src/daemon.js';
import type { Clock } from '../../src/flush/clock.js';

/** A fresh temp directory, removed when the test ends. */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'dattss-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface RunningDaemon {
  daemon: Daemon;
  addresses: DaemonAddresses;
  dbPath: string;
}

/**
 * Starts an in-process daemon with every listener on 127.0.0.1:0 and a temp
 * database; stopped at teardown. `onLog` receives its log lines (info and up).
 * The writer runs in the daemon's thread unless `writerThread: true` is
 * passed: under the test runner's TypeScript loader a worker thread takes
 * about a second to start, compiling the modules again. The writer is the
 * same code either way (test/unit/writer-client.test.ts runs both); the
 * storage fault tests and spawned daemons use the thread.
 */
export async function startDaemon(
  t: Test,
  clock: Clock,
  overrides: Partial<Config> = {},
  onLog?: (line: { msg: string; level: number; [key: string]: unknown }) => void,
): Promise<RunningDaemon> {
  const dbPath = overrides.db ?? join(tempDir(t), 'dattss.db');
  const config = loadConfig({ flags: {} });
  const logger = onLog === undefined ? pino({ level: 'silent' }) : pino({ level: 'info' }, { write: (text: string) => onLog(JSON.parse(text)) });
  const daemon = createDaemon(Object.freeze({ ...config, host: '127.0.0.1', port: 0, adminPort: 0, httpPort: 0, db: dbPath, writerThread: false, ...overrides }), {
    clock,
    logger,
  });
  const addresses = await daemon.start();
  t.teardown(() => daemon.stop());
  return { daemon, addresses, dbPath };
}

/**
 * Sends each datagram to the daemon, then waits until the daemon has counted
 * them all (loopback UDP does not reorder or drop at these volumes, and the
 * count makes the wait exact instead of a sleep).
 */
export async function sendAndSettle(daemon: Daemon, port: number, datagrams: (string | Buffer)[], host = '127.0.0.1'): Promise<void> {
  const socket = DgramAsPromised.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const target = daemon.stats().packetsReceived + datagrams.length;
  try {
    for (const datagram of datagrams) await socket.send(typeof datagram === 'string' ? Buffer.from(datagram) : datagram, port, host);
  } finally {
    await socket.close();
  }
  const deadline = Date.now() + 5000;
  while (daemon.stats().packetsReceived < target) {
    if (Date.now() > deadline) throw new Error(`daemon received ${daemon.stats().packetsReceived} of ${target} packets within 5 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export interface MetricRow {
  name: string;
  tags: string;
  type: string;
  ts: number;
  value: number | null;
  count: number;
  sum: number | null;
  min: number | null;
  max: number | null;
  last: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
}

/** Reads metrics_1m from a database file the way a dashboard would (read-only). */
export function readMetrics(dbPath: string, where = '1 = 1'): MetricRow[] {
  const db = new BetterSqlite3(dbPath, { readonly: true });
  try {
    return db.prepare(`SELECT * FROM metrics_1m WHERE ${where} ORDER BY name, tags, type, ts`).all() as MetricRow[];
  } finally {
    db.close();
  }
}
