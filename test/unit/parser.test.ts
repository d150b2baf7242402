import t, { type Test } from 'tap';
import type { DogEvent, ServiceCheck } from '../../src/protocol/events.js';
import { LineParser, type BadLineReason, type ParserOptions, type ParseSink, type PartialRecord, type Sample } from '../../src/ingest/parser.js';

// The line parser, table-driven: every row of the "Consequences" table of
// etsy-statsd-behaviour.md section 2 and the sanitizer examples of section 3,
// then dattss's own rules (DESIGN.md "Semantics", docs/protocol.md). A comment
// "Etsy: ..." on a row marks a result that deliberately differs from Etsy
// statsd 0.9.0; rows without one give what Etsy gives. Then the Etsy probe
// packet as a whole, and seeded property tests (random bytes, mutated lines,
// valid lines among garbage).

/** The schema defaults (src/config/schema.ts). */
const DEFAULTS: ParserOptions = { sanitizeNames: true, maxNameLength: 250, maxTagsPerLine: 32, maxTagLength: 200, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1024 };

const REASONS: readonly BadLineReason[] = [
  'missing_value',
  'missing_type',
  'unknown_type',
  'bad_value',
  'negative_timer',
  'bad_rate',
  'empty_name',
  'name_too_long',
  'invalid_utf8',
  'too_many_tags',
  'tag_too_long',
];

const BLANK: Sample = { type: 'counter', name: '', tags: '', value: 0, rate: 1, gaugeDelta: false, member: '', timestampSec: Number.NaN };
type Extra = Partial<Pick<Sample, 'tags' | 'rate' | 'timestampSec'>>;
const counter = (name: string, value: number, extra: Extra = {}): Sample => ({ ...BLANK, type: 'counter', name, value, ...extra });
const timer = (name: string, value: number, extra: Extra = {}): Sample => ({ ...BLANK, type: 'timer', name, value, ...extra });
const gauge = (name: string, value: number, extra: Extra = {}): Sample => ({ ...BLANK, type: 'gauge', name, value, ...extra });
/** A gauge written with an explicit sign: a delta on the series' current value. */
const delta = (name: string, value: number, extra: Extra = {}): Sample => ({ ...BLANK, type: 'gauge', name, value, gaugeDelta: true, ...extra });
const member = (name: string, text: string, extra: Extra = {}): Sample => ({ ...BLANK, type: 'set', name, value: 1, member: text, ...extra });

interface Parsed {
  samples: Sample[];
  bad: BadLineReason[];
  /** The text of each bad line, as delimited by the sink's start/end. */
  badText: string[];
  /** Samples and bad reasons in the order the sink got them. */
  events: (Sample | BadLineReason)[];
  lines: number;
  /** True when the sink was handed the same sample object every time. */
  reused: boolean;
  /** Events and service checks. */
  notes: (DogEvent | ServiceCheck)[];
  /** Partial-aggregate lines. */
  partials: PartialRecord[];
}

function run(input: string | Buffer, options: Partial<ParserOptions> = {}, parser?: LineParser): Parsed {
  const p = parser ?? new LineParser({ ...DEFAULTS, ...options });
  const out: Parsed = { samples: [], bad: [], badText: [], events: [], lines: 0, reused: true, notes: [], partials: [] };
  let first: Sample | undefined;
  const sink: ParseSink = {
    sample(sample) {
      first ??= sample;
      if (sample !== first) out.reused = false;
      const copy = { ...sample };
      out.samples.push(copy);
      out.events.push(copy);
    },
    event(event) {
      out.notes.push(event);
    },
    serviceCheck(check) {
      out.notes.push(check);
    },
    partial(record) {
      out.partials.push(record);
    },
    badLine(reason, buf, start, end) {
      out.bad.push(reason);
      out.events.push(reason);
      out.badText.push(buf.toString('latin1', start, end));
    },
  };
  out.lines = p.parse(typeof input === 'string' ? Buffer.from(input, 'utf8') : input, sink);
  return out;
}

/** The packet's non-empty lines, split the slow way (a trailing `\r` dropped). */
function linesOf(buf: Buffer): string[] {
  return buf
    .toString('latin1')
    .split('\n')
    .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
    .filter((line) => line !== '');
}

interface Row {
  input: string | Buffer;
  samples: Sample[];
  bad: BadLineReason[];
  lines: number;
  options?: Partial<ParserOptions>;
}

const row = (input: string | Buffer, samples: Sample[], bad: BadLineReason[] = [], lines = 1, options?: Partial<ParserOptions>): Row =>
  options === undefined ? { input, samples, bad, lines } : { input, samples, bad, lines, options };

function checkRows(t: Test, rows: Row[]): void {
  for (const r of rows) {
    const label = typeof r.input === 'string' ? JSON.stringify(r.input) : `<${r.input.toString('hex')}>`;
    const got = run(r.input, r.options);
    t.strictSame(got.samples, r.samples, `${label} samples`);
    t.strictSame(got.bad, r.bad, `${label} bad lines`);
    t.equal(got.lines, r.lines, `${label} lines`);
    // The sink's start/end delimit the whole line the bad value came from.
    const buf = typeof r.input === 'string' ? Buffer.from(r.input, 'utf8') : r.input;
    const lines = linesOf(buf);
    for (const text of got.badText) t.ok(lines.includes(text), `${label} bad line slice ${JSON.stringify(text)} is a whole line`);
  }
}

