import t from 'tap';
import { TimerPartial } from '../../src/aggregate/partial.js';
import { figuresOf } from '../../src/aggregate/partial-figures.js';
import { TimerRing } from '../../src/aggregate/timer-ring.js';
import { prng } from '../helpers/prng.js';

// A timer series' slots (aggregate/timer-ring.ts) against one TimerPartial per
// slot fed the same samples and merges, with sample rates, merged partials that
// hold values or a sketch, slots that pass 32 values and slots restarted for a
// new interval: every slot must read back with the same figures, the same
// exact values while there are at most 32, and then the same sketch, open or
// sealed (slot-sketches.ts) once another slot has one. As in a series,
// samples go to the slot started last: the current interval's.

const SLOTS = 4;

/** A partial of `n` random values, to merge: past 32 values it holds a sketch. */
function randomPartial(random: () => number, n: number): TimerPartial {
  const partial = new TimerPartial();
  for (let i = 0; i < n; i++) partial.add(Math.round(random() * 100_000) / 100, random() < 0.3 ? 0.25 : 1);
  return partial;
}

t.test('each slot reads back as the TimerPartial fed the same', async (t) => {
  for (let trial = 0; trial < 10; trial++) {
    const random = prng(Math.imul(trial + 1, 0x9e3779b9));
    const pick = (n: number): number => Math.floor(random() * n);
    const ring = new TimerRing(SLOTS);
    const reference = Array.from({ length: SLOTS }, () => new TimerPartial());
    for (let index = 0; index < SLOTS; index++) ring.start(index);
    let index = SLOTS - 1;
    let mismatches = 0;
    for (let step = 0; step < 1500; step++) {
      const roll = random();
      if (roll < 0.02) {
        index = pick(SLOTS);
        ring.start(index);
        reference[index]!.reset();
      } else if (roll < 0.08) {
        const merged = randomPartial(random, random() < 0.3 ? 33 + pick(40) : pick(20));
        ring.merge(index, merged);
        reference[index]!.merge(merged);
      } else {
        const value = random() < 0.1 ? 0 : Math.round(random() * 1_000_000) / 1000;
        const rate = [1, 0.5, 0.1][pick(3)] as number;
        ring.add(index, value, rate);
        reference[index]!.add(value, rate);
      }
      for (let i = 0; i < SLOTS; i++) if (JSON.stringify(figuresOf(ring.partial(i))) !== JSON.stringify(figuresOf(reference[i]!))) mismatches++;
    }
    t.equal(mismatches, 0, `trial ${trial}`);
  }
});

t.test("a slot's partial is a copy of its values, and a restarted slot starts empty", async (t) => {
  const ring = new TimerRing(2);
  ring.start(0);
  ring.add(0, 5, 1);
  const read = ring.partial(0);
  read.add(7, 1);
  t.same(ring.partial(0).values, [5], 'adding to what was read leaves the slot alone');
  ring.start(0);
  t.match(figuresOf(ring.partial(0)), { count: 0, samples: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY, values: [] });
  for (let i = 0; i < 40; i++) ring.add(0, i, 1);
  t.equal(ring.partial(0).values, null, 'past 32 values the slot holds a sketch');
  ring.start(0);
  ring.add(0, 3, 1);
  t.same(ring.partial(0).values, [3], 'and a restarted slot goes back to exact values');
});

t.test("a busy slot's sketch reads the same once another slot's is open, merged from as often as read", async (t) => {
  const ring = new TimerRing(2);
  const reference = new TimerPartial();
  ring.start(0);
  for (let i = 0; i < 100; i++) {
    const value = 1 + ((i * 37) % 500);
    ring.add(0, value, 1);
    reference.add(value, 1);
  }
  ring.start(1);
  for (let i = 0; i < 40; i++) ring.add(1, i, 1);
  t.same(figuresOf(ring.partial(0)), figuresOf(reference), 'the same figures and encoded sketch');
  const merged = new TimerPartial();
  merged.merge(ring.partial(0));
  merged.merge(ring.partial(0));
  const twice = new TimerPartial();
  twice.merge(reference);
  twice.merge(reference);
  t.same(figuresOf(merged), figuresOf(twice), 'merged from twice');
  t.same(figuresOf(ring.partial(0)), figuresOf(reference), 'and left as it was');
  ring.start(0);
  t.same(ring.partial(0).values, [], 'restarted, the slot has no sketch');
});
