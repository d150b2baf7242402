// Hot path micro-benchmark: LineParser.parse + Registry.add on 40-line packets
// (60% counters over 1000 names, 30% timers, 10% gauges), untagged and with two
// DogStatsD tags per line, beside a receive thread's path (ReceiveBatcher: parse
// and pre-aggregate, handed over every 25,000 packets, about a second's worth),
// in alternating rounds. Prints lines/s for three rounds each.
// Usage: npm run build && node bench/parser-registry.js
import { Registry } from '../dist/aggregate/registry.js';
import { LineParser } from '../dist/ingest/parser.js';
import { ReceiveBatcher } from '../dist/ingest/receive-batcher.js';

const parserOptions = {
  sanitizeNames: true,
  maxNameLength: 250,
  maxTagsPerLine: 32,
  maxTagLength: 200,
  gaugeSigns: 'delta',
  authKeys: [],
};
const parser = new LineParser(parserOptions);
const batcher = new ReceiveBatcher({ parser: parserOptions, maxSeries: 1_000_000, maxSetMembers: 100_000 }, () => batcher.take(null));
const HANDOVER_PACKETS = 25_000;
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
const paths = {
  registry: (packet) => parser.parse(packet, sink),
  'receive thread': (packet, i) => {
    batcher.packet(packet);
    if (i % HANDOVER_PACKETS === HANDOVER_PACKETS - 1) batcher.take(null);
    return 40;
  },
};
for (const [shape, packet, packets] of shapes) {
  const rates = Object.fromEntries(Object.keys(paths).map((path) => [path, []]));
  for (let round = 0; round < 3; round++) {
    for (const [path, parse] of Object.entries(paths)) {
      const began = process.hrtime.bigint();
      let parsed = 0;
      for (let i = 0; i < packets; i++) parsed += parse(packet, i);
      rates[path].push(parsed / (Number(process.hrtime.bigint() - began) / 1e9));
    }
  }
  for (const [path, list] of Object.entries(rates)) {
    console.log(`${shape}, ${path}: ${list.map((rate) => `${(rate / 1e6).toFixed(2)}M`).join(', ')} lines/s (node ${process.version})`);
  }
}
if (bad > 0) throw new Error(`${bad} bad lines in the benchmark input`);