t.test('etsy-statsd-behaviour.md section 2, the "Consequences" table row by row', async (t) => {
  checkRows(t, [
    row('gorets:1|c', [counter('gorets', 1)]),
    // The counter is scaled by 1/rate in the registry: +30 as in Etsy.
    row('c2:3|c|@0.1', [counter('c2', 3, { rate: 0.1 })]),
    row('c4:1|c:2|c', [counter('c4', 1), counter('c4', 2)]),
    row('c5:1.5|c', [counter('c5', 1.5)]),
    row('c6:-2|c', [counter('c6', -2)]),
    row('c7:1e2|c', [counter('c7', 100)]),
    // Etsy: +16 (Number('0x10')). We accept decimal numbers only.
    row('c8:0x10|c', [], ['bad_value']),
    // The fourth field is ignored, as in Etsy.
    row('c9:1|c|@0.5|extra', [counter('c9', 1, { rate: 0.5 })]),
    row('c10:1|c|@.5', [counter('c10', 1, { rate: 0.5 })]),
    // Etsy: rate 1 (its regex captures only the "1" of "1e-1"). We read the whole number.
    row('c11:1|c|@1e-1', [counter('c11', 1, { rate: 0.1 })]),
    // Etsy: the counter becomes Infinity. A rate must be in (0, 1].
    row('cz:1|c|@0', [], ['bad_rate']),
    // Etsy: h is a counter (+100). Here h is a timer, as in DogStatsD.
    row('h1:100|h', [timer('h1', 100)]),
    // Etsy: any unknown type is a counter (+5). Here it is a bad line.
    row('z1:5|z', [], ['unknown_type']),
    row('k10:1| c', [counter('k10', 1)]),
    row('k11:7| ms', [timer('k11', 7)]),
    // Etsy: timer -5 (its check compares the untrimmed " ms"). A negative timer is bad however the type is spaced.
    row('k12:-5| ms', [], ['negative_timer']),
    row('crlf:1|c\r', [counter('crlf', 1)]),
    row('crlfms:3|ms\r\n', [timer('crlfms', 3)]),
    row('t3: 7 |ms', [timer('t3', 7)]),
    // The value is recorded once; the registry adds 1/rate = 2 to the count, as in Etsy.
    row('t1:300|ms|@0.5', [timer('t1', 300, { rate: 0.5 })]),
    // 10, then +5, then -3: the registry makes 12, as in Etsy.
    row('g1:10|g\ng1:+5|g\ng1:-3|g', [gauge('g1', 10), delta('g1', 5), delta('g1', -3)], [], 3),
    // -7 either way: Etsy sets it (gauge absent), our delta starts from 0.
    row('g2:-7|g', [delta('g2', -7)]),
    // -2 either way: Etsy sets it (0 is falsy), our delta is 0 + -2.
    row('g3:0|g\ng3:-2|g', [gauge('g3', 0), delta('g3', -2)], [], 2),
    row('g4:+4|g', [delta('g4', 4)]),
    // Etsy: s1:|s stores the member '0' (set {a, b, "0"}). Here an empty member is a bad line (set {a, b}).
    row('s1:a|s\ns1:b|s\ns1:a|s\ns1:|s', [member('s1', 'a'), member('s1', 'b'), member('s1', 'a')], ['missing_value'], 4),
    row('s2:1|s\ns2:01|s', [member('s2', '1'), member('s2', '01')], [], 2),
    // The nine bad lines of the probe. Etsy counts all nine as bad; we count eight (see bad4).
    row('bad1', [], ['missing_value']),
    row('bad2:abc|c', [], ['bad_value']),
    row('bad3:-1|ms', [], ['negative_timer']),
    // Etsy: bad (a third field must start with '@'). Here a field that is not `@rate` is ignored,
    // wherever it is, so the counter counts with rate 1 (room for DogStatsD's |T and |c: fields).
    row('bad4:1|c|0.1', [counter('bad4', 1)]),
    row('bad5:1|c|@-1', [], ['bad_rate']),
    row('bad6:|g', [], ['missing_value']),
    row('bad7:1', [], ['missing_type']),
    row('bad8:|c', [], ['missing_value']),
    row('bad9:1|c|@', [], ['bad_rate']),
    row('multi:1|c\nmulti:1|c\n', [counter('multi', 1), counter('multi', 1)], [], 2),
    row('c3:1|c\nc3:2|c\n\nc3:4|c', [counter('c3', 1), counter('c3', 2), counter('c3', 4)], [], 3),
  ]);
});

t.test('etsy-statsd-behaviour.md section 3, the sanitizer examples', async (t) => {
  checkRows(t, [
    row('a b/c+d!e:1|c', [counter('a_b-cde', 1)]),
    row('  k9 :1|c', [counter('_k9_', 1)]),
    row('utfé:1|c', [counter('utf', 1)]),
    // Etsy: one key `x.y;tag=v` (its sanitizer keeps ';' and '='). Here the Graphite tag is a tag.
    row('x.y;tag=v:1|c', [counter('x.y', 1, { tags: 'tag:v' })]),
    // Etsy: one key `dog;env=prod;region=us_1`. Here the name and the canonical tags stay apart and
    // tag values are not sanitized.
    row('dog:1|c|#env:prod,region:us;1', [counter('dog', 1, { tags: 'env:prod,region:us;1' })]),
  ]);
});

t.test('packets: lines, trailing newline, empty lines, \\r\\n', async (t) => {
  checkRows(t, [
    row('', [], [], 0),
    row('\n\n\n', [], [], 0),
    row('a:1|c\n', [counter('a', 1)]),
    row('a:1|c\n\nb:2|c\n\n', [counter('a', 1), counter('b', 2)], [], 2),
    row('a:1|c\r\nb:2|ms\r\n', [counter('a', 1), timer('b', 2)], [], 2),
    // Etsy: a lone "\r" is a non-empty line, counted and bad. Here a line is empty once its "\r" is dropped.
    row('\r\n\r\na:1|c\r', [counter('a', 1)], [], 1),
    // Only one trailing "\r" is dropped; the second one stays in the type field.
    row('a:1|c\r\r\n', [], ['unknown_type']),
    row('   ', [], ['missing_value']),
    // A bad line does not stop the packet.
    row('a:1|c\nnope\nb:x|c\nc:3|g', [counter('a', 1), gauge('c', 3)], ['missing_value', 'bad_value'], 4),
    // State of one line never leaks into the next: rate, tags, member, delta flag.
    row(
      'a:1|c|@0.5|#x:y\nb:1|c\ns:m|s\nc:2|c\ng:+1|g\nh:3|g',
      [counter('a', 1, { rate: 0.5, tags: 'x:y' }), counter('b', 1), member('s', 'm'), counter('c', 2), delta('g', 1), gauge('h', 3)],
      [],
      6,
    ),
  ]);
});

t.test('multi-value lines', async (t) => {
  checkRows(t, [
    row('a:1|c:2|c', [counter('a', 1), counter('a', 2)]),
    row('a:1|c:2|ms:3|g:x|s', [counter('a', 1), timer('a', 2), gauge('a', 3), member('a', 'x')]),
    // Each value part has its own rate.
    row('a:1|c|@0.5:2|c', [counter('a', 1, { rate: 0.5 }), counter('a', 2)]),
    // A bad part does not spoil the others; each bad part is one bad line, as in Etsy.
    row('a:x|c:2|c:y|c', [counter('a', 2)], ['bad_value', 'bad_value']),
    row('a::1|c', [counter('a', 1)], ['missing_value']),
    // DogStatsD's multi-value: bare values take the type and fields of the next typed part.
    row('name:1:2:3|d', [timer('name', 1), timer('name', 2), timer('name', 3)]),
    row('name:1:2|c|@0.5', [counter('name', 1, { rate: 0.5 }), counter('name', 2, { rate: 0.5 })]),
    row('name:1:2|c|#a:b', [counter('name', 1, { tags: 'a:b' }), counter('name', 2, { tags: 'a:b' })]),
    row('name:1:-:3|d', [timer('name', 1), timer('name', 3)], ['bad_value']),
    // `a:b:1|c`: `b` is neither a bare value nor a DaTtSs unit; the typed part after it still counts.
    row('a:b:1|c', [counter('a', 1)], ['unknown_type']),
    row('name:1:2:3|zz', [], ['unknown_type', 'unknown_type', 'unknown_type']),
  ]);
});

t.test('counters and sample rates', async (t) => {
  checkRows(t, [
    row('a:1|c|@1', [counter('a', 1)]),
    row('a:1|c|@0.001', [counter('a', 1, { rate: 0.001 })]),
    row('a:1|c|@ 0.5', [counter('a', 1, { rate: 0.5 })]),
    // Etsy: bad (the third field must start with '@'). Here ` @0.5` is not a rate field: ignored.
    row('a:1|c| @0.5', [counter('a', 1)]),
    row('a:+5|c', [counter('a', 5)]),
    // The last `@rate` field wins (Etsy reads only the third field).
    row('a:1|c|@0.5|@0.25', [counter('a', 1, { rate: 0.25 })]),
    // Etsy: @1.5 is accepted (count × 2/3); @0 gives Infinity; @-1, @abc and @ are bad there too.
    row('a:1|c|@0', [], ['bad_rate']),
    row('a:1|c|@1.5', [], ['bad_rate']),
    row('a:1|c|@-1', [], ['bad_rate']),
    row('a:1|c|@abc', [], ['bad_rate']),
    row('a:1|c|@', [], ['bad_rate']),
    // Etsy: a rate is not checked for sets and gauges (and is ignored). Here it is checked for every type.
    row('s:m|s|@2', [], ['bad_rate']),
    row('g:1|g|@0.5', [gauge('g', 1, { rate: 0.5 })]),
    row('s:m|s|@0.5', [member('s', 'm', { rate: 0.5 })]),
    // A trailing empty field is ignored.
    row('a:1|c|', [counter('a', 1)]),
  ]);
});

