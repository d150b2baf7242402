// npm's install step: builds the batched UDP reader (native/udp_batch.c) with
// node-gyp, which npm puts on the PATH of its scripts. It is Linux only
// (recvmmsg) and optional: where it is not built, dattss reads UDP with
// Node's dgram (udpReader 'auto'), so a failed build warns and does not fail
// the install.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const directory = fileURLToPath(new URL('../native', import.meta.url));

if (process.platform !== 'linux') {
  console.log(`dattss: the batched UDP reader is Linux only; on ${process.platform} UDP is read with Node's dgram`);
  process.exit(0);
}
const result = spawnSync('node-gyp', ['rebuild', '--directory', directory], { stdio: 'inherit', shell: process.platform === 'win32' });
if (result.status !== 0) {
  const why = result.error ? result.error.message : `node-gyp exited ${result.status}`;
  console.warn(`dattss: WARNING: the batched UDP reader was not built (${why}); UDP will be read with Node's dgram, which takes fewer datagrams a second (docs/configuration.md#udpreader)`);
}
