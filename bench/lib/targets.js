// The daemons under test, each started fresh in its own process: dattss from
// this checkout (dist/), Etsy statsd 0.9.0 (the devDependency) and, as the
// ceiling, bare receivers on Node's dgram and on the batch reader. Each gives
// its cumulative count of lines received, read through its own interface.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('../../', import.meta.url).pathname;

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function waitFor(predicate, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = async () => {
      if (await predicate().catch(() => false)) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 100);
    };
    void poll();
  });
}

function stopProcess(child) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export async function startDattss(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'dattss-bench-'));
  const [port, httpPort] = [await freePort(), await freePort()];
  const dbPath = join(dir, 'dattss.db');
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), join(ROOT, 'bin/dattss.js'), 'serve', '--port', String(port), '--no-tcp', '--no-admin', '--http-port', String(httpPort), '--db', dbPath, '--log-level', 'warn', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // Its warnings show, but not the one for kernel drops: the ladder's top is meant to overflow.
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.includes('the kernel dropped datagrams')) console.log(line);
  });
  const metric = async (name) => {
    const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  };
  await waitFor(async () => (await metric('dattss_lines_received_total')) >= 0, 'dattss to listen');
  return {
    name: 'dattss',
    pid: child.pid,
    port,
    dbPath,
    received: () => metric('dattss_lines_received_total'),
    /** Datagrams the kernel dropped at its sockets, as the daemon counts them. */
    drops: () => metric('dattss_udp_drops_total'),
    /** The daemon's main-thread JavaScript heap in use, bytes. */
    heapUsed: () => metric('dattss_heap_used_bytes'),
    async stop() {
      await stopProcess(child);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A bare receiver that counts lines (bench/lib/bare-receiver.js): what Node's dgram, or the batch reader, takes by itself. */
export async function startBareReceiver(reader = 'dgram') {
  const child = fork(join(ROOT, 'bench/lib/bare-receiver.js'), [reader], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const reply = () => new Promise((resolve) => child.once('message', resolve));
  const { port } = await reply();
  return {
    name: reader === 'dgram' ? 'node' : 'node/batch',
    pid: child.pid,
    port,
    async received() {
      const answer = reply();
      child.send('count');
      return (await answer).lines;
    },
    async stop() {
      if (child.exitCode !== null || !child.connected) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send('stop');
      await exited;
    },
    cleanup: () => {},
  };
}

export async function startEtsy() {
  const dir = mkdtempSync(join(tmpdir(), 'etsy-bench-'));
  const [port, mgmtPort] = [await freePort(), await freePort()];
  const configPath = join(dir, 'config.js');
  writeFileSync(
    configPath,
    `module.exports = ${JSON.stringify({ port, address: '127.0.0.1', mgmt_port: mgmtPort, mgmt_address: '127.0.0.1', flushInterval: 10_000, backends: [join(ROOT, 'bench/lib/etsy-counting-backend.cjs')] })};\n`,
  );
  const child = spawn(process.execPath, ['-r', join(ROOT, 'bench/lib/etsy-setup.cjs'), join(ROOT, 'node_modules/statsd/stats.js'), configPath], {
    cwd: join(ROOT, 'node_modules/statsd'),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let flushedTotal = 0;
  let flushes = 0;
  let buffered = '';
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.startsWith('{"flushedMetricsReceived"')) {
        flushedTotal += JSON.parse(line).flushedMetricsReceived;
        flushes++;
      }
    }
  });
  const unflushed = () =>
    new Promise((resolve, reject) => {
      const socket = createConnection(mgmtPort, '127.0.0.1', () => socket.write('counters\n'));
      let reply = '';
      socket.on('data', (chunk) => {
        reply += chunk;
        if (reply.includes('END')) {
          socket.destroy();
          resolve(Number(/'statsd\.metrics_received': (\d+)/.exec(reply)?.[1] ?? 0));
        }
      });
      socket.on('error', reject);
    });
  await waitFor(async () => (await unflushed()) >= 0, 'Etsy statsd to listen');
  return {
    name: 'etsy',
    pid: child.pid,
    port,
    /** Lines flushed so far plus those waiting for the next flush, read so that a flush in between is not counted twice. */
    async received() {
      for (;;) {
        const before = flushes;
        const waiting = await unflushed();
        if (flushes === before) return flushedTotal + waiting;
      }
    },
    stop: () => stopProcess(child),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