t.test('types: timers ms/h/d, gauges, sets, unknown types', async (t) => {
  checkRows(t, [
    row('t:153|ms', [timer('t', 153)]),
    row('t:1.5|ms', [timer('t', 1.5)]),
    row('t:0|ms', [timer('t', 0)]),
    // Etsy: h is a counter and d an unknown type (so a counter too). Both are timers here.
    row('t:5|h', [timer('t', 5)]),
    row('t:5|d|@0.5', [timer('t', 5, { rate: 0.5 })]),
    row('t:-1|h', [], ['negative_timer']),
    row('t:-0.5|d', [], ['negative_timer']),
    row('g:23|g', [gauge('g', 23)]),
    row('g:-0.5|g', [delta('g', -0.5)]),
    row('g: +2 |g', [delta('g', 2)]),
    row('s:user-42|s', [member('s', 'user-42')]),
    row('s: x |s', [member('s', 'x')]),
    row('s:é|s', [member('s', 'é')]),
    // Etsy: stores '0'.
    row('s: |s', [], ['missing_value']),
    // Types are case-sensitive; Etsy counts all of these as counters.
    row('a:1|C', [], ['unknown_type']),
    row('a:1|MS', [], ['unknown_type']),
    row('a:1|x', [], ['unknown_type']),
    row('a:1|cc', [], ['unknown_type']),
    row('a:1|', [], ['missing_type']),
    row('a:|', [], ['missing_type']),
    row('a:1|  ', [], ['unknown_type']),
  ]);
});

t.test('values', async (t) => {
  checkRows(t, [
    row('a:1e2|c', [counter('a', 100)]),
    row('a:.5|c', [counter('a', 0.5)]),
    row('a:5.|c', [counter('a', 5)]),
    row('a:2.5E-3|ms', [timer('a', 0.0025)]),
    // Etsy accepts these through Number() (16, 3, 7, ±Infinity), except NaN, which it rejects too.
    row('a:0x10|c', [], ['bad_value']),
    row('a:0b11|c', [], ['bad_value']),
    row('a:0o7|c', [], ['bad_value']),
    row('a:Infinity|c', [], ['bad_value']),
    row('a:-Infinity|g', [], ['bad_value']),
    row('a:NaN|c', [], ['bad_value']),
    row('a:1e400|c', [], ['bad_value']),
    row('a:1e400|ms', [], ['bad_value']),
    row('a:1,5|c', [], ['bad_value']),
    row('a:1 2|c', [], ['bad_value']),
    // Spaces around the value and the type are tolerated.
    row('t3: 7 |ms', [timer('t3', 7)]),
    row('k10:1| c', [counter('k10', 1)]),
    row('k:1 | c |@0.5', [counter('k', 1, { rate: 0.5 })]),
    // Etsy (by the reference's algorithm, not probed): Number(' ') is 0, so a blank value is a valid 0.
    row('a: |c', [], ['bad_value']),
    // Only spaces are tolerated; Etsy's Number() and trim() also skip tabs.
    row('a:\t7|c', [], ['bad_value']),
    row('a:1|\tc', [], ['unknown_type']),
    // Etsy (by the algorithm): the "\r" stays in the type, so "ms\r" skips the negative check and
    // "s\r" needs a numeric member. Here the "\r" is gone before the line is parsed.
    row('bad:-1|ms\r\n', [], ['negative_timer']),
    row('s:a|s\r\n', [member('s', 'a')]),
  ]);
});

t.test('DaTtSs value-suffix form', async (t) => {
  checkRows(t, [
    row('name:153ms', [timer('name', 153)]),
    row('name:1c', [counter('name', 1)]),
    row('name:-4c', [counter('name', -4)]),
    row('name:23g', [gauge('name', 23)]),
    // The `!` (DaTtSs "emphasis") is accepted and dropped.
    row('name:5g!', [gauge('name', 5)]),
    row('name:1c!', [counter('name', 1)]),
    // DaTtSs itself had no gauge deltas ('-5g' recorded -5); here a sign means a delta, as with |g.
    row('name:+3g', [delta('name', 3)]),
    row('name:-2g', [delta('name', -2)]),
    // DaTtSs accepted integers only; decimals are accepted here.
    row('name:1.5ms', [timer('name', 1.5)]),
    row('name:1e2ms', [timer('name', 100)]),
    row('name:5 ms', [timer('name', 5)]),
    row('name:-5ms', [], ['negative_timer']),
    // Only c, ms and g are units.
    row('name:7s', [], ['unknown_type']),
    row('name:5h', [], ['unknown_type']),
    row('name:5d', [], ['unknown_type']),
    row('name:5MS', [], ['unknown_type']),
    row('name:ms', [], ['missing_value']),
    row('name:5!', [], ['missing_type']),
    row('name:5ms!!', [], ['missing_type']),
    row('name:abcms', [], ['unknown_type']),
    row('name:1x5ms', [], ['bad_value']),
    // DaTtSs ignored junk after the unit ('12msfoo' was 12 ms); here the unit must end the value.
    row('name:12msfoo', [], ['unknown_type']),
    // The suffix form has no fields of its own: this `|@0.5` is read as a type.
    row('name:5ms|@0.5', [], ['unknown_type']),
    // Suffix parts mix with typed parts, and take tags (and fields after the tags).
    row('name:1c:2|c:3ms', [counter('name', 1), counter('name', 2), timer('name', 3)]),
    row('api:1c:153ms:2|c', [counter('api', 1), timer('api', 153), counter('api', 2)]),
    row('name:5ms|#a:b', [timer('name', 5, { tags: 'a:b' })]),
    row('name:5ms|#a:b|@0.5', [timer('name', 5, { tags: 'a:b', rate: 0.5 })]),
    row('name:5ms|#a:b|@2', [], ['bad_rate']),
  ]);
});

