// Client SDK micro-benchmark: the cost of agg() and of a flush, and the
// datagrams and bytes one interval of samples takes in each mode. The
// datagrams go to a local UDP socket that only counts them.
// Usage: npm run build && node bench/client.js [samples=200000] [series=500]
import { createSocket } from 'node:dgram';
import { dattss } from '../dist/client/index.js';

const samples = Number(process.argv[2] ?? 200_000);
const seriesCount = Number(process.argv[3] ?? 500);

const sink = createSocket('udp4');
await new Promise((resolve) => sink.bind(0, '127.0.0.1', resolve));
const port = sink.address().port;

/** A timer that never fires: the benchmark flushes by hand. */
const clock = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} };
const values = ['1c', '153ms', '23g', '+1g', '12.5ms'];

for (const mode of ['partials', 'lines']) {
  for (let round = 0; round < 3; round++) {
    const client = dattss({ port, mode, clock, maxSeries: seriesCount * 2 });
    const start = process.hrtime.bigint();
    for (let i = 0; i < samples; i++) client.agg(`bench.series.${i % seriesCount}`, values[i % values.length]);
    const recorded = process.hrtime.bigint();
    await client.flush();
    const flushed = process.hrtime.bigint();
    const stats = client.stats();
    await client.close();
    const aggNs = Number(recorded - start) / samples;
    console.log(
      `${mode.padEnd(8)} round ${round}: agg ${aggNs.toFixed(0)} ns/sample, flush ${(Number(flushed - recorded) / 1e6).toFixed(1)} ms, ` +
        `${stats.datagramsSent} datagrams, ${stats.bytesSent} bytes for ${samples} samples over ${seriesCount} series, ${stats.sendErrors} send errors`,
    );
  }
}
sink.close();
