import t from 'tap';
import { main as basic } from '../../examples/basic.js';
import { main as linesMode } from '../../examples/lines-mode.js';
import { main as timing } from '../../examples/timing.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { readMetrics, startDaemon } from '../helpers/daemon.js';

// The examples run against a test daemon and their data arrives. They import
// 'dattss/client' as users do: the type checker maps it to src/client/ (tsconfig
// paths), Node to the built dist/client/ through the package's exports.

const START_MS = Date.UTC(2026, 0, 5, 10, 20, 1);

const examples = { basic, timing, linesMode };

for (const [name, main] of Object.entries(examples)) {
  t.test(`examples/${name} runs and its data reaches the daemon`, async (t) => {
    const clock = new FakeClock(START_MS);
    const { daemon, addresses, dbPath } = await startDaemon(t, clock);
    const output: unknown[][] = [];
    const stats = await main('127.0.0.1', addresses.udp.port, (...values) => void output.push(values));
    t.equal(stats.sendErrors, 0);
    t.ok(stats.datagramsSent > 0);
    const deadline = Date.now() + 5000;
    while (daemon.stats().packetsReceived < stats.datagramsSent) {
      if (Date.now() > deadline) throw new Error('datagrams lost');
      await new Promise((resolve) => setImmediate(resolve));
    }
    clock.advance(60_000);
    await daemon.written();
    const rows = readMetrics(dbPath, "name LIKE 'example.%'");
    t.ok(rows.length >= 2, `${rows.length} series written`);
    t.equal(daemon.stats().badLines, 0);
    if (name === 'timing') t.match(output, [['time() rethrew:', 'the database is down'], ['sum is 499500', [/^DATTSS_CLIENT_INVALID: /]]]);
    else t.same(output, [], 'no errors reported');
  });
}