t.test('DogStatsD tags', async (t) => {
  checkRows(t, [
    row('a:1|c|#env:prod,region:us', [counter('a', 1, { tags: 'env:prod,region:us' })]),
    // Sorted by key.
    row('a:1|c|#region:us,env:prod', [counter('a', 1, { tags: 'env:prod,region:us' })]),
    row('a:1|c|#b:1,a:2,c:3', [counter('a', 1, { tags: 'a:2,b:1,c:3' })]),
    // The last duplicate key wins, flag or not.
    row('a:1|c|#env:prod,region:us,env:dev', [counter('a', 1, { tags: 'env:dev,region:us' })]),
    row('a:1|c|#b:1,a:2,c:3,a:4', [counter('a', 1, { tags: 'a:4,b:1,c:3' })]),
    row('a:1|c|#env:prod,env', [counter('a', 1, { tags: 'env' })]),
    // Flag tags; `k:` is the same tag as the flag `k`.
    row('a:1|c|#canary,env:prod', [counter('a', 1, { tags: 'canary,env:prod' })]),
    row('a:1|c|#env:', [counter('a', 1, { tags: 'env' })]),
    // A value keeps everything after the first ':'.
    row('a:1|c|#url:http://x:80/y', [counter('a', 1, { tags: 'url:http://x:80/y' })]),
    // Spaces around a tag and empty tags are dropped; spaces inside stay.
    row('a:1|c|# a:1 , ,b:2 ,', [counter('a', 1, { tags: 'a:1,b:2' })]),
    row('a:1|c|#env: prod', [counter('a', 1, { tags: 'env: prod' })]),
    row('a:1|c|#', [counter('a', 1)]),
    row('a:1|c|#é:ü', [counter('a', 1, { tags: 'é:ü' })]),
    // Tags before or after the rate. Etsy: everything after "|#" is tags, so a rate after the tags
    // is lost (rate 1, key `a;x=y0.5`).
    row('a:1|c|#x:y|@0.5', [counter('a', 1, { tags: 'x:y', rate: 0.5 })]),
    row('a:1|c|@0.5|#x:y', [counter('a', 1, { tags: 'x:y', rate: 0.5 })]),
    row('a:1|c|#x:y|@0', [], ['bad_rate']),
    // Tags apply to every value of a multi-value line; fields after the tags belong to the last part.
    row('a:1|c:2|ms|#env:prod', [counter('a', 1, { tags: 'env:prod' }), timer('a', 2, { tags: 'env:prod' })]),
    row('a:1|c:2|c|#x:y|@0.5', [counter('a', 1, { tags: 'x:y' }), counter('a', 2, { tags: 'x:y', rate: 0.5 })]),
    // Only the first tag field counts (Etsy also uses only the text after the first "|#").
    row('a:1|c|#x:y|#z:w', [counter('a', 1, { tags: 'x:y' })]),
    // Tags must follow the type.
    row('a:1|#x:y|c', [], ['missing_type']),
    // Tags are never sanitized, but must be valid UTF-8.
    row(Buffer.from('a:1|c|#x:\xff', 'latin1'), [], ['invalid_utf8']),
  ]);
});

t.test('name sanitizing', async (t) => {
  checkRows(t, [
    row('api.latency_ms-p99:1|c', [counter('api.latency_ms-p99', 1)]),
    row('a b/c+d!e:1|c', [counter('a_b-cde', 1)]),
    row('  k9 :1|c', [counter('_k9_', 1)]),
    // A run of whitespace (space, \t, \v, \f, \r) is one '_'.
    row('a \t\v\f\rb:1|c', [counter('a_b', 1)]),
    row('a/b/c:1|c', [counter('a-b-c', 1)]),
    // Etsy: '_' (a no-break space is whitespace to JavaScript's \s). The sanitizer works on bytes.
    row('a\u00a0b:1|c', [counter('ab', 1)]),
    row('utfé:1|c', [counter('utf', 1)]),
    // Invalid UTF-8 is dropped like any other byte outside the safe set.
    row(Buffer.from('utf\xff:1|c', 'latin1'), [counter('utf', 1)]),
    // Etsy: `cpuhosta`. Here a Telegraf tag.
    row('cpu,host=a:1|c', [counter('cpu', 1, { tags: 'host:a' })]),
    // Empty after sanitizing. Etsy: a counter with the empty name.
    row(':1|c', [], ['empty_name']),
    row('!!!:1|c', [], ['empty_name']),
    row('é:1|c', [], ['empty_name']),
    // A line-level error is one bad line, whatever the number of value parts.
    row('!:1|c:2|c', [], ['empty_name']),
  ]);
});

t.test('sanitizeNames: false keeps names as UTF-8 text', async (t) => {
  const raw = { sanitizeNames: false };
  checkRows(t, [
    row('utfé:1|c', [counter('utfé', 1)], [], 1, raw),
    row('a b/c+d!e:1|c', [counter('a b/c+d!e', 1)], [], 1, raw),
    row('  k9 :1|c', [counter('  k9 ', 1)], [], 1, raw),
    row('x.y;tag=v:1|c', [counter('x.y', 1, { tags: 'tag:v' })], [], 1, raw),
    row('名前:1|c', [counter('名前', 1)], [], 1, raw),
    row(':1|c', [], ['empty_name'], 1, raw),
    row(Buffer.from('utf\xff:1|c', 'latin1'), [], ['invalid_utf8'], 1, raw),
    row(Buffer.from('a\xc3:1|c', 'latin1'), [], ['invalid_utf8'], 1, raw),
    row(Buffer.from('s:\xff|s', 'latin1'), [], ['invalid_utf8'], 1, raw),
    // Set members are decoded the same way whatever sanitizeNames says.
    row(Buffer.from('s:\xff|s', 'latin1'), [], ['invalid_utf8']),
  ]);
});

t.test('limits: name and member length in bytes, tag count and tag length', async (t) => {
  const small = { maxNameLength: 8, maxTagsPerLine: 2, maxTagLength: 5 };
  checkRows(t, [
    row('abcdefgh:1|c', [counter('abcdefgh', 1)], [], 1, small),
    row('abcdefghi:1|c', [], ['name_too_long'], 1, small),
    // Measured after sanitizing.
    row('a!b!c!d!e!f!g!h:1|c', [counter('abcdefgh', 1)], [], 1, small),
    // In bytes: four é are 8 bytes.
    row('éééé:1|c', [counter('éééé', 1)], [], 1, { ...small, sanitizeNames: false }),
    row('éééée:1|c', [], ['name_too_long'], 1, { ...small, sanitizeNames: false }),
    row('s:12345678|s', [member('s', '12345678')], [], 1, small),
    row('s:123456789|s', [], ['name_too_long'], 1, small),
    row('s:éééé|s', [member('s', 'éééé')], [], 1, small),
    row('s:ééééé|s', [], ['name_too_long'], 1, small),
    row('a:1|c|#a:1,b:2', [counter('a', 1, { tags: 'a:1,b:2' })], [], 1, small),
    row('a:1|c|#a:1,b:2,c:3', [], ['too_many_tags'], 1, small),
    // Tags are counted as written, before duplicates are merged.
    row('a:1|c|#a,a,a', [], ['too_many_tags'], 1, small),
    row('a:1|c|#,, ,a,b,', [counter('a', 1, { tags: 'a,b' })], [], 1, small),
    row('a:1|c|#x', [], ['too_many_tags'], 1, { maxTagsPerLine: 0 }),
    row('a:1|c|#', [counter('a', 1)], [], 1, { maxTagsPerLine: 0 }),
    // A tag's length is that of `key:value`, spaces around it not counted.
    row('a:1|c|#ab:cd', [counter('a', 1, { tags: 'ab:cd' })], [], 1, small),
    row('a:1|c|#  ab:cd  ', [counter('a', 1, { tags: 'ab:cd' })], [], 1, small),
    row('a:1|c|#ab:cde', [], ['tag_too_long'], 1, small),
    row('a:1|c|#é:éé', [], ['tag_too_long'], 1, small),
    // A tag error rejects the whole line once.
    row('a:1|c:2|c|#ab:cde', [], ['tag_too_long'], 1, small),
  ]);
});

