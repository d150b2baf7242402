import t from 'tap';
import { createSketch, encodeSketch, quantileOf, sealSketch, type QuantileSketch } from '../../src/aggregate/sketch.js';

// sealSketch (aggregate/sketch.ts) shrinks a sketch that is only read from
// then on: its bins become a typed array of exactly its keys, in the
// narrowest type that keeps every count exact, and it reads, merges and
// encodes as before.

/** A sketch fed `value` with `weight`, for each pair. */
function sketchOf(pairs: [value: number, weight: number][]): QuantileSketch {
  const sketch = createSketch();
  for (const [value, weight] of pairs) sketch.accept(value, weight);
  return sketch;
}

const QUANTILES = [0, 0.5, 0.9, 0.99, 1];

for (const [what, pairs, Counts] of [
  ['counts up to 65,535', [[1, 1], [150, 65_535], [499, 3]], Uint16Array],
  ['a count past 65,535', [[1, 1], [150, 65_536]], Uint32Array],
  ['a count past 2^32 - 1', [[150, 2 ** 32]], Float64Array],
  ['fractional counts (merged sample rates)', [[2, 0.5], [40, 2.25]], Float64Array],
] as const) {
  t.test(`${what}: a ${Counts.name}, read, merged and encoded as before`, async (t) => {
    const sealed = sketchOf(pairs.map(([value, weight]) => [value, weight]));
    const plain = sketchOf(pairs.map(([value, weight]) => [value, weight]));
    sealSketch(sealed);
    t.type(sealed.store.bins, Counts);
    t.equal(sealed.store.bins.length, sealed.store.maxKey - sealed.store.minKey + 1, 'exactly its keys');
    t.same(encodeSketch(sealed), encodeSketch(plain), 'the same bytes');
    t.same(
      QUANTILES.map((q) => quantileOf(sealed, q, 1, 500)),
      QUANTILES.map((q) => quantileOf(plain, q, 1, 500)),
      'the same quantiles',
    );
    const fromSealed = sketchOf([[7, 1]]);
    fromSealed.merge(sealed);
    const fromPlain = sketchOf([[7, 1]]);
    fromPlain.merge(plain);
    t.same(encodeSketch(fromSealed), encodeSketch(fromPlain), 'merged into another sketch');
    const copied = createSketch();
    copied.merge(sealed);
    copied.accept(3);
    plain.accept(3);
    t.same(encodeSketch(copied), encodeSketch(plain), 'copied into an empty one, which takes values again');
  });
}

t.test('an empty store is left alone, and sealing twice changes nothing', async (t) => {
  const sketch = sketchOf([[5, 1]]);
  const emptyBins = sketch.negativeStore.bins;
  sealSketch(sketch);
  t.equal(sketch.negativeStore.bins, emptyBins, 'the empty negative store keeps its bins');
  const bins = sketch.store.bins;
  sealSketch(sketch);
  t.equal(sketch.store.bins, bins, 'a sealed store is not sealed again');
});
