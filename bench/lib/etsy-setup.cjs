// Preloaded into Etsy statsd (node -r): gives its UDP socket the same 8 MiB
// receive buffer dattss asks for, so the comparison is of the daemons and
// not of their socket buffers. Etsy 0.9.0 has no option for it.
const dgram = require('node:dgram');
const createSocket = dgram.createSocket;
dgram.createSocket = function (options, callback) {
  const settings = typeof options === 'string' ? { type: options } : { ...options };
  return createSocket.call(dgram, { ...settings, recvBufferSize: 8 * 1024 * 1024 }, callback);
};

// Etsy 0.9.0 logs with util.log, which Node 23 removed: a stand-in in its format
// ("30 Nov 10:02:03 - message"), so that it runs on Node 24 as well.
const util = require('node:util');
if (typeof util.log !== 'function') {
  util.log = (...args) => {
    const now = new Date();
    const time = now.toTimeString().slice(0, 8);
    const month = now.toLocaleString('en', { month: 'short' });
    console.log(`${now.getDate()} ${month} ${time} - ${util.format(...args)}`);
  };
}
