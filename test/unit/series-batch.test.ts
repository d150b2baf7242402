import t from 'tap';
import { IntervalGauge, type BufferedSeries } from '../../src/aggregate/interval-buffer.js';
import { CounterPartial, SetPartial, TimerPartial } from '../../src/aggregate/partial.js';
import { bufferedFigures } from '../../src/aggregate/interval-buffer.js';
import { emptySeriesBatch, encodeSeries, forEachSeries, seriesTransferables, type SeriesBatch } from '../../src/ingest/series-batch.js';
import type { PartialFigures } from '../../src/protocol/partial-line.js';

/** Every shape a series can take in a hand-over. */
function everyShape(): BufferedSeries[] {
  const counter = new CounterPartial();
  counter.add(3, 0.5);
  const fewValues = new TimerPartial();
  for (const value of [5, 1.5, 1e9]) fewValues.add(value, 1);
  const sketched = new TimerPartial();
  for (let value = 0; value < 100; value++) sketched.add(value * 7, 0.25);
  const offsetsOnly = new IntervalGauge();
  offsetsOnly.add(-2, true);
  const valuesOnly = new IntervalGauge();
  valuesOnly.add(10, false);
  valuesOnly.add(4, true);
  const both = new IntervalGauge();
  both.add(1, true);
  both.add(-7.5, false);
  const set = new SetPartial();
  for (const member of ['a', 'b', 'a', 'ünï']) set.add(member);
  const emptySet = new SetPartial();
  return [
    { name: 'hits', tags: '', partial: counter },
    { name: 'lat', tags: 'env:prod', partial: fewValues },
    { name: 'lat', tags: 'env:test', partial: sketched },
    { name: 'g.offsets', tags: '', partial: offsetsOnly },
    { name: 'g.values', tags: '', partial: valuesOnly },
    { name: 'g.both', tags: 'a:b,c:d', partial: both },
    { name: 'g.none', tags: '', partial: new IntervalGauge() },
    { name: 'users', tags: '', partial: set },
    { name: 'nobody', tags: '', partial: emptySet },
  ];
}

function decoded(batch: SeriesBatch): [string, string, PartialFigures][] {
  const series: [string, string, PartialFigures][] = [];
  forEachSeries(batch, (name, tags, figures) => series.push([name, tags, figures]));
  return series;
}

t.test('every series comes out with the figures it went in with, after its buffers were moved', async (t) => {
  const series = everyShape();
  t.equal((bufferedFigures(series[2]!.partial) as { sketch: Uint8Array | null }).sketch !== null, true, 'the busy timer travels as a sketch');
  const batch = encodeSeries(series);
  const moved = structuredClone(batch, { transfer: seriesTransferables(batch) });
  t.equal(batch.numbers.byteLength + batch.values.byteLength + batch.sketches.byteLength, 0, 'all three buffers were moved, not copied');
  const expected = series.map(({ name, tags, partial }) => [name, tags, bufferedFigures(partial)]);
  t.same(decoded(moved), expected);
  t.same(decoded(encodeSeries([])), [], 'no series');
  t.same(decoded(emptySeriesBatch()), []);
});

t.test('bytes that are not a batch are refused, not misread', async (t) => {
  const batch = encodeSeries(everyShape());
  batch.numbers[0] = 9;
  t.throws(() => forEachSeries(batch, () => {}), /not a series batch: type 9 at number 0/);
});
