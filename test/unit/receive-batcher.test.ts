import fc from 'fast-check';
import t from 'tap';
import { Registry } from '../../src/aggregate/registry.js';
import { summarizeMinute, type MinuteAggregate } from '../../src/aggregate/summarize.js';
import { LineParser, type BadLineReason, type ParserOptions, type ParseSink } from '../../src/ingest/parser.js';
import { ReceiveBatcher } from '../../src/ingest/receive-batcher.js';
import type { Batch } from '../../src/ingest/receive-protocol.js';
import { mergeBatch } from '../../src/ingest/receive-threads.js';
import { forEachSeries, seriesTransferables } from '../../src/ingest/series-batch.js';
import type { DogEvent, ServiceCheck } from '../../src/protocol/events.js';
import { SKETCH_RELATIVE_ACCURACY } from '../../src/protocol/metric-type.js';

// A receive thread parses and pre-aggregates; the daemon's thread merges its
// batches. The promise: the registry ends up as if every line had been parsed
// in the daemon's thread. Random packets go both ways into two registries.

const MINUTE_START_MS = Date.UTC(2026, 0, 5, 10, 20, 0);
const NOW_MS = MINUTE_START_MS + 20_000;
const NOW_SEC = NOW_MS / 1000;
const PARSER: ParserOptions = { sanitizeNames: true, maxNameLength: 200, maxTagsPerLine: 10, maxTagLength: 100, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1024 };
const REGISTRY = { maxSeries: 1000, lateWindowMs: 600_000, maxSetMembers: 1000 };

/** What a registry and its sink saw. */
interface Side {
  registry: Registry;
  sink: ParseSink;
  packets: number;
  lines: number;
  badLines: BadLineReason[];
  events: DogEvent[];
  checks: ServiceCheck[];
}

/** A batch's series as [name, tags, figures]. */
function seriesOf(batch: Batch): unknown[] {
  const series: unknown[] = [];
  forEachSeries(batch.series, (name, tags, figures) => series.push([name, tags, figures]));
  return series;
}

function side(): Side {
  const registry = new Registry(REGISTRY, NOW_MS);
  const seen: Side = {
    registry,
    packets: 0,
    lines: 0,
    badLines: [],
    events: [],
    checks: [],
    sink: {
      sample: (sample) => registry.add(sample),
      partial: (record) => registry.addPartial(record.name, record.tags, record.partial, record.gaugeOffsets),
      event: (event) => seen.events.push(event),
      serviceCheck: (check) => seen.checks.push(check),
      badLine: (reason) => seen.badLines.push(reason),
    },
  };
  return seen;
}

/** Merges each batch as the daemon's thread gets it from a receive thread: cloned, its series' buffers moved. */
function merger(into: Side): (batch: Batch) => void {
  return (batch) =>
    mergeBatch(structuredClone(batch, { transfer: seriesTransferables(batch.series) }), {
      sink: into.sink,
      received: (packets, lines, unquoted) => {
        into.packets += packets;
        into.lines += lines;
        for (let i = 0; i < unquoted; i++) into.badLines.push('unquoted' as BadLineReason);
      },
      merge: (name, tags, partial, offsets) => into.registry.addPartial(name, tags, partial, offsets),
    });
}

function rows(registry: Registry): MinuteAggregate[] {
  const summaries = registry.snapshot().flatMap((series) => summarizeMinute(series, MINUTE_START_MS) ?? []);
  return summaries.sort((a, b) => `${a.type}${a.name}${a.tags}`.localeCompare(`${b.type}${b.name}${b.tags}`));
}

// Pre-aggregated series use names a-e; timestamped lines (ts.*) and clients' partial lines (p.*)
// keep names of their own, because the batch merges them after its pre-aggregates.
const LINE = fc.oneof(
  fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: -50, max: 1000 }), fc.constantFrom('', '|@0.5', '|@0.25', '|#env:x')).map(([n, v, extra]) => `${n}.count:${v}|c${extra}`),
  fc.tuple(fc.constantFrom('a', 'b'), fc.nat(5000), fc.constantFrom('', '|@0.5')).map(([n, v, extra]) => `${n}.time:${v}|ms${extra}`),
  fc.tuple(fc.constantFrom('a', 'b'), fc.integer({ min: -20, max: 20 }), fc.boolean()).map(([n, v, absolute]) => `${n}.gauge:${absolute ? Math.abs(v) : v < 0 ? v : `+${v}`}|g`),
  fc.tuple(fc.constantFrom('d', 'e'), fc.nat(12)).map(([n, m]) => `${n}.set:m${m}|s`),
  fc.tuple(fc.nat(30), fc.constantFrom(0, -60, -3600)).map(([v, back]) => `ts.count:${v}|c|T${NOW_SEC + back}`),
  fc.tuple(fc.nat(30), fc.constantFrom(0, -60)).map(([v, back]) => `ts.gauge:${v}|g|T${NOW_SEC + back}`),
  fc.tuple(fc.nat(30), fc.nat(5)).map(([sum, count]) => `_p1|c|p.count||${count}|${sum}`),
  fc.nat(5).map((v) => `_p1|g|p.gauge||~1|${v}|${v}|${v}|${v}`),
  fc.constantFrom('_e{5,4}:title|text', '_sc|check.name|1', 'no value here', 'x:1|zz', 'y:abc|c', 't:-1|ms', '_p1|c|broken'),
);
const PACKETS = fc.array(fc.array(LINE, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 30 });
/** After which packets the thread hands over unasked (its timer); the rest wait. */
const HANDOVERS = fc.array(fc.boolean(), { minLength: 30, maxLength: 30 });

