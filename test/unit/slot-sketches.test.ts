import t from 'tap';
import { SlotSketches } from '../../src/aggregate/slot-sketches.js';
import { createSketch, encodeSketch, type QuantileSketch } from '../../src/aggregate/sketch.js';
import { prng } from '../helpers/prng.js';

// SlotSketches (aggregate/slot-sketches.ts) against one DDSketch per slot fed
// the same values and merges: slots added to in any order (so sealed ones are
// reopened), merged sketches with counts past 65,535 and fractional counts,
// zeros, values spread over many decades (so the open bins grow both ways)
// and slots dropped. Every slot must read back as the same encoded sketch.

const SLOTS = 5;

/** A value spread over 1e-3..1e6, or a zero now and then. */
function randomValue(random: () => number): number {
  return random() < 0.05 ? 0 : 10 ** (random() * 9 - 3);
}

/** A sketch to merge: a few values, some weighted past 65,535 or fractionally, or only zeros. */
function randomSketch(random: () => number): QuantileSketch {
  const sketch = createSketch();
  const n = 1 + Math.floor(random() * 30);
  for (let i = 0; i < n; i++) {
    const roll = random();
    const weight = roll < 0.05 ? 70_000 : roll < 0.15 ? 0.25 : 1 + Math.floor(random() * 3);
    sketch.accept(random() < 0.1 ? 0 : randomValue(random), weight);
  }
  return sketch;
}

const encoded = (sketch: QuantileSketch | null): string | null => (sketch === null ? null : Buffer.from(encodeSketch(sketch)).toString('hex'));

t.test('every slot reads back as the DDSketch fed the same', async (t) => {
  for (let trial = 0; trial < 12; trial++) {
    const random = prng(Math.imul(trial + 7, 0x9e3779b9));
    const pick = (n: number): number => Math.floor(random() * n);
    const sketches = new SlotSketches(SLOTS);
    const reference: (QuantileSketch | null)[] = new Array(SLOTS).fill(null);
    // Mostly the same slot in a row, as a series adds to its current interval's.
    let slot = 0;
    let mismatches = 0;
    for (let step = 0; step < 600; step++) {
      if (random() < 0.05) slot = pick(SLOTS);
      const roll = random();
      if (roll < 0.03) {
        sketches.drop(slot);
        reference[slot] = null;
      } else if (roll < 0.1) {
        const other = randomSketch(random);
        sketches.merge(slot, other);
        (reference[slot] ??= createSketch()).merge(other);
      } else {
        const value = randomValue(random);
        sketches.add(slot, value);
        (reference[slot] ??= createSketch()).accept(value);
      }
      for (let i = 0; i < SLOTS; i++) {
        if (sketches.has(i) !== (reference[i] !== null)) mismatches++;
        if (encoded(sketches.sketch(i)) !== encoded(reference[i]!)) mismatches++;
      }
      if (sketches.empty !== reference.every((sketch) => sketch === null)) mismatches++;
    }
    t.equal(mismatches, 0, `trial ${trial}`);
  }
});

t.test('what a slot reads is a copy: merging into it or reading it again leaves the slot alone', async (t) => {
  const sketches = new SlotSketches(2);
  for (const value of [1, 2, 3]) sketches.add(0, value);
  const read = sketches.sketch(0)!;
  read.accept(50);
  t.equal(sketches.sketch(0)!.count, 3, 'the open slot');
  sketches.add(1, 4);
  sketches.sketch(0)!.accept(50);
  t.equal(sketches.sketch(0)!.count, 3, 'and once sealed');
});

t.test('a negative value is refused with its value; the negative bins of a merged sketch are left out, as DDSketch.merge does', async (t) => {
  const sketches = new SlotSketches(1);
  t.throws(() => sketches.add(0, -2), new RangeError('a timer value cannot be negative (-2)'));
  const withNegatives = createSketch();
  withNegatives.accept(-5);
  withNegatives.accept(7);
  sketches.merge(0, withNegatives);
  const merged = createSketch();
  merged.accept(1);
  merged.merge(withNegatives);
  const expected = createSketch();
  expected.accept(1);
  expected.accept(7);
  t.same(encodeSketch(merged).subarray(1), encodeSketch(expected).subarray(1), "DDSketch.merge keeps only the other's positive bins");
  t.same(encodeSketch(sketches.sketch(0)!), encodeSketch(positiveOnly(withNegatives)), 'and so does a slot');
});

/** `sketch` without its negative bins. */
function positiveOnly(sketch: QuantileSketch): QuantileSketch {
  const copy = createSketch();
  copy.store.copy(sketch.store);
  copy.zeroCount = sketch.zeroCount;
  copy.count = copy.store.count + copy.zeroCount;
  return copy;
}

t.test('every slot dropped leaves none', async (t) => {
  const sketches = new SlotSketches(3);
  for (let slot = 0; slot < 3; slot++) for (let i = 1; i <= 200; i++) sketches.add(slot, i * (slot + 1));
  for (const slot of [1, 0, 2]) {
    t.notOk(sketches.empty, `before slot ${slot} is dropped`);
    sketches.drop(slot);
    t.equal(sketches.sketch(slot), null);
  }
  t.ok(sketches.empty);
  sketches.add(1, 5);
  t.equal(sketches.sketch(1)!.count, 1, 'and takes values again');
});