t.test('line errors: missing value, missing type', async (t) => {
  checkRows(t, [
    row('bad1', [], ['missing_value']),
    row('a', [], ['missing_value']),
    row('a|c', [], ['missing_value']),
    row('a:', [], ['missing_value']),
    row('bad7:1', [], ['missing_type']),
    row('a:1 ', [], ['missing_type']),
  ]);
});

t.test('DogStatsD extras, Telegraf and Graphite tags, events, service checks, DaTtSs datagrams', async (t) => {
  checkRows(t, [
    // DogStatsD |T timestamp, before or after the tag field.
    row('page.views:1|c|T1700000000', [counter('page.views', 1, { timestampSec: 1700000000 })]),
    row('page.views:1|c|T1700000000|#a:b', [counter('page.views', 1, { tags: 'a:b', timestampSec: 1700000000 })]),
    row('page.views:1|c|#a:b|T1700000000', [counter('page.views', 1, { tags: 'a:b', timestampSec: 1700000000 })]),
    row('page.views:1|c|T17.5', [], ['bad_timestamp']),
    row('page.views:1|c|Tnow', [], ['bad_timestamp']),
    row('page.views:1|c|T-5', [], ['bad_timestamp']),
    // DogStatsD |c: container id and unknown extension fields are ignored, before or after the tags.
    row('page.views:1|c|c:abc', [counter('page.views', 1)]),
    row('page.views:1|c|c:abc:def|@0.5', [counter('page.views', 1, { rate: 0.5 })]),
    row('page.views:1|c|#a:b|c:abc', [counter('page.views', 1, { tags: 'a:b' })]),
    row('page.views:1|c|x:future-field|e:1', [counter('page.views', 1)]),
    // ... but Etsy's multi-value line still splits on ':' after a rate.
    row('a:1|c|@0.5:2|c', [counter('a', 1, { rate: 0.5 }), counter('a', 2)]),
    // Telegraf and Graphite tags; with DogStatsD tags on the same line the last duplicate wins.
    row('cpu,host=a,region=eu:1|c', [counter('cpu', 1, { tags: 'host:a,region:eu' })]),
    row('cpu;host=a;region=eu:1|c', [counter('cpu', 1, { tags: 'host:a,region:eu' })]),
    row('cpu,host=a:1|c|#host:b,env:prod', [counter('cpu', 1, { tags: 'env:prod,host:b' })]),
    row('cpu,host=a,host=b:1|c', [counter('cpu', 1, { tags: 'host:b' })]),
    row('cpu,canary:1|c', [counter('cpu', 1, { tags: 'canary' })]),
    row('cpu,url=a=b:1|c', [counter('cpu', 1, { tags: 'url:a=b' })]),
    row(',host=a:1|c', [], ['empty_name']),
    // Events and service checks go to their own sink methods, not counted as bad.
    row('_e{5,4}:title|text', []),
    row('_sc|name|0', []),
    row('_e{5,4}:title|tex', [], ['bad_event']),
    row('_sc|name|7', [], ['bad_service_check']),
    // The DaTtSs v1 datagram AUTH:PROCESS:STAT:VALUE: PROCESS becomes the tag `process`.
    row('0_abc123:web:api.latency:153ms', [timer('api.latency', 153, { tags: 'process:web' })]),
    row('0_abc123::api.hits:2c', [counter('api.hits', 2)]),
    row('0_abc123:web:api.latency:153', [], ['missing_type']),
    row('key:web:api.latency:153ms', [timer('api.latency', 153, { tags: 'process:web' })], [], 1, { authKeys: ['key', 'other'] }),
    row('bad:web:api.latency:153ms', [], ['auth_failed'], 1, { authKeys: ['key'] }),
    row('ke:web:api.latency:153ms', [], ['auth_failed'], 1, { authKeys: ['key'] }),
    // Gauge signs: deltas in Etsy's mode, absolute values in DogStatsD's.
    row('g:-3|g', [gauge('g', -3)], [], 1, { gaugeSigns: 'absolute' }),
    row('g:+3|g', [gauge('g', 3)], [], 1, { gaugeSigns: 'absolute' }),
  ]);
});

t.test('events and service checks are parsed in full', async (t) => {
  const events = run('_e{5,12}:title|line1\\nline2|d:1700000000|h:web-1|k:deploy|p:low|s:ci|t:success|#env:prod,b').notes;
  t.same(events, [
    {
      tsSec: 1700000000,
      title: 'title',
      text: 'line1\nline2',
      hostname: 'web-1',
      aggregationKey: 'deploy',
      priority: 'low',
      sourceType: 'ci',
      alertType: 'success',
      tags: 'b,env:prod',
    },
  ]);
  // Lengths are UTF-8 bytes; a client that counts characters is understood too.
  t.match(run('_e{6,2}:héllo|ok').notes, [{ title: 'héllo', text: 'ok' }], 'byte lengths');
  t.match(run('_e{5,2}:héllo|ok').notes, [{ title: 'héllo', text: 'ok' }], 'character lengths');
  const next = run('_e{50,2}:short|ok\nafter:1|c');
  t.same(next.bad, ['bad_event'], 'lengths that fit neither way');
  t.same(next.samples, [counter('after', 1)], 'the next line is not affected');
  t.same(run('_e{5,4}:title|text').notes, [
    { tsSec: Number.NaN, title: 'title', text: 'text', hostname: null, aggregationKey: null, priority: 'normal', sourceType: null, alertType: 'info', tags: '' },
  ]);
  t.same(run('_e{5,4}:title|text|p:urgent').bad, ['bad_event']);
  t.same(run('_e{5,4}:title|text|t:panic').bad, ['bad_event']);
  t.same(run('_sc|db.up|2|d:1700000000|h:db-1|#env:prod|m:disk | full').notes, [
    { tsSec: 1700000000, name: 'db.up', status: 2, hostname: 'db-1', message: 'disk | full', tags: 'env:prod' },
  ]);
  t.same(run('_sc|db.up|0').notes, [{ tsSec: Number.NaN, name: 'db.up', status: 0, hostname: null, message: null, tags: '' }]);
  t.same(run('_sc||0\n_sc|x|ok\n_sc|x|1|d:soon').bad, ['bad_service_check', 'bad_service_check', 'bad_service_check']);
});

t.test('the sink gets one reused sample object', async (t) => {
  const got = run('a:1|c\nb:2|ms\nc:3|g');
  t.ok(got.reused, 'the same object each time');
  t.strictSame(got.samples, [counter('a', 1), timer('b', 2), gauge('c', 3)], 'the copies differ');
});

t.test('one parser, many packets: no state carried over', async (t) => {
  const parser = new LineParser(DEFAULTS);
  t.strictSame(run('a:1|c|@0.5|#x:y', {}, parser).samples, [counter('a', 1, { rate: 0.5, tags: 'x:y' })]);
  t.strictSame(run('s:m|s', {}, parser).samples, [member('s', 'm')]);
  t.strictSame(run('g:-1|g', {}, parser).samples, [delta('g', -1)]);
  t.strictSame(run('b:2|c', {}, parser).samples, [counter('b', 2)]);
  t.strictSame(run(':1|c\nb:2|c', {}, parser).samples, [counter('b', 2)], 'a rejected name does not stick');
  const noTags = new LineParser({ ...DEFAULTS, maxTagsPerLine: 0 });
  t.strictSame(run('a:1|c|#x:y', {}, noTags).bad, ['too_many_tags']);
  t.strictSame(run('b:2|c', {}, noTags).samples, [counter('b', 2)], 'a rejected tag field does not stick');
});

