import t from 'tap';
import { figuresOf, partialOf } from '../../src/aggregate/partial-figures.js';
import { CounterPartial, GaugePartial, SetPartial, TimerPartial, type Partial } from '../../src/aggregate/partial.js';
import { Registry } from '../../src/aggregate/registry.js';
import { encodeSketch } from '../../src/aggregate/sketch.js';
import { LineParser, type BadLineReason, type ParserOptions, type PartialRecord } from '../../src/ingest/parser.js';
import { encodePartialLine, type PartialFigures } from '../../src/protocol/partial-line.js';

// The partial-aggregate line: its encoding, the parser's checks (a bad
// partial is refused whole, with a reason), and how the registry merges it.

const OPTIONS: ParserOptions = { sanitizeNames: true, maxNameLength: 250, maxTagsPerLine: 32, maxTagLength: 200, gaugeSigns: 'delta', authKeys: [], maxLineKeys: 1024 };

function parse(text: string, options: Partial_<ParserOptions> = {}): { partials: PartialRecord[]; bad: BadLineReason[]; samples: number } {
  const out = { partials: [] as PartialRecord[], bad: [] as BadLineReason[], samples: 0 };
  new LineParser({ ...OPTIONS, ...options }).parse(Buffer.from(text), {
    sample: () => void out.samples++,
    event: () => undefined,
    serviceCheck: () => undefined,
    partial: (record) => void out.partials.push(record),
    badLine: (reason) => void out.bad.push(reason),
  });
  return out;
}
type Partial_<T> = { [K in keyof T]?: T[K] };

function timerOf(values: number[]): TimerPartial {
  const timer = new TimerPartial();
  for (const value of values) timer.add(value, 1);
  return timer;
}

/** A partial's observable figures, for comparing two partials. */
function view(partial: Partial): unknown {
  switch (partial.type) {
    case 'counter':
      return { count: partial.count, sum: partial.sum };
    case 'timer':
      return { ...partial, values: partial.values === null ? null : [...partial.values], p: [0.5, 0.99].map((q) => partial.sketch?.getValueAtQuantile(q)) };
    case 'gauge':
      return { count: partial.count, sum: partial.sum, min: partial.min, max: partial.max, last: partial.last };
    case 'set':
      return { count: partial.count, members: [...partial.members].sort() };
  }
}

t.test('encodes each type as documented', async (t) => {
  const counter = new CounterPartial();
  counter.add(3, 1);
  counter.add(-1.5, 0.5);
  t.equal(encodePartialLine('hits', 'env:prod', figuresOf(counter)), '_p1|c|hits|env:prod|3|0');
  t.equal(encodePartialLine('lat', '', figuresOf(timerOf([153, 12.5]))), '_p1|ms|lat||2|2|165.5|23565.25|12.5|153|153:12.5');
  const set = new SetPartial();
  for (const member of ['alice', 'bob', 'alice']) set.add(member);
  t.equal(encodePartialLine('users', '', figuresOf(set)), '_p1|s|users||3|alice:bob');
  const gauge: PartialFigures = { type: 'gauge', offsets: { count: 2, sum: 5, min: 1, max: 4, last: 4 }, values: { count: 1, sum: 7, min: 7, max: 7, last: 7 } };
  t.equal(encodePartialLine('q', '', gauge), '_p1|g|q||~2|5|1|4|4|1|7|7|7|7');
  const sketchLine = encodePartialLine('lat', '', figuresOf(timerOf([1, 2]), true));
  t.match(sketchLine, /^_p1\|ms\|lat\|\|2\|2\|3\|5\|1\|2\|=[A-Za-z0-9+/]+=*$/);
});

t.test('every partial decodes to what it was, exactly', async (t) => {
  const many = timerOf(Array.from({ length: 100 }, (_, i) => i * 7.25));
  t.equal(many.values, null, 'past 32 values the timer holds a sketch');
  const few = timerOf([0, 0.1, 1e21, 5e-7, 3]);
  const set = new SetPartial();
  set.add('ü');
  set.add('a b');
  const counter = new CounterPartial();
  counter.add(0.1, 0.3);
  for (const partial of [many, few, set, counter]) {
    for (const withSketch of [false, true]) {
      const line = encodePartialLine('n', '', figuresOf(partial, withSketch));
      const [record] = parse(line).partials;
      if (withSketch && partial.type === 'timer') t.same(view(record!.partial), { ...(view(partial) as object), values: null }, `${line.slice(0, 40)}…`);
      else t.same(view(record!.partial), view(partial), line.slice(0, 60));
    }
  }
  const gauge = partialOf({ type: 'gauge', offsets: null, values: { count: 2, sum: -3, min: -5, max: 2, last: -5 } });
  t.same(view(gauge!.partial), { count: 2, sum: -3, min: -5, max: 2, last: -5 });
});

