// The ceiling the daemons are measured against: a bare Node UDP receiver on
// the same socket settings as dattss (loopback, 8 MiB receive buffer) that
// counts the lines of each datagram (its newline bytes, plus one) and does
// nothing else. Run by targets.js as a child process; answers `count` over IPC.
import { createSocket } from 'node:dgram';

const NEWLINE = 0x0a;
const socket = createSocket('udp4');
let lines = 0;
socket.on('message', (datagram) => {
  let count = 1;
  for (let at = datagram.indexOf(NEWLINE); at !== -1; at = datagram.indexOf(NEWLINE, at + 1)) count++;
  lines += count;
});
socket.bind(0, '127.0.0.1', () => {
  socket.setRecvBufferSize(8 * 2 ** 20);
  process.send({ port: socket.address().port });
});
process.on('message', (message) => {
  if (message === 'count') process.send({ lines });
  if (message === 'stop') socket.close(() => process.disconnect());
});