t.test('one parser, repeated tag fields: remembered fields parse as a fresh parser parses them', async (t) => {
  const parser = new LineParser({ ...DEFAULTS, maxTagsPerLine: 3, maxTagLength: 12 });
  const fresh = (line: string): Parsed => run(line, { maxTagsPerLine: 3, maxTagLength: 12 });
  const fields = ['env:prod', 'region:us,env:prod', 'env:prod,region:us', 'a,b,c,d', 'x:toolongvalue', 'é:ü', '', 'env:dev,env:prod'];
  const lines = [
    ...fields.flatMap((field) => [`a:1|c|#${field}`, `b,k=v:2|ms|#${field}`, `c:3|g|#${field}|@0.5`]),
    Buffer.from('a:1|c|#x:\xff', 'latin1'),
  ];
  // Twice over, so the second pass meets every field again, good and bad.
  for (const pass of [1, 2]) {
    for (const line of lines) {
      const text = typeof line === 'string' ? line : line.toString('latin1');
      const expected = typeof line === 'string' ? fresh(line) : run(line, { maxTagsPerLine: 3, maxTagLength: 12 });
      const got = run(line, {}, parser);
      t.strictSame([got.samples, got.bad], [expected.samples, expected.bad], `pass ${pass}: ${text}`);
    }
  }
  // More distinct fields than the cache holds: it starts over and stays right.
  for (let i = 0; i < 5000; i++) {
    const got = run(`a:1|c|#n:${i},env:prod`, {}, parser).samples[0];
    if (got?.tags !== `env:prod,n:${i}`) t.fail(`field ${i} gave ${got?.tags}`);
  }
  t.strictSame(run('a:1|c|#region:us,env:prod', {}, parser).samples, [counter('a', 1, { tags: 'env:prod,region:us' })], 'after the restart');
});

/**
 * The probe of etsy-statsd-behaviour.md section 2, one string per datagram.
 * The reference gives the inputs and the resulting series, not the packet
 * list; this is rebuilt from them (54 datagrams, 57 lines; t1 got four values,
 * one of them sampled at 0.5; g5 got 3).
 */
const ETSY_PROBE: readonly string[] = [
  'c1:1|c',
  'c2:3|c|@0.1',
  'c3:1|c\nc3:2|c\n\nc3:4|c',
  'c4:1|c:2|c',
  'c5:1.5|c',
  'c6:-2|c',
  'c7:1e2|c',
  'c8:0x10|c',
  'c9:1|c|@0.5|extra',
  'c10:1|c|@.5',
  'c11:1|c|@1e-1',
  'cz:1|c|@0',
  'h1:100|h',
  'z1:5|z',
  'k10:1| c',
  'k11:7| ms',
  'k12:-5| ms',
  'crlf:1|c\r',
  'crlfms:3|ms\r\n',
  't1:100|ms',
  't1:200|ms',
  't1:300|ms|@0.5',
  't1:400|ms',
  't3: 7 |ms',
  'g1:10|g',
  'g1:+5|g',
  'g1:-3|g',
  'g2:-7|g',
  'g3:0|g',
  'g3:-2|g',
  'g4:+4|g',
  'g5:3|g',
  's1:a|s',
  's1:b|s',
  's1:a|s',
  's1:|s',
  's2:1|s',
  's2:01|s',
  'bad1',
  'bad2:abc|c',
  'bad3:-1|ms',
  'bad4:1|c|0.1',
  'bad5:1|c|@-1',
  'bad6:|g',
  'bad7:1',
  'bad8:|c',
  'bad9:1|c|@',
  'multi:1|c\nmulti:1|c\n',
  'a b/c+d!e:1|c',
  '  k9 :1|c',
  'x.y;tag=v:1|c',
  'dog:1|c|#env:prod,region:us;1',
  'dog2:2|ms|#a:b',
  'utfé:1|c',
];

t.test('the Etsy probe packet as a whole', async (t) => {
  t.equal(ETSY_PROBE.length, 54, 'datagrams (Etsy: packets_received 54)');
  const parser = new LineParser(DEFAULTS);
  let lines = 0;
  const samples: Sample[] = [];
  const bad: BadLineReason[] = [];
  for (const datagram of ETSY_PROBE) {
    const got = run(datagram, {}, parser);
    lines += got.lines;
    samples.push(...got.samples);
    bad.push(...got.bad);
  }
  // Etsy: metrics_received 57. The same here: both skip only the empty line of c3.
  t.equal(lines, 57, 'lines');
  // Etsy: bad_lines_seen 9 (bad1..bad9). Here bad4 is accepted (a non-@ field is ignored), and five
  // lines Etsy accepts are bad: c8 (hex), cz (@0), z1 (unknown type), k12 (negative timer) and
  // s1:|s (empty member). 9 - 1 + 5 = 13.
  t.equal(bad.length, 13, 'bad lines');
  t.strictSame(
    [...bad].sort(),
    [
      'bad_rate', // cz
      'bad_rate', // bad5
      'bad_rate', // bad9
      'bad_value', // c8
      'bad_value', // bad2
      'missing_type', // bad7
      'missing_value', // s1:|s
      'missing_value', // bad1
      'missing_value', // bad6
      'missing_value', // bad8
      'negative_timer', // k12
      'negative_timer', // bad3
      'unknown_type', // z1
    ],
    'bad line reasons',
  );
  // 57 lines, c4 has two value parts: 58 values, 13 of them bad.
  t.equal(samples.length, 45, 'samples');
  const names = new Set(samples.map((s) => `${s.type}:${s.name}${s.tags === '' ? '' : `|${s.tags}`}`));
  for (const expected of ['timer:h1', 'counter:x.y|tag:v', 'counter:dog|env:prod,region:us;1', 'timer:dog2|a:b', 'counter:a_b-cde', 'counter:_k9_', 'counter:utf', 'counter:bad4']) {
    t.ok(names.has(expected), expected);
  }
  const sum = (name: string): number => samples.filter((s) => s.name === name).reduce((acc, s) => acc + s.value / s.rate, 0);
  // Etsy's counter values for the same series, where we agree.
  t.strictSame(
    ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c9', 'c10', 'multi'].map(sum),
    [1, 30, 7, 3, 1.5, -2, 100, 2, 2, 2],
    'counter totals',
  );
  t.equal(sum('c11'), 10, 'c11: rate 0.1 (Etsy: 1)');
});

// ---------------------------------------------------------------------------
// Property tests, seeded: the same cases every run.

/** xorshift32: a tiny deterministic generator. */
function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

class Random {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = xorshift32(seed);
  }
  int(n: number): number {
    return this.#next() % n;
  }
  chance(p: number): boolean {
    return this.#next() / 0x1_0000_0000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  text(alphabet: string, min: number, max: number): string {
    let out = '';
    const length = min + this.int(max - min + 1);
    for (let i = 0; i < length; i++) out += alphabet[this.int(alphabet.length)];
    return out;
  }
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-';
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
/** Bytes that matter to the grammar, to make near-valid lines. */
const TRICKY = [...':|@#,.+-eE !\r\t/0123456789cgmsdh'].map((c) => c.charCodeAt(0)).concat([0x00, 0x7f, 0x80, 0xc3, 0xa9, 0xff]);

