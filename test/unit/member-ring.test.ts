import t from 'tap';
import { MemberRing, type IntervalMembers } from '../../src/aggregate/member-ring.js';
import { SetPartial } from '../../src/aggregate/partial.js';
import { prng } from '../helpers/prng.js';

// A set series' members across its ring (aggregate/member-ring.ts) against a
// plain model: one Set per interval of the 13 the ring holds. Random adds,
// interval starts (steps of 0-3 intervals and jumps past the ring) and
// clears, starting just before stamps wrap, must leave every interval of the
// window with exactly the model's members, and the ring no member outside it
// (checked in the trials without clears, after which a member may linger).

const RING = 13;
const STAMP_MODULO = 2 ** 17;

t.test('every interval of the window holds what a Set per interval would', async (t) => {
  for (let trial = 0; trial < 12; trial++) {
    const random = prng(Math.imul(trial + 1, 0x9e3779b9)); // spread seeds: xorshift starts low on small ones
    const pick = (n: number): number => Math.floor(random() * n);
    const universe = Array.from({ length: 3 + pick(60) }, (_, i) => `m${i}`);
    const ring = new MemberRing();
    const model = new Map<number, Set<string>>();
    const views = new Map<number, IntervalMembers>();
    // Just before a multiple of the stamp cycle, before the epoch for some trials.
    let newest = STAMP_MODULO * (pick(4) - 1) - pick(30);
    let cleared = false;
    const start = (interval: number): void => {
      // Starting the newest interval again gives a view of what it holds.
      newest = interval;
      views.set(interval, ring.startInterval(interval));
      if (!model.has(interval)) model.set(interval, new Set());
      for (const old of [...model.keys()]) {
        if (old <= interval - RING) {
          model.delete(old);
          views.delete(old);
        }
      }
    };
    const first = newest;
    start(newest);
    let mismatches = 0;
    for (let step = 0; step < 3000; step++) {
      const roll = random();
      if (roll < 0.08) {
        start(newest + (random() < 0.1 ? RING + pick(30) : pick(4)));
      } else if (roll < 0.09 && trial % 2 === 1) {
        const interval = newest - pick(RING);
        views.get(interval)?.clear();
        model.get(interval)?.clear();
        cleared = true;
      } else {
        // Mostly the newest interval, as the registry adds; sometimes an older one of the window.
        const interval = random() < 0.8 ? newest : newest - pick(RING);
        // Skewed, so that some members come back often and others leave the ring.
        const member = universe[Math.floor(random() ** 3 * universe.length)] as string;
        views.get(interval)?.add(member);
        model.get(interval)?.add(member);
      }
      for (const [interval, expected] of model) {
        const view = views.get(interval) as IntervalMembers;
        const held = [...view].sort();
        if (view.size !== expected.size || held.join() !== [...expected].sort().join()) mismatches++;
        for (const member of universe) if (view.has(member) !== expected.has(member)) mismatches++;
      }
      const union = new Set([...model.values()].flatMap((members) => [...members]));
      if (!cleared && ring.size !== union.size) mismatches++;
    }
    t.equal(mismatches, 0, `trial ${trial}: ${universe.length} members, from interval ${first}`);
  }
});

t.test('a member is held once across the intervals it was added in, and dropped once it is older than the ring', async (t) => {
  const ring = new MemberRing();
  const first = 1_000;
  for (let k = 0; k < RING; k++) ring.startInterval(first + k).add('always');
  t.equal(ring.size, 1, 'one entry for thirteen intervals');
  for (let k = 0; k < RING; k++) t.ok(ring.has('always', first + k));
  ring.startInterval(first + RING).add('new');
  t.ok(ring.has('always', first + RING - 1), 'still held for the intervals it was added in');
  t.notOk(ring.has('always', first + RING), 'not for the new one');
  ring.startInterval(first + 2 * RING - 1);
  t.equal(ring.size, 1, "'always' is dropped once its latest add is thirteen intervals old");
  t.notOk(ring.has('always', first + RING - 1));
});

t.test('a start a whole stamp cycle later finds nothing from before', async (t) => {
  const ring = new MemberRing();
  ring.startInterval(5).add('a');
  const later = ring.startInterval(5 + STAMP_MODULO);
  t.equal(ring.size, 0);
  t.notOk(later.has('a'), 'the same stamp modulo the cycle does not bring it back');
  later.add('a');
  t.equal(later.size, 1);
  ring.clear();
  t.equal(ring.size, 0, 'clear empties the ring');
  t.equal(ring.startInterval(3).size, 0, 'and lets it start again at an earlier interval');
});

t.test('a set partial over a ring interval counts adds and distinct members like one over a Set', async (t) => {
  const ring = new MemberRing();
  const inRing = new SetPartial(ring.startInterval(40));
  const alone = new SetPartial();
  for (const member of ['a', 'b', 'a', 'c', 'b']) {
    inRing.add(member);
    alone.add(member);
  }
  t.equal(inRing.count, alone.count);
  t.equal(inRing.members.size, 3);
  t.same([...inRing.members].sort(), [...alone.members].sort());
  const merged = new SetPartial();
  merged.merge(inRing);
  merged.merge(new SetPartial(ring.startInterval(41)));
  t.same([...merged.members].sort(), ['a', 'b', 'c'], 'merging reads the interval through the ring');
  inRing.reset();
  t.equal(inRing.members.size, 0, 'reset empties the interval');
  t.equal(ring.size, 0, 'and the ring, which held nothing else');
});
