// Hot path micro-benchmark: LineParser.parse + Registry.add on 40-line packets
// (60% counters over 1000 names, 30% timers, 10% gauges), untagged and with two
// DogStatsD tags per line, beside a receive thread's path (ReceiveBatcher: parse
// and pre-aggregate, handed over every 25,000 packets, about a second's worth),
// in alternating rounds. Prints lines/s for three rounds each. With a series
// count, the packets visit that many series in turn (each packet 40 of them)
// instead of repeating one packet of 40.
// Usage: npm run build && node bench/parser-registry.js [series]
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
  maxLineKeys: 2_000_000,
};
const parser = new LineParser(parserOptions);
const batcher = new ReceiveBatcher({ parser: parserOptions, maxSeries: 1_000_000, maxSetMembers: 100_000 }, () => batcher.take(null));
const HANDOVER_PACKETS = 25_000;
const registry = new Registry({ maxSeries: 1_000_000, lateWindowMs: 600_000, maxSetMembers: 100_000 }, 0);
let bad = 0;
const sink = {
  sample: (sample, keyId) => registry.add(sample, keyId),
  event() {},
  serviceCheck() {},
  partial: (record) => registry.addPartial(record.name, record.tags, record.partial, record.gaugeOffsets),
  badLine: () => bad++,
};

const series = process.argv[2] === undefined ? 40 : Number(process.argv[2]);
const lines = [];
for (let i = 0; i < series; i++) {
  const kind = i % 10;
  lines.push(kind < 6 ? `app.c${i}:1|c` : kind < 9 ? `app.t${i}:${i * 3}|ms` : `app.g${i}:${i}|g`);
}
/** The lines in packets of 40. */
const packetsOf = (tagged) => {
  const packets = [];
  for (let i = 0; i < lines.length; i += 40) {
    const packetLines = lines.slice(i, i + 40);
    packets.push(Buffer.from((tagged ? packetLines.map((line) => `${line}|#env:prod,host:a`) : packetLines).join('\n')));
  }
  return packets;
};
const shapes = [
  ['untagged', packetsOf(false), 50_000],
  ['tagged', packetsOf(true), 20_000],
];
const paths = {
  registry: (packet) => parser.parse(packet, sink),
  'receive thread': (packet, i) => {
    batcher.packet(packet);
    if (i % HANDOVER_PACKETS === HANDOVER_PACKETS - 1) batcher.take(null);
    return 40;
  },
};
for (const [shape, pool, packets] of shapes) {
  const rates = Object.fromEntries(Object.keys(paths).map((path) => [path, []]));
  for (let round = 0; round < 3; round++) {
    for (const [path, parse] of Object.entries(paths)) {
      const began = process.hrtime.bigint();
      let parsed = 0;
      for (let i = 0; i < packets; i++) parsed += parse(pool[i % pool.length], i);
      rates[path].push(parsed / (Number(process.hrtime.bigint() - began) / 1e9));
    }
  }
  for (const [path, list] of Object.entries(rates)) {
    console.log(`${shape}, ${series} series, ${path}: ${list.map((rate) => `${(rate / 1e6).toFixed(2)}M`).join(', ')} lines/s (node ${process.version})`);
  }
}
if (bad > 0) throw new Error(`${bad} bad lines in the benchmark input`);