/** Every sample and bad line obeys the parser's contract. Returns the broken rules. */
function contractViolations(buf: Buffer, got: Parsed, options: ParserOptions): string[] {
  const out: string[] = [];
  for (const s of got.samples) {
    if (!['counter', 'timer', 'gauge', 'set'].includes(s.type)) out.push(`type ${s.type}`);
    if (!Number.isFinite(s.value)) out.push(`value ${s.value}`);
    if (!(s.rate > 0 && s.rate <= 1)) out.push(`rate ${s.rate}`);
    if (s.name === '' || Buffer.byteLength(s.name) > options.maxNameLength) out.push(`name ${JSON.stringify(s.name)}`);
    if (REASONS.includes(s.name as BadLineReason)) out.push(`name is a reason: ${s.name}`);
    if (s.type === 'timer' && s.value < 0) out.push(`negative timer ${s.value}`);
    if (s.gaugeDelta && s.type !== 'gauge') out.push('delta on a non-gauge');
    if (s.type === 'set' ? s.member === '' || s.value !== 1 : s.member !== '') out.push(`member ${JSON.stringify(s.member)}`);
    if (s.tags !== '' && s.tags.split(',').length > options.maxTagsPerLine) out.push(`tags ${s.tags}`);
  }
  for (const reason of got.bad) if (!REASONS.includes(reason)) out.push(`reason ${reason}`);
  const lines = linesOf(buf);
  for (const text of got.badText) if (!lines.includes(text)) out.push(`bad slice ${JSON.stringify(text)}`);
  if (got.lines !== lines.length) out.push(`lines ${got.lines} != ${lines.length}`);
  // Every non-empty line ends in at least one sample or bad line.
  if (got.events.length < got.lines) out.push('a line produced nothing');
  return out;
}

interface ValidLine {
  text: string;
  samples: Sample[];
}

/** A random well-formed line and the samples it must give. */
function validLine(r: Random): ValidLine {
  const name = r.text(NAME_CHARS, 1, 24);
  let tagText = '';
  let tags = '';
  if (r.chance(0.4)) {
    const count = 1 + r.int(4);
    const pairs: [string, string][] = [];
    for (let i = 0; i < count; i++) pairs.push([`k${r.text(ALNUM, 0, 3)}${i}`, r.chance(0.2) ? '' : r.text(`${ALNUM}:/.`, 1, 10)]);
    tagText = pairs.map(([k, v]) => (v === '' ? k : `${k}:${v}`)).join(',');
    tags = [...pairs]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => (v === '' ? k : `${k}:${v}`))
      .join(',');
  }
  const parts: string[] = [];
  const samples: Sample[] = [];
  const count = r.chance(0.7) ? 1 : 2 + r.int(3);
  let lastRate = '';
  for (let i = 0; i < count; i++) {
    const last = i === count - 1;
    const number = (negative: boolean): string => {
      const sign = negative && r.chance(0.5) ? '-' : '';
      return `${sign}${r.int(100000)}${r.chance(0.3) ? `.${r.int(1000)}` : ''}`;
    };
    const rates = ['', '', '0.5', '.25', '1', '0.001', '1e-1'];
    const rate = r.pick(rates);
    const rateValue = rate === '' ? 1 : Number(rate);
    const pad = (text: string): string => (r.chance(0.1) ? ` ${text} ` : text);
    switch (r.int(7)) {
      case 0: {
        const value = number(true);
        parts.push(`${pad(value)}|c${rate === '' ? '' : `|@${rate}`}`);
        samples.push(counter(name, Number(value), { tags, rate: rateValue }));
        if (last) lastRate = rate;
        break;
      }
      case 1: {
        const value = number(false);
        const type = r.pick(['ms', 'h', 'd']);
        parts.push(`${value}|${pad(type)}${rate === '' ? '' : `|@${rate}`}`);
        samples.push(timer(name, Number(value), { tags, rate: rateValue }));
        if (last) lastRate = rate;
        break;
      }
      case 2: {
        const sign = r.pick(['', '+', '-']);
        const value = `${sign}${number(false)}`;
        parts.push(`${value}|g${rate === '' ? '' : `|@${rate}`}`);
        samples.push({ ...gauge(name, Number(value), { tags, rate: rateValue }), gaugeDelta: sign !== '' });
        if (last) lastRate = rate;
        break;
      }
      case 3: {
        const text = r.text(`${ALNUM}.-_é`, 1, 12);
        parts.push(`${text}|s${rate === '' ? '' : `|@${rate}`}`);
        samples.push(member(name, text, { tags, rate: rateValue }));
        if (last) lastRate = rate;
        break;
      }
      default: {
        // DaTtSs suffix form.
        const unit = r.pick(['c', 'ms', 'g']);
        const sign = unit === 'ms' ? '' : r.pick(['', '+', '-']);
        const value = `${sign}${number(false)}`;
        parts.push(`${value}${unit}${r.chance(0.2) ? '!' : ''}`);
        const type = unit === 'c' ? 'counter' : unit === 'ms' ? 'timer' : 'gauge';
        samples.push({ ...BLANK, type, name, tags, value: Number(value), gaugeDelta: unit === 'g' && sign !== '' });
        break;
      }
    }
  }
  // Three pipe-less parts would make `name:a:b:c`, the DaTtSs AUTH:PROCESS:STAT:VALUE datagram.
  if (tagText === '' && parts.length === 3 && parts.every((part) => !part.includes('|'))) return validLine(r);
  let text = `${name}:${parts.join(':')}`;
  if (tagText !== '') {
    // A typed last part may carry its rate after the tag field instead.
    const rateField = `|@${lastRate}`;
    if (lastRate !== '' && text.endsWith(rateField) && r.chance(0.5)) {
      text = `${text.slice(0, -rateField.length)}|#${tagText}${rateField}`;
    } else {
      text += `|#${tagText}`;
    }
  }
  return { text, samples };
}

function mutate(r: Random, text: string): Buffer {
  const bytes = [...Buffer.from(text, 'utf8')];
  const edits = 1 + r.int(3);
  for (let i = 0; i < edits; i++) {
    const at = r.int(bytes.length + 1);
    switch (r.int(3)) {
      case 0:
        bytes.splice(at, 0, r.pick(TRICKY));
        break;
      case 1:
        bytes.splice(at, 1);
        break;
      default:
        bytes.splice(at, 1, r.pick(TRICKY));
    }
  }
  return Buffer.from(bytes);
}

function randomBytes(r: Random, maxLength: number): Buffer {
  const length = r.int(maxLength + 1);
  const out = Buffer.alloc(length);
  const tricky = r.chance(0.5);
  for (let i = 0; i < length; i++) out[i] = tricky && r.chance(0.8) ? r.pick([...TRICKY, 0x0a]) : r.int(256);
  return out;
}

const OPTION_SETS: ParserOptions[] = [
  DEFAULTS,
  { sanitizeNames: false, maxNameLength: 250, maxTagsPerLine: 32, maxTagLength: 200, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1024 },
  { sanitizeNames: true, maxNameLength: 6, maxTagsPerLine: 1, maxTagLength: 4, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1024 },
  { sanitizeNames: false, maxNameLength: 3, maxTagsPerLine: 0, maxTagLength: 1, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1 },
  { sanitizeNames: true, maxNameLength: 250, maxTagsPerLine: 1, maxTagLength: 200, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1024 },
];

