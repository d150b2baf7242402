import { connect, type Socket } from 'node:net';
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, sendAndSettle, startDaemon } from '../helpers/daemon.js';

// Clients that break off mid-conversation — a reset in the middle of a TCP
// line, an admin session cut mid-command, an HTTP request abandoned half
// sent — cost their own connection and nothing else.

const START_MS = Date.UTC(2026, 0, 5, 10, 20, 2);

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

async function reset(socket: Socket, data: string): Promise<void> {
  await new Promise<void>((resolve) => socket.write(data, () => resolve()));
  socket.resetAndDestroy();
}

t.test('resets on every listener leave the daemon serving and counting', async (t) => {
  const clock = new FakeClock(START_MS);
  const { daemon, addresses, dbPath } = await startDaemon(t, clock);
  const { udp, tcp, admin, http } = addresses as Required<typeof addresses>;

  for (let i = 0; i < 20; i++) {
    await reset(await open(tcp.port), 'tcp.ok:1|c\ntcp.half:1|');
    await reset(await open(admin.port), 'sta');
    await reset(await open(http.port), 'PUT /agg HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"prt":');
  }
  await sendAndSettle(daemon, udp.port, ['udp.ok:1|c']);
  // The TCP lines before each reset arrive; wait for the last of them.
  const deadline = Date.now() + 5_000;
  while ((daemon.live({ name: 'tcp.ok' })[0]?.current ?? 0) < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));

  t.equal((await fetch(`http://127.0.0.1:${http.port}/api/health`)).status, 200, 'HTTP still serves');
  const stats = await new Promise<string>((resolve) => {
    const socket = connect(admin.port, '127.0.0.1', () => socket.write('stats\n'));
    let reply = '';
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('END')) {
        socket.destroy();
        resolve(reply);
      }
    });
  });
  t.match(stats, /^uptime: /, 'the admin interface still answers');
  clock.advance(60_000);
  await daemon.written();
  const rows = readMetrics(dbPath, "name IN ('tcp.ok', 'udp.ok')");
  t.same(rows.map((row) => [row.name, row.value]), [['tcp.ok', 20], ['udp.ok', 1]], 'complete lines before a reset count');
  // The cut line is a bad line, never merged into another line: Node 22 and later
  // report the reset as an error, and the unfinished line is counted as cut;
  // Node 20 reports data followed by a reset as an orderly end, and the line is
  // parsed like the last line of a closing client (here it lacks its type).
  t.equal(daemon.stats().badLines, 20, 'each cut line counted once as bad');
});
