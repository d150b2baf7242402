// Preloaded into Etsy statsd (node -r): gives its UDP socket the same 8 MiB
// receive buffer dattss asks for, so the comparison is of the daemons and
// not of their socket buffers. Etsy 0.9.0 has no option for it.
const dgram = require('node:dgram');
const createSocket = dgram.createSocket;
dgram.createSocket = function (options, callback) {
  const settings = typeof options === 'string' ? { type: options } : { ...options };
  return createSocket.call(dgram, { ...settings, recvBufferSize: 8 * 1024 * 1024 }, callback);
};