t.test('random bytes never make parse throw and respect the contract', async (t) => {
  const r = new Random(0x5eed_0001);
  const failures: string[] = [];
  let events = 0;
  for (let i = 0; i < 4000; i++) {
    const buf = randomBytes(r, 200);
    const options = r.pick(OPTION_SETS);
    try {
      const got = run(buf, options);
      events += got.events.length;
      for (const v of contractViolations(buf, got, options)) failures.push(`${buf.toString('hex')}: ${v}`);
    } catch (error) {
      failures.push(`${buf.toString('hex')}: threw ${String(error)}`);
    }
  }
  t.strictSame(failures.slice(0, 10), [], 'no failures');
  t.ok(events > 4000, `the buffers produced events (${events})`);
});

t.test('near-valid lines never make parse throw and respect the contract', async (t) => {
  const r = new Random(0x5eed_0002);
  const failures: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < 6000; i++) {
    const buf = mutate(r, validLine(r).text);
    const options = r.pick(OPTION_SETS);
    try {
      const got = run(buf, options);
      for (const reason of got.bad) seen.add(reason);
      if (got.samples.length > 0) seen.add('sample');
      for (const v of contractViolations(buf, got, options)) failures.push(`${JSON.stringify(buf.toString('latin1'))}: ${v}`);
    } catch (error) {
      failures.push(`${JSON.stringify(buf.toString('latin1'))}: threw ${String(error)}`);
    }
  }
  t.strictSame(failures.slice(0, 10), [], 'no failures');
  // The mutations reach every reason (the limits through the small option sets).
  t.strictSame([...seen].sort(), [...REASONS, 'sample'].sort(), 'every outcome was reached');
});

t.test('generated valid lines give exactly their samples', async (t) => {
  const r = new Random(0x5eed_0003);
  const failures: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const line = validLine(r);
    const got = run(line.text);
    if (got.bad.length > 0 || got.lines !== 1 || JSON.stringify(got.samples) !== JSON.stringify(line.samples)) {
      failures.push(`${JSON.stringify(line.text)}: ${JSON.stringify(got.samples)} bad ${got.bad.join()}`);
    }
  }
  t.strictSame(failures.slice(0, 10), [], 'no failures');
});

t.test('valid lines mixed with garbage lines in one packet are all returned exactly', async (t) => {
  const r = new Random(0x5eed_0004);
  const failures: string[] = [];
  const parser = new LineParser(DEFAULTS);
  for (let i = 0; i < 500; i++) {
    const lines: Buffer[] = [];
    const expected: (Sample | BadLineReason)[] = [];
    let expectedLines = 0;
    const count = 1 + r.int(30);
    for (let j = 0; j < count; j++) {
      let line: Buffer;
      if (r.chance(0.5)) {
        const valid = validLine(r);
        line = Buffer.from(valid.text, 'utf8');
        expected.push(...valid.samples);
      } else {
        // Garbage: random bytes or a mutated line, without a newline. Whatever
        // it gives alone, it must give the same inside the packet.
        line = r.chance(0.5) ? mutate(r, validLine(r).text) : randomBytes(r, 60);
        line = Buffer.from([...line].filter((b) => b !== 0x0a));
        expected.push(...run(line).events);
      }
      if (linesOf(line).length > 0) expectedLines++;
      lines.push(line);
    }
    const parts: Buffer[] = [];
    for (const line of lines) {
      parts.push(line, Buffer.from(r.pick(['\n', '\r\n', '\n\n', '\r\n\n'])));
      // A garbage line may end with '\r' itself: joined with '\r\n' that is two, and one stays.
      // Avoid the ambiguity by not doubling: a line ending in '\r' is joined with '\n' only.
      if (line.length > 0 && line[line.length - 1] === 0x0d) parts[parts.length - 1] = Buffer.from('\n');
    }
    if (r.chance(0.5)) parts.pop();
    const packet = Buffer.concat(parts);
    const got = run(packet, {}, parser);
    if (JSON.stringify(got.events) !== JSON.stringify(expected) || got.lines !== expectedLines) {
      failures.push(`${JSON.stringify(packet.toString('latin1'))}: lines ${got.lines}/${expectedLines}`);
    }
  }
  t.strictSame(failures.slice(0, 5), [], 'no failures');
});

t.test('a parser that has seen lines parses them as a fresh one does', async (t) => {
  // Names and tags found by their bytes (LineKeys) must give what decoding them gives,
  // under every option set; maxLineKeys 1 makes the table start over at every new key.
  const r = new Random(0x5eed_0005);
  const failures: string[] = [];
  const parsers = OPTION_SETS.map((options) => new LineParser(options));
  for (let i = 0; i < 4000; i++) {
    const buf = r.chance(0.5) ? mutate(r, validLine(r).text) : Buffer.from(validLine(r).text);
    const which = r.int(OPTION_SETS.length);
    const fresh = JSON.stringify(run(buf, OPTION_SETS[which]));
    for (let pass = 0; pass < 2; pass++) {
      const seen = JSON.stringify(run(buf, {}, parsers[which]));
      if (seen !== fresh) failures.push(`${JSON.stringify(buf.toString('latin1'))} pass ${pass}: ${seen} != ${fresh}`);
    }
  }
  t.strictSame(failures.slice(0, 5), [], 'no failures');
});

t.test('the sink gets one key id per name and tag field as written', async (t) => {
  const parser = new LineParser(DEFAULTS);
  const ids: [string, number][] = [];
  const sink: ParseSink = {
    sample: (sample, keyId) => void ids.push([`${sample.type} ${sample.name} {${sample.tags}}`, keyId]),
    event: () => undefined,
    serviceCheck: () => undefined,
    partial: () => undefined,
    badLine: () => undefined,
  };
  const packet = ['a:1|c', 'a:2|ms', 'a:1|c|#x:1,y:2', 'a:1|c|#y:2,x:1', 'a,x=1,y=2:1|c', 'key:web:a:1c', 'a:3|g', 'b a:1|c', 'b_a:1|c', 'a:1|c|#x:1,y:2'];
  parser.parse(Buffer.from(packet.join('\n')), sink);
  t.strictSame(ids, [
    ['counter a {}', 0],
    ['timer a {}', 0],
    ['counter a {x:1,y:2}', 1],
    ['counter a {x:1,y:2}', 2],
    ['counter a {x:1,y:2}', 3],
    ['counter a {process:web}', -1],
    ['gauge a {}', 0],
    ['counter b_a {}', 4],
    ['counter b_a {}', 5],
    ['counter a {x:1,y:2}', 1],
  ], 'the same bytes share an id whatever the type; other bytes for the same series get their own; DaTtSs datagrams none');
});

t.test('latin1 reads bytes as toString does', async (t) => {
  const { latin1 } = await import('../../src/ingest/line-bytes.js');
  const bytes = Buffer.from([0x61, 0x3a, 0x31, 0x7c, 0x63, 0x00, 0xe9, 0xff, 0x80]);
  for (const [start, end] of [[0, 9], [0, 0], [2, 7], [5, 9], [9, 9]] as const) {
    t.equal(latin1(bytes, start, end), bytes.toString('latin1', start, end), `[${start}, ${end})`);
  }
});
