// The ceiling the daemons are measured against: a bare receiver on the same
// socket settings as dattss (loopback, 8 MiB receive buffer) that counts the
// lines of each datagram (its newline bytes, plus one) and does nothing else.
// `node bare-receiver.js` reads with Node's dgram; `node bare-receiver.js
// batch` with dattss's batch reader (dist/ingest/udp-socket.js). Run by
// targets.js as a child process; answers `count` over IPC.
import { bindUdp } from '../../dist/ingest/udp-socket.js';

const NEWLINE = 0x0a;
let lines = 0;
const socket = await bindUdp({
  host: '127.0.0.1',
  port: 0,
  reusePort: false,
  recvBufferBytes: 8 * 2 ** 20,
  reader: process.argv[2] === 'batch' ? 'batch' : 'dgram',
  onDatagram: (buf, start, end) => {
    let count = 1;
    for (let at = buf.indexOf(NEWLINE, start); at !== -1 && at < end; at = buf.indexOf(NEWLINE, at + 1)) count++;
    lines += count;
  },
  onError: (error) => console.error(error),
});
process.send({ port: socket.port });
process.on('message', (message) => {
  if (message === 'count') process.send({ lines });
  if (message === 'stop') void socket.close().then(() => process.disconnect());
});
