import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { BIN, envWithoutDattss } from './child-daemon.js';
import { FakeClock } from './fake-clock.js';
import { sendAndSettle, startDaemon, type RunningDaemon } from './daemon.js';

// The real CLI (bin/dattss.js → dist/), so `npm run build` must have run.
export { BIN } from './child-daemon.js';

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `dattss ...args` to completion without blocking the event loop, so an
 * in-process daemon in the same test keeps answering. The environment is the
 * test's minus every DATTSS_* variable, plus `env` (TZ=UTC unless given); the
 * cwd is a fresh temp directory; a run past 10 s is SIGKILLed.
 */
export function runCli(t: Test, args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<CliRun> {
  const cwd = mkdtempSync(join(tmpdir(), 'dattss-cli-'));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...envWithoutDattss(), TZ: 'UTC', ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve) => {
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

// The read commands' fixture: a database that a real daemon wrote. The daemon's clock is fake, so
// the CLI reads absolute ranges.
export const MINUTE_MS = Date.UTC(2026, 0, 5, 10, 20, 0);
export const RANGE = ['--from', '2026-01-05T10:20:00Z', '--to', '2026-01-05T10:22:00Z'];

/** Two flushed minutes of a counter with two tag sets, a timer, a gauge and a set. */
export async function twoMinutes(t: Test, overrides: Parameters<typeof startDaemon>[2] = {}): Promise<RunningDaemon> {
  const clock = new FakeClock(MINUTE_MS + 2_000);
  const running = await startDaemon(t, clock, overrides);
  const port = running.addresses.udp.port;
  await sendAndSettle(running.daemon, port, [
    'hits:1|c|#env:prod\nhits:1|c|#env:prod\nhits:1|c|#env:prod\nhits:2|c|#env:dev',
    'api.latency:10|ms\napi.latency:20|ms\napi.latency:30|ms',
    'queue:5|g\nqueue:+3|g',
    'users:a|s\nusers:b|s',
  ]);
  clock.advance(60_000);
  await running.daemon.written();
  await sendAndSettle(running.daemon, port, ['hits:4|c|#env:prod\napi.latency:1500|ms\nqueue:1|g\nusers:a|s']);
  clock.advance(60_000);
  await running.daemon.written();
  return running;
}

export function ok(t: Test, run: CliRun, what: string): void {
  t.equal(run.stderr, '', `${what}: nothing on stderr`);
  t.equal(run.status, 0, `${what}: exit status 0`);
}

/** A usage or runtime error: the exit status, one line on stderr, nothing on stdout. */
export function failed(t: Test, run: CliRun, status: number, line: string | RegExp, what: string): void {
  t.equal(run.status, status, `${what}: exit status ${status}`);
  t.equal(run.stdout, '', `${what}: nothing on stdout`);
  t.equal(run.stderr.split('\n').length, 2, `${what}: one line on stderr`);
  if (typeof line === 'string') t.equal(run.stderr, `${line}\n`, what);
  else t.match(run.stderr, line, what);
  t.notMatch(run.stderr, /\n\s+at /, `${what}: no stack trace`);
}


export interface TerminalRun {
  /** Everything the terminal showed so far: stdout and stderr together, with `\r\n` line ends. */
  screen(): string;
  /** Resolves once `test(screen)` holds; fails after 10 s. */
  waitFor(test: (screen: string) => boolean, what: string): Promise<void>;
  /** Types into the terminal (`\x03` is Ctrl-C). */
  type(text: string): void;
  /** Resolves with the exit status. */
  exited: Promise<number | null>;
}

/**
 * Runs `dattss ...args` on a pseudo-terminal made by script(1), so that it
 * sees a TTY on stdout and stderr as it would in an operator's shell.
 */
export function runInTerminal(t: Test, args: string[]): TerminalRun {
  // script runs the command with $SHELL -c. A shell that stays as the parent (dash does) also gets
  // the terminal's ^C and dies of it, and script then reports 130: exec makes the CLI the only process.
  const command = `exec ${[process.execPath, BIN, ...args].map((arg) => `'${arg.replace(/'/g, "'\\''")}'`).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...envWithoutDattss(), SHELL: '/bin/sh', TZ: 'UTC' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let screen = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString();
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    screen: () => screen,
    type: (text) => child.stdin.write(text),
    exited,
    waitFor: (test, what) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!test(screen)) return;
          listeners.delete(check);
          clearTimeout(deadline);
          resolve();
        };
        const deadline = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${what}: not seen within 10 s; the screen: ${JSON.stringify(screen)}`));
        }, 10_000);
        listeners.add(check);
        check();
      }),
  };
}
