import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { DgramAsPromised } from 'dgram-as-promised';
import BetterSqlite3 from 'better-sqlite3';
import { BIN, envWithoutDattss, spawnDaemon } from '../helpers/child-daemon.js';
import { tempDir } from '../helpers/daemon.js';

t.test('dattss serve: lines in, SIGTERM, rows on disk, exit 0', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'nested', 'dattss.db');
  const { child, logs, stderr, exited, waitForLog, udpPort } = await spawnDaemon(t, dbPath);
  const listening = await waitForLog((line) => line.msg === 'listening');
  const udp = listening.udp as { address: string; port: number };
  t.equal(udp.address, '127.0.0.1', 'listens on loopback by default');
  t.ok(udpPort > 0, 'the bound ephemeral port is in the listening line');
  t.ok((listening.recvBufferBytes as { granted: number }).granted > 0, 'the granted receive buffer is logged');

  const socket = DgramAsPromised.createSocket('udp4');
  for (let i = 0; i < 50; i++) await socket.send(Buffer.from('cli.count:2|c\ncli.lat:20|ms'), udp.port, '127.0.0.1');
  await socket.send(Buffer.from('cli.gauge:42|g'), udp.port, '127.0.0.1');
  // A bad line is logged when it is parsed; datagrams from one socket arrive
  // in order on loopback, so its log line proves every earlier one was parsed.
  await socket.send(Buffer.from('end-of-test-marker'), udp.port, '127.0.0.1');
  await socket.close();
  await waitForLog((line) => line.msg === 'bad line' && line.line === 'end-of-test-marker');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 on SIGTERM');
  t.equal(stderr(), '', 'nothing on stderr');
  t.ok(logs.some((line) => line.msg === 'flushed minute'), 'logs the flush');
  t.match(logs.at(-1), { msg: 'stopped', packetsReceived: 52, linesReceived: 102, badLines: 1 });

  const db = new BetterSqlite3(dbPath, { readonly: true });
  t.teardown(() => db.close());
  // Wall-clock time runs in the child: the lines may straddle a minute boundary.
  const totals = db
    .prepare(
      `SELECT name, type, sum(count) AS count, sum(sum) AS sum, max(last) AS last
       FROM metrics_1m WHERE name LIKE 'cli.%' GROUP BY name, type ORDER BY name`,
    )
    .all();
  t.same(totals, [
    { name: 'cli.count', type: 'counter', count: 50, sum: 100, last: null },
    { name: 'cli.gauge', type: 'gauge', count: 1, sum: 42, last: 42 },
    { name: 'cli.lat', type: 'timer', count: 50, sum: 1000, last: null },
  ]);
});

t.test('dattss serve: a port in use is a clear error and a non-zero exit', async (t) => {
  const dir = tempDir(t);
  const blocker = DgramAsPromised.createSocket('udp4');
  const { port } = await blocker.bind(0, '127.0.0.1');
  t.teardown(() => blocker.close());
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--db', join(dir, 'x.db')], {
    env: envWithoutDattss(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 1);
  t.match(stderr, new RegExp(`cannot listen for UDP on 127\\.0\\.0\\.1:${port}.*DATTSS_LISTEN_FAILED`));
});
