import fc from 'fast-check';
import t from 'tap';
import { MemberSet } from '../../src/aggregate/member-set.js';

// MemberSet against a native Set on random runs of adds and clears: members
// from a small alphabet (a slot refilled with the same members, whose stale
// entries are reused) and from a large one (members that keep changing, which
// make the set start a new table).

type Op = { add: string } | { clear: true };

const op = (alphabet: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 9, arbitrary: fc.integer({ min: 0, max: alphabet - 1 }).map((n) => ({ add: `m${n}` })) },
    { weight: 1, arbitrary: fc.constant({ clear: true as const }) },
  );

for (const alphabet of [8, 100_000]) {
  t.test(`behaves as a Set over ${alphabet} possible members`, async (t) => {
    fc.assert(
      fc.property(fc.array(op(alphabet), { maxLength: 600 }), (ops) => {
        const members = new MemberSet();
        const reference = new Set<string>();
        for (const step of ops) {
          if ('add' in step) {
            members.add(step.add);
            reference.add(step.add);
          } else {
            members.clear();
            reference.clear();
          }
          if (members.size !== reference.size) return false;
        }
        for (let n = 0; n < Math.min(alphabet, 50); n++) {
          if (members.has(`m${n}`) !== reference.has(`m${n}`)) return false;
        }
        return JSON.stringify([...members].sort()) === JSON.stringify([...reference].sort());
      }),
      { numRuns: 200 },
    );
  });
}

t.test('a member added again after a clear is present once, and absent ones are not listed', async (t) => {
  const members = new MemberSet();
  members.add('a');
  members.add('b');
  members.clear();
  t.equal(members.size, 0);
  t.notOk(members.has('a'));
  t.same([...members], []);
  members.add('b');
  members.add('b');
  t.equal(members.size, 1);
  t.ok(members.has('b'));
  t.notOk(members.has('a'));
  t.same([...members], ['b']);
});
