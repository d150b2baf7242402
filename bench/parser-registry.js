// Hot path micro-benchmark: LineParser.parse + Registry.add on 40-line packets
// (60% counters over 1000 names, 30% timers, 10% gauges), untagged and with two
// DogStatsD tags per line. Prints lines/s for three rounds each.
// Usage: npm run build && node bench/parser-registry.js
import { Registry } from '../dist/aggregate/registry.js';
import { LineParser } from '../dist/ingest/parser.js';

const parser = new LineParser({
  sanitizeNames: true,
  maxNameLength: 250,
  maxTagsPerLine: 32,
  maxTagLength: 200,
  gaugeSigns: 'delta',
  authKeys: [],
});
const registry = new Registry({ maxSeries: 1_000_000, lateWindowMs: 600_000, maxSetMembers: 100_000 }, 0);
let bad = 0;
const sink = {
  sample: (sample) => registry.add(sample),
  event() {},
  serviceCheck() {},
  partial: (record) => registry.addPartial(record.name, record.tags, record.partial, record.gaugeOffsets),
  badLine: () => bad++,
};

const lines = [];
for (let i = 0; i < 40; i++) {
  const kind = i % 10;
  lines.push(kind < 6 ? `app.c${i % 1000}:1|c` : kind < 9 ? `app.t${i}:${i * 3}|ms` : `app.g${i}:${i}|g`);
}
const shapes = [
  ['untagged', Buffer.from(lines.join('\n')), 50_000],
  ['tagged', Buffer.from(lines.map((line) => `${line}|#env:prod,host:a`).join('\n')), 20_000],
];
for (const [shape, packet, packets] of shapes) {
  const rates = [];
  for (let round = 0; round < 3; round++) {
    const began = process.hrtime.bigint();
    let parsed = 0;
    for (let i = 0; i < packets; i++) parsed += parser.parse(packet, sink);
    rates.push(parsed / (Number(process.hrtime.bigint() - began) / 1e9));
  }
  const text = rates.map((rate) => `${(rate / 1e6).toFixed(2)}M`).join(', ');
  console.log(`${shape}: ${text} lines/s (node ${process.version})`);
}
if (bad > 0) throw new Error(`${bad} bad lines in the benchmark input`);
