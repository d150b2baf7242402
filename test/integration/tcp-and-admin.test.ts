import { connect, type Socket } from 'node:net';
import t from 'tap';
import type { Daemon } from '../../src/daemon.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

const START_MS = Date.UTC(2026, 0, 5, 10, 20, 2);

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function open(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

async function closed(socket: Socket): Promise<void> {
  if (socket.closed) return;
  await new Promise((resolve) => socket.once('close', resolve));
}

/** Sends admin commands and collects the reply until it ends with `terminator`. */
async function admin(port: number, commands: string, terminator: RegExp): Promise<string> {
  const socket = await open(port);
  let reply = '';
  socket.setEncoding('utf8');
  const done = new Promise<string>((resolve, reject) => {
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (terminator.test(reply)) resolve(reply);
    });
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
  });
  socket.write(commands);
  const result = await done;
  socket.destroy();
  return result;
}

t.test('TCP ingest: newline framing, partial lines, long lines, end without newline', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { tcpMaxLineBytes: 100 });
  t.ok(addresses.tcp, 'TCP is on by default');
  t.equal(addresses.tcp?.port, addresses.udp.port, 'on the UDP port number');

  const socket = await open(addresses.tcp?.port as number);
  socket.write('tcp.a:1|c\ntcp.a:2');
  await until(() => daemon.stats().linesReceived === 1, 'the first line');
  socket.write('|c\ntcp.b:5|ms\n'); // completes the waiting line
  await until(() => daemon.stats().linesReceived === 3, 'the completed lines');
  socket.write(`tcp.long:${'9'.repeat(150)}`); // no newline yet, already over 100 bytes
  socket.write(`${'9'.repeat(50)}|c\ntcp.a:4|c\n`);
  await until(() => daemon.stats().linesReceived === 4, 'the line after the long one');
  t.equal(daemon.stats().badLines, 1, 'the long line is counted as bad');
  socket.end('tcp.a:8|c'); // the last line without a newline still counts
  await closed(socket);
  await until(() => daemon.stats().linesReceived === 5, 'the unterminated last line');

  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath, "name LIKE 'tcp.%'");
  t.match(rows, [{ name: 'tcp.a', value: 15 }, { name: 'tcp.b', value: 5 }]);
  t.equal(rows.length, 2, 'the long line left no series');
});

t.test('TCP ingest: a too-long line inside one chunk is dropped, its neighbours kept', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { tcpMaxLineBytes: 64 });
  const socket = await open(addresses.tcp?.port as number);
  socket.end(`one:1|c\nlong:${'7'.repeat(200)}|c\ntwo:2|c\n`);
  await closed(socket);
  await until(() => daemon.stats().linesReceived === 2, 'the two short lines');
  t.equal(daemon.stats().badLines, 1);
  clock.advance(60_000);
  await daemon.written();
  t.match(readMetrics(dbPath, "name IN ('one', 'two', 'long')"), [{ name: 'one', value: 1 }, { name: 'two', value: 2 }]);
});

t.test('TCP ingest: connection limit and idle timeout, which cuts an unfinished line', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock, { tcpMaxConnections: 1, tcpIdleTimeoutSec: 1 });
  const port = addresses.tcp?.port as number;
  const first = await open(port);
  // The rest of this line (`|@0.1`, say) never comes.
  first.write('whole:1|c\ncut:1|c');
  const second = connect(port, '127.0.0.1');
  second.on('error', () => undefined);
  await closed(second);
  t.pass('a connection beyond the limit is closed');
  // The idle timeout is a real socket timer of 1 s; the wait ends on the close event.
  await closed(first);
  t.pass('an idle connection is closed');
  clock.advance(60_000);
  await daemon.written();
  t.equal(daemon.stats().badLines, 1, 'the unfinished line counted as bad');
  t.same(
    readMetrics(dbPath, "name IN ('whole', 'cut')").map((row) => [row.name, row.value]),
    [['whole', 1]],
    'and not parsed',
  );
});

t.test('--no-tcp and --no-admin turn the listeners off', async (t) => {
  const { addresses } = await startDaemon(t, new FakeClock(START_MS), { tcp: false, admin: false });
  t.equal(addresses.tcp, undefined);
  t.equal(addresses.admin, undefined);
});

t.test('admin interface: every command in Etsy format', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses } = await startDaemon(t, clock);
  const port = addresses.admin?.port as number;
  t.ok(port > 0, 'admin on an ephemeral port');
  await sendAndSettle(daemon, addresses.udp.port, [
    'web.hits:3|c\nweb.hits:4|c\nweb.errors:1|c\napi.hits:1|c|#env:prod,region:eu\nlat:10|ms\nlat:30|ms\nq:5|g\nbroken',
  ]);
  clock.advance(7_000);
  await daemon.written();

  t.equal(
    await admin(port, 'help\n', /\n\n$/),
    'Commands: stats, counters, timers, gauges, delcounters, deltimers, delgauges, health, config, quit\n\n',
  );
  t.equal(await admin(port, 'health\n', /\n$/), 'health: up\n');

  const stats = await admin(port, 'stats\n', /END\n\n$/);
  t.match(
    stats,
    /^uptime: 7\nmessages\.last_msg_seen: 7\nmessages\.bad_lines_seen: 1\nmessages\.packets_received_total: 1\nmessages\.metrics_received_total: 8\nmessages\.bad_lines_total: 1\nmessages\.series_live: 5\nflush\.last_duration_ms: [0-9.]+\nEND\n\n$/,
  );

  const counters = await admin(port, 'counters\n', /END\n\n$/);
  t.match(counters, /'web\.hits': 7/);
  t.match(counters, /'web\.errors': 1/);
  t.match(counters, /'api\.hits;env=prod;region=eu': 1/);
  t.match(await admin(port, 'timers\n', /END\n\n$/), /lat: \{ count: 2, mean: 20, min: 10, max: 30, p99: 30/);
  t.equal(await admin(port, 'gauges\n', /END\n\n$/), '{ q: 5 }\nEND\n\n');

  t.equal(await admin(port, 'delcounters web.* nothing.here\n', /END\n\n$/), 'deleted: web.hits\ndeleted: web.errors\nmetric nothing.here not found\nEND\n\n');
  t.equal(await admin(port, 'delgauges q\n', /END\n\n$/), 'deleted: q\nEND\n\n');
  t.equal(daemon.live({ type: 'counter' }).length, 1, 'deleted series are gone from the live view');

  const config = await admin(port, 'config\n', /maxSeries: \d+\n[\s\S]*$/);
  t.match(config, /^\n/);
  t.match(config, /\nport: 0\n/);
  t.match(config, /\nadminHost: 127\.0\.0\.1\n/);

  t.equal(await admin(port, 'bogus\n', /\n$/), 'ERROR\n');
  // Several commands in one chunk, unlike Etsy; a chunk without a newline is one command.
  t.equal(await admin(port, 'health down\nhealth\n', /health: down\nhealth: down\n$/), 'health: down\nhealth: down\n');
  t.equal(daemon.health(), 'down', 'health down reaches the daemon');
  t.equal(await admin(port, 'health up', /\n$/), 'health: up\n');
  t.equal((daemon as Daemon).health(), 'up');

  const quit = await admin(port, 'quit\n', /$^/);
  t.equal(quit, '', 'quit closes the connection without a reply');
});
