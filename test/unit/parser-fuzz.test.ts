import fc from 'fast-check';
import t from 'tap';
import { figuresOf } from '../../src/aggregate/partial-figures.js';
import { CounterPartial, SetPartial, TimerPartial } from '../../src/aggregate/partial.js';
import { encodePartialLine } from '../../src/protocol/partial-line.js';
import { LineParser, type BadLineReason, type ParseSink, type Sample } from '../../src/ingest/parser.js';

// Property-based fuzzing of the parser (fast-check): whatever the bytes, it
// never throws, every value it emits is finite (partial aggregates too), and a datagram parses as the
// concatenation of its lines parsed alone — so good lines beside bad ones
// are counted exactly and a bad line never spills into its neighbours.

const OPTIONS = { sanitizeNames: true, maxNameLength: 250, maxTagsPerLine: 32, maxTagLength: 200, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1024 } as const;

interface Outcome {
  samples: string[];
  bad: BadLineReason[];
  notes: number;
  lines: number;
}

function parse(buf: Buffer): Outcome {
  const parser = new LineParser(OPTIONS);
  const outcome: Outcome = { samples: [], bad: [], notes: 0, lines: 0 };
  const sink: ParseSink = {
    sample: (sample: Sample) => {
      if (!Number.isFinite(sample.value) || !(sample.rate > 0 && sample.rate <= 1)) throw new Error(`non-finite sample ${JSON.stringify(sample)}`);
      outcome.samples.push(JSON.stringify(sample));
    },
    event: () => void outcome.notes++,
    serviceCheck: () => void outcome.notes++,
    partial: (record) => {
      const { partial } = record;
      const figures = [partial.count, 'sum' in partial ? partial.sum : 0, 'min' in partial ? partial.min : 0, 'max' in partial ? partial.max : 0];
      if (partial.count > 0 && !figures.every(Number.isFinite)) throw new Error(`non-finite partial ${JSON.stringify(record)}`);
      outcome.samples.push(JSON.stringify(record));
    },
    badLine: (reason) => void outcome.bad.push(reason),
  };
  outcome.lines = parser.parse(buf, sink);
  return outcome;
}

/** Lines that are valid, near-valid or hostile: the shapes an attacker or a broken client sends. */
const NAMES = fc.oneof(fc.constantFrom('a', 'api.latency', 'x-y_z', 'web hits', 'ü.name'), fc.string({ maxLength: 300 }));
const VALUES = fc.oneof(
  fc.constantFrom('1', '-1', '+3', '0.5', 'NaN', 'Infinity', '-Infinity', '1e400', '-1e400', '1e-400', '0x10', '', '.', '1.2.3', '١'),
  fc.double().map(String),
  fc.integer().map(String),
);
const TYPES = fc.constantFrom('c', 'ms', 'g', 's', 'h', 'd', 'x', '', 'C', 'ms ');
const SUFFIXES = fc.oneof(
  fc.constant(''),
  fc.constantFrom('|@0.1', '|@0', '|@1.5', '|@NaN', '|#env:prod', '|#a,b:c', '|T1767608400', '|Tabc', '|c:123'),
  fc.array(fc.string({ maxLength: 20 }), { maxLength: 2000 }).map((tags) => `|#${tags.join(',')}`),
);
const STATSD_LINE = fc.tuple(NAMES, VALUES, TYPES, SUFFIXES).map(([name, value, type, suffix]) => `${name}:${value}|${type}${suffix}`);
/** Partial-aggregate lines: encoded from real partials, then maybe cut short or spliced with junk fields. */
const PARTIAL_LINE = fc
  .tuple(
    fc.constantFrom<'counter' | 'timer' | 'set'>('counter', 'timer', 'set'),
    fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 40 }),
    fc.boolean(),
    fc.nat(200),
    fc.array(fc.oneof(VALUES, fc.constantFrom('~1', '=AAAA', 'a:b', '')), { maxLength: 4 }),
  )
  .map(([type, values, withSketch, cut, junk]) => {
    const partial = type === 'counter' ? new CounterPartial() : type === 'timer' ? new TimerPartial() : new SetPartial();
    for (const value of values) (partial.type === 'set' ? partial.add(String(value)) : partial.add(value, 1));
    const line = encodePartialLine('p', 'k:v', figuresOf(partial, withSketch));
    return junk.length === 0 ? line : `${line.slice(0, line.length - cut)}|${junk.join('|')}`;
  });
const GAUGE_PARTIAL_LINE = fc
  .array(fc.oneof(VALUES, fc.constant('~1')), { minLength: 5, maxLength: 11 })
  .map((fields) => `_p1|g|q||${fields.join('|')}`);
const ANY_LINE = fc.oneof(
  { weight: 4, arbitrary: STATSD_LINE },
  { weight: 1, arbitrary: PARTIAL_LINE },
  { weight: 1, arbitrary: GAUGE_PARTIAL_LINE },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('_e{5,4}:title|text', '_e{99,1}:x|y', '_sc|svc|0', '_sc|svc|9', 'a:1:2:3|d', 'k:p:s:1c', ':|', '|', ':') },
);
/** A line never contains a newline: its bytes, possibly invalid UTF-8. */
const LINE_BYTES = fc.oneof(
  { weight: 5, arbitrary: ANY_LINE.map((line) => Buffer.from(line.replace(/[\n]/g, ' '))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes.map((b) => (b === 0x0a ? 0x20 : b)))) },
);

t.test('a datagram parses as its lines parsed one by one; nothing throws; values are finite', async (t) => {
  fc.assert(
    fc.property(fc.array(LINE_BYTES, { minLength: 1, maxLength: 40 }), (lines) => {
      const whole = parse(Buffer.concat(lines.flatMap((line, i) => (i === 0 ? [line] : [Buffer.from('\n'), line]))));
      const one = lines.map((line) => parse(line));
      return (
        JSON.stringify(whole.samples) === JSON.stringify(one.flatMap((o) => o.samples)) &&
        JSON.stringify(whole.bad) === JSON.stringify(one.flatMap((o) => o.bad)) &&
        whole.notes === one.reduce((n, o) => n + o.notes, 0) &&
        whole.lines === one.reduce((n, o) => n + o.lines, 0)
      );
    }),
    { numRuns: 400, seed: 20261122 },
  );
  t.pass('400 random datagrams');
});

// A hang would fail by the test timeout; speed itself is measured in bench/, not here.
t.test('hostile extremes are refused as bad lines', async (t) => {
  const cases: [string | Buffer, BadLineReason][] = [
    ['x:1e400|c', 'bad_value'],
    ['x:NaN|g', 'bad_value'],
    ['x:Infinity|ms', 'bad_value'],
    [`${'n'.repeat(1_000_000)}:1|c`, 'name_too_long'],
    [`x:1|c|#${Array.from({ length: 5000 }, (_, i) => `k${i}:v`).join(',')}`, 'too_many_tags'],
    [Buffer.from([0x78, 0x3a, 0x31, 0x7c, 0x63, 0x7c, 0x23, 0xff, 0xfe]), 'invalid_utf8'],
  ];
  for (const [input, reason] of cases) {
    const outcome = parse(typeof input === 'string' ? Buffer.from(input) : input);
    t.same(outcome.bad, [reason], `${String(input).slice(0, 30)}… → ${reason}`);
  }
  const line = 'a:1|c\n';
  const outcome = parse(Buffer.alloc(line.length * 1_400_000, line));
  t.same([outcome.samples.length, outcome.bad.length], [1_400_000, 0], 'an 8 MiB buffer of good lines: every line counted');
});
