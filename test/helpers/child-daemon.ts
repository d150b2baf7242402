import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';

export const BIN = new URL('../../bin/dattss.js', import.meta.url).pathname;

/**
 * The test's environment without any DATTSS_* variable: a spawned dattss reads
 * those as configuration (and refuses unknown ones), so the shell's must not leak in.
 */
export function envWithoutDattss(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DATTSS_')));
}

export interface LogLine {
  msg: string;
  level: number;
  [key: string]: unknown;
}

export interface ChildDaemon {
  child: ChildProcessWithoutNullStreams;
  logs: LogLine[];
  stderr(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** The first log line (already seen or to come) that passes `test`; rejects if the daemon exits first. */
  waitForLog(test: (line: LogLine) => boolean): Promise<LogLine>;
  /** The `listening` line's UDP port. */
  udpPort: number;
}

/** Runs `dattss serve` with every listener on port 0; killed at teardown if still running. */
export async function spawnDaemon(t: Test, dbPath: string, extraArgs: string[] = []): Promise<ChildDaemon> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--admin-port', '0', '--http-port', '0', '--db', dbPath, ...extraArgs], {
    env: { ...envWithoutDattss(), DATTSS_LOG_LEVEL: 'info' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const logs: LogLine[] = [];
  const waiters: { test: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    const line = JSON.parse(text) as LogLine;
    logs.push(line);
    for (const waiter of waiters.filter((w) => w.test(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const waitForLog = (test: (line: LogLine) => boolean): Promise<LogLine> => {
    const seen = logs.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      waiters.push({ test, resolve });
      void exited.then((code) => reject(new Error(`dattss exited (${code}) before the expected log line; stderr: ${stderr}`)));
    });
  };
  const listening = await waitForLog((line) => line.msg === 'listening');
  return { child, logs, stderr: () => stderr, exited, waitForLog, udpPort: (listening.udp as { port: number }).port };
}
