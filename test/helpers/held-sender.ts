import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

/**
 * Sends each datagram in turn to 127.0.0.1:`port` from a child process, one
 * after another's send completes. spawnSync holds this thread's event loop
 * meanwhile, so nothing here reads until every datagram is sent: a burst
 * against a daemon or reader that is busy. The child's result, for its status.
 */
export function sendFromChild(port: number, datagrams: readonly string[]): SpawnSyncReturns<string> {
  const script = `const s = require('node:dgram').createSocket('udp4'); const all = JSON.parse(require('node:fs').readFileSync(0, 'utf8')); let n = 0;
    (function next() { if (n === all.length) return s.close(); s.send(all[n], ${port}, '127.0.0.1', (e) => { if (e) throw e; n++; next(); }); })();`;
  return spawnSync(process.execPath, ['-e', script], { input: JSON.stringify(datagrams), encoding: 'utf8', timeout: 20_000 });
}
