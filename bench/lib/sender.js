// Builds and runs the compiled UDP sender (bench/sender.c) with the system C compiler.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SOURCE = new URL('../sender.c', import.meta.url).pathname;

export function buildSender() {
  const dir = join(tmpdir(), 'dattss-bench');
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, 'sender');
  execFileSync('cc', ['-O2', '-Wall', '-o', binary, SOURCE], { stdio: 'inherit' });
  return binary;
}

/**
 * Sends a load and resolves with the sender's summary ({ datagrams, lines, seconds, counterSum,
 * timerCount, timerSum }). Series are named `<prefix>.c<n>` and so on.
 */
export function send(binary, { port, lines, perDatagram, series, rate, maxSeconds, prefix = 'bench' }) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['127.0.0.1', String(port), String(lines), String(perDatagram), String(series), String(rate), String(maxSeconds), prefix]);
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`sender exited ${code}: ${err}`))));
  });
}