t.test('random packets through a receive batcher merge into the registry as if parsed in place', async (t) => {
  let runs = 0;
  let midPacketHandovers = 0;
  fc.assert(
    fc.property(PACKETS, HANDOVERS, (packets, handovers) => {
      const direct = side();
      const parser = new LineParser(PARSER);
      const threaded = side();
      const merge = merger(threaded);
      // Tiny limits, so that full buffers hand over in the middle of packets.
      let full = 0;
      const batcher = new ReceiveBatcher({ parser: PARSER, maxSeries: 3, maxSetMembers: 2 }, () => {
        full++;
        merge(batcher.take(null));
      });
      packets.forEach((lines, i) => {
        const packet = Buffer.from(lines.join('\n'));
        direct.packets++;
        direct.lines += parser.parse(packet, direct.sink);
        batcher.packet(packet);
        if (handovers[i] === true) merge(batcher.take(i));
      });
      merge(batcher.take(null));
      midPacketHandovers += full;

      t.equal(threaded.packets, direct.packets);
      t.equal(threaded.lines, direct.lines);
      t.equal(threaded.badLines.length, direct.badLines.length);
      t.same(threaded.events, direct.events);
      t.same(threaded.checks, direct.checks);
      t.same(threaded.registry.drainLate(), direct.registry.drainLate(), 'late samples');
      t.equal(threaded.registry.lateDropped, direct.registry.lateDropped);
      const want = rows(direct.registry);
      const got = rows(threaded.registry);
      const exact = (list: MinuteAggregate[]): unknown[] => list.map((row) => ({ ...row, p50: 0, p90: 0, p95: 0, p99: 0, sketch: null, lastAtMs: 0 }));
      t.same(exact(got), exact(want));
      want.forEach((row, i) => {
        for (const q of ['p50', 'p90', 'p95', 'p99'] as const) {
          const expected = row[q];
          const actual = got[i]?.[q] ?? null;
          if (expected === null || actual === null) t.equal(actual, expected);
          else t.ok(Math.abs(actual - expected) <= SKETCH_RELATIVE_ACCURACY * Math.abs(expected), `${row.name} ${q}`);
        }
      });
      runs++;
    }),
    { numRuns: 40, seed: 20261130 },
  );
  t.equal(runs, 40);
  t.ok(midPacketHandovers > 0, `${midPacketHandovers} batches handed over because the buffer was full`);
});

t.test('a batch quotes its first bad lines, cut a byte past what the log shows, and counts the rest', async (t) => {
  const batches: Batch[] = [];
  const batcher = new ReceiveBatcher({ parser: PARSER, maxSeries: 10, maxSetMembers: 10 }, () => batches.push(batcher.take(null)));
  const long = `${'x'.repeat(300)}|c`;
  const bad = Array.from({ length: 25 }, (_, i) => `bad${i}`);
  batcher.packet(Buffer.from([long, ...bad, 'ok:1|c'].join('\n')));
  const batch = batcher.take(7);
  t.equal(batch.id, 7);
  t.equal(batch.packets, 1);
  t.equal(batch.lines, 27);
  t.equal(batch.badLines, 26);
  t.equal(batch.quotes.length, 20, 'twenty quoted');
  t.equal(Buffer.from(batch.quotes[0]![1]).toString(), long.slice(0, 201));
  t.same(batch.quotes[1], ['missing_value', Buffer.from('bad0')]);
  t.same(seriesOf(batch), [['ok', '', { type: 'counter', count: 1, sum: 1 }]]);
  t.ok(batcher.empty, 'a new batch starts empty');
  t.equal(batcher.linesPerSeries, 0);
  batcher.packet(Buffer.from('a:1|c\na:2|c\na:3|ms\nb:1|c'));
  t.equal(batcher.linesPerSeries, 4 / 3, 'four lines over three series');
  t.same(batches, [], 'nothing was full');

  const target = side();
  const logged: string[] = [];
  const quoting = { ...target.sink, badLine: (reason: BadLineReason, buf: Buffer, start: number, end: number) => logged.push(`${reason}:${buf.toString('utf8', start, end)}`) };
  let unquoted = 0;
  mergeBatch(batch, { sink: quoting, received: (_p, _l, bad) => (unquoted = bad), merge: () => undefined });
  t.equal(unquoted, 6, 'the bad lines not quoted are counted apart');
  t.equal(logged.length, 20);
  t.equal(logged[1], 'missing_value:bad0');
});

t.test('a batch holds at most 10,000 passed-through items before it is handed over', async (t) => {
  const batches: Batch[] = [];
  const batcher = new ReceiveBatcher({ parser: PARSER, maxSeries: 10, maxSetMembers: 10 }, () => batches.push(batcher.take(null)));
  const lines = Array.from({ length: 100 }, () => `ts:1|c|T${NOW_SEC}`).join('\n');
  for (let i = 0; i < 150; i++) batcher.packet(Buffer.from(lines));
  t.equal(batches.length, 1);
  t.equal(batches[0]!.samples.length, 10_000);
  t.equal(batcher.take(null).samples.length, 5_000);
});