t.test('name and tags get the checks of a statsd line', async (t) => {
  const [record] = parse('_p1|c|a b/c|region:us,env:prod|1|1').partials;
  t.same({ name: record!.name, tags: record!.tags }, { name: 'a_b-c', tags: 'env:prod,region:us' });
  t.same(parse('_p1|c||x|1|1').bad, ['empty_name']);
  t.same(parse(`_p1|c|${'n'.repeat(251)}||1|1`).bad, ['name_too_long']);
  t.same(parse(`_p1|c|n|k:${'v'.repeat(300)}|1|1`).bad, ['tag_too_long']);
  t.same(parse(`_p1|s|n||1|${'m'.repeat(251)}`).bad, ['name_too_long']);
  t.same(parse('_p1|s|n||1|\xff').bad, [], 'a string, not bytes: valid');
  const bytes = Buffer.concat([Buffer.from('_p1|s|n||1|'), Buffer.from([0xff])]);
  const bad: BadLineReason[] = [];
  new LineParser(OPTIONS).parse(bytes, { sample() {}, event() {}, serviceCheck() {}, partial() {}, badLine: (reason) => void bad.push(reason) });
  t.same(bad, ['invalid_utf8']);
});

t.test('malformed partials are refused whole as bad_partial', async (t) => {
  const sketch = Buffer.from(encodeSketch(timerOf([1, 2, 3]).sketch!)).toString('base64');
  const cases = [
    '_p2|c|n||1|1', // an unknown version
    '_p1|c|n|1|1', // too few fields
    '_p1|c|n||1', // no sum
    '_p1|c|n||0|1', // count 0
    '_p1|c|n||1|x',
    '_p1|c|n||1|Infinity',
    '_p1|c|n||1|1|1',
    '_p1|x|n||1|1', // unknown type
    '_p1|ms|n||1|1|5|25|5|5|6', // value outside [min, max]
    '_p1|ms|n||2|2|5|25|5|5|5', // two samples, one value
    '_p1|ms|n||1|1|-5|25|-5|-5|-5', // negative timer
    '_p1|ms|n||1|1.5|5|25|5|5|5', // fractional samples
    '_p1|ms|n||3|3|6|14|1|3|=***', // not base64
    '_p1|ms|n||3|3|6|14|1|3|=AAAA', // not a sketch
    `_p1|ms|n||4|4|6|14|1|3|=${sketch}`, // the sketch holds 3 values, not 4
    '_p1|g|n||1|5|5|5|6', // last outside [min, max]
    '_p1|g|n||0|5|5|5|5',
    '_p1|g|n||1|5|5|5|5|1|5|5|5|5', // two absolute sections
    '_p1|g|n||~1|5|5|5|5|1|5', // a short second section
    '_p1|s|n||1|a:b', // fewer adds than members
    '_p1|s|n||2|a::b', // an empty member
    '_p1|s|n||1|', // no member
    '_p1|c|n||1.|1',
    '_p1|c|n||+1|1',
    '_p1|c|n||1e|1',
  ];
  for (const line of cases) t.same(parse(line), { partials: [], bad: ['bad_partial'], samples: 0 }, line);
  t.same(parse('_p1.x:1|c\n_p:1|c\n_px|1').bad, ['missing_value'], 'names that only look like partials parse as statsd lines');
  t.equal(parse('_p1.x:1|c\n_p:1|c').samples, 2);
  t.same(parse(`_p1|ms|n||3|3|6|14|1|3|=${sketch}`).bad, [], 'the same sketch with the right count is fine');
});

t.test('the registry merges partials as it would their samples', async (t) => {
  const options = { maxSeries: 10, lateWindowMs: 0, maxSetMembers: 2 };
  const registry = new Registry(options, 0);
  const apply = (line: string): void => {
    for (const record of parse(line).partials) registry.addPartial(record.name, record.tags, record.partial, record.gaugeOffsets);
  };
  const gaugeNow = (): unknown => {
    const series = [...registry.series('gauge')][0]!;
    return { value: series.gaugeValue, partial: view(series.partialAt(registry.currentIntervalMs)) };
  };
  apply('_p1|g|q||~2|5|2|3|3'); // +2, +1 from nothing: 2, 3
  t.same(gaugeNow(), { value: 3, partial: { count: 2, sum: 5, min: 2, max: 3, last: 3 } });
  apply('_p1|g|q||~1|-4|-4|-4|-4|2|11|1|10|1'); // -4 on 3 → -1, then 10 and 1
  t.same(gaugeNow(), { value: 1, partial: { count: 5, sum: 15, min: -1, max: 10, last: 1 } });
  apply('_p1|g|q||1|0|0|0|0'); // a smaller value arriving later is still the last one
  t.same(gaugeNow(), { value: 0, partial: { count: 6, sum: 15, min: -1, max: 10, last: 0 } });

  apply('_p1|s|u||3|a:b\n_p1|s|u||4|b:c:d');
  const set = [...registry.series('set')][0]!.partialAt(registry.currentIntervalMs) as SetPartial;
  t.same(view(set), { count: 5, members: ['a', 'b'] }, 'c and d are over maxSetMembers');
  t.equal(registry.setMembersDropped, 2);

  const full = new Registry({ ...options, maxSeries: 1 }, 0);
  const [one, two] = parse('_p1|c|a||1|1\n_p1|c|b||1|1').partials;
  t.equal(full.addPartial(one!.name, one!.tags, one!.partial), true);
  t.equal(full.addPartial(two!.name, two!.tags, two!.partial), false);
  t.equal(full.seriesDropped, 1);
  t.same(view(partialOf({ type: 'gauge', offsets: null, values: null })!.partial), view(new GaugePartial()));
});
