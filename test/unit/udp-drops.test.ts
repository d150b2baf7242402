import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { KernelUdpDrops, socketDrops } from '../../src/ingest/udp-drops.js';
import { tempDir } from '../helpers/daemon.js';

const HEADER = '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ';

/** A /proc/net/udp row: port 8125 is 1FBD. */
const row = (local: string, inode: number, drops: number): string =>
  `  42: ${local} 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 ${inode} 2 ffff9b1a2c3d4e00 ${drops}`;

t.test('socketDrops reads the drops column of the rows on the port, by inode', async (t) => {
  const table = [
    HEADER,
    row('0100007F:1FBD', 101, 7),
    row('0100007F:1FBD', 102, 0),
    row('0100007F:1FBE', 103, 50), // another port
    row('0100007F:1FBD', 104, 60), // perhaps another process's socket on the port (SO_REUSEPORT)
    row('00000000:01FBD', 105, 1), // a port that only ends like ours
    '  43: truncated 0100007F:1FBD',
    '',
  ].join('\n');
  t.same(socketDrops(table, 8125), new Map([['101', 7], ['102', 0], ['104', 60]]));
  const v6 = [HEADER, row('00000000000000000000000001000000:1FBD', 201, 3)].join('\n');
  t.same(socketDrops(v6, 8125), new Map([['201', 3]]), 'IPv6 addresses');
  t.same(socketDrops(HEADER, 8125), new Map(), 'no sockets at all');
});

/** A /proc with the given sockets open and the tables' rows. */
function fakeProc(t: Test) {
  const root = tempDir(t);
  mkdirSync(join(root, 'self/fd'), { recursive: true });
  mkdirSync(join(root, 'net'));
  return {
    root,
    /** Sockets on the port, this process's unless `foreign`. */
    set(sockets: { inode: number; drops: number; v6?: boolean; foreign?: boolean }[], ipv6 = true) {
      rmSync(join(root, 'self/fd'), { recursive: true, force: true });
      mkdirSync(join(root, 'self/fd'));
      symlinkSync('/dev/null', join(root, 'self/fd/0'));
      symlinkSync('pipe:[9]', join(root, 'self/fd/1'));
      sockets.forEach(({ inode, foreign }, i) => foreign !== true && symlinkSync(`socket:[${inode}]`, join(root, `self/fd/${i + 10}`)));
      const rows = (v6: boolean) => sockets.filter((socket) => (socket.v6 ?? false) === v6).map(({ inode, drops }) => row(v6 ? `${'0'.repeat(32)}:1FBD` : '0100007F:1FBD', inode, drops));
      writeFileSync(join(root, 'net/udp'), [HEADER, ...rows(false)].join('\n'));
      if (ipv6) writeFileSync(join(root, 'net/udp6'), [HEADER, ...rows(true)].join('\n'));
      else rmSync(join(root, 'net/udp6'), { force: true });
    },
  };
}

t.test('the total sums every socket the daemon has had, and never goes down', async (t) => {
  const proc = fakeProc(t);
  const drops = new KernelUdpDrops(8125, proc.root);
  proc.set([{ inode: 1, drops: 0 }, { inode: 2, drops: 0, v6: true }]);
  t.equal(drops.read(), 0);
  proc.set([{ inode: 1, drops: 5 }, { inode: 2, drops: 3, v6: true }]);
  t.equal(drops.read(), 8, 'IPv4 and IPv6 sockets');
  t.equal(drops.read(), 8, 'read again, nothing new');
  // A receive thread's socket replaced: the old one's count leaves the table, the new one starts at 0.
  proc.set([{ inode: 1, drops: 9 }, { inode: 3, drops: 2, v6: true }]);
  t.equal(drops.read(), 14);
  proc.set([{ inode: 1, drops: 9 }, { inode: 3, drops: 2 }], false);
  t.equal(drops.read(), 14, 'without /proc/net/udp6 (IPv6 disabled)');
  proc.set([{ inode: 1, drops: 10 }, { inode: 4, drops: 500, foreign: true }]);
  t.equal(drops.read(), 15, "another process's socket on the port is not counted");
});

t.test('the file descriptors are read only when a socket appears on the port', async (t) => {
  const proc = fakeProc(t);
  const drops = new KernelUdpDrops(8125, proc.root);
  proc.set([{ inode: 1, drops: 2 }, { inode: 4, drops: 500, foreign: true }]);
  t.equal(drops.read(), 2);
  rmSync(join(proc.root, 'self/fd'), { recursive: true });
  writeFileSync(join(proc.root, 'net/udp'), [HEADER, row('0100007F:1FBD', 1, 3), row('0100007F:1FBD', 4, 600)].join('\n'));
  t.equal(drops.read(), 3, 'the same sockets: no need to look again');
  writeFileSync(join(proc.root, 'net/udp'), [HEADER, row('0100007F:1FBD', 1, 3), row('0100007F:1FBD', 5, 1)].join('\n'));
  t.equal(drops.read(), undefined, 'a new socket: looked for, and /proc/self/fd is gone');
});

t.test('without /proc the count is unknown, not zero', async (t) => {
  const proc = fakeProc(t);
  t.equal(new KernelUdpDrops(8125, join(proc.root, 'missing')).read(), undefined, 'no /proc/self/fd');
  t.equal(new KernelUdpDrops(8125, proc.root).read(), undefined, 'no socket tables');
});

t.test("on Linux, datagrams that found this process's socket full are counted", { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  // The smallest buffer the kernel grants holds a few datagrams of 1000 bytes.
  const socket = createSocket({ type: 'udp4', recvBufferSize: 1024 });
  let received = 0;
  socket.on('message', () => received++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => socket.close());
  const { port } = socket.address();
  const drops = new KernelUdpDrops(port);
  t.equal(drops.read(), 0, 'found, and nothing dropped yet');
  const sent = 200;
  // This thread does not read while the child sends: spawnSync holds the event loop.
  const sender = `const s = require('node:dgram').createSocket('udp4'); const b = Buffer.alloc(1000, 120); let n = 0;
    (function next() { if (n === ${sent}) return s.close(); s.send(b, ${port}, '127.0.0.1', (e) => { if (e) throw e; n++; next(); }); })();`;
  const child = spawnSync(process.execPath, ['-e', sender], { encoding: 'utf8', timeout: 20_000 });
  t.equal(child.status, 0, child.stderr);
  const deadline = Date.now() + 5000;
  while (received + (drops.read() ?? 0) < sent && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  t.ok((drops.read() ?? 0) > 0, `some dropped (${drops.read()}; ${received} received)`);
  t.equal(received + (drops.read() ?? 0), sent, 'every datagram either received or counted as dropped');
});
