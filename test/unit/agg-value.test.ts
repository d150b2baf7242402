import t from 'tap';
import { parseAggValue } from '../../src/client/agg-value.js';

// The DaTtSs value grammar of agg() (docs/client.md, "Values"), row by row.
const ROWS: [string, unknown][] = [
  ['153ms', { type: 'timer', value: 153, delta: false }],
  ['1.5ms', { type: 'timer', value: 1.5 }],
  ['1c', { type: 'counter', value: 1 }],
  ['-4c', { type: 'counter', value: -4 }],
  ['2c!', { type: 'counter', value: 2 }],
  ['23g', { type: 'gauge', value: 23, delta: false }],
  ['+3g', { type: 'gauge', value: 3, delta: true }],
  ['-2g', { type: 'gauge', value: -2, delta: true }],
  ['1e3ms', { type: 'timer', value: 1000 }],
  ['user42s', { type: 'set', member: 'user42' }],
  ['12s', { type: 'set', member: '12' }],
  ['items', { type: 'set', member: 'item' }],
  [' bob s!', { type: 'set', member: 'bob' }],
  ['-5ms', /negative timer/],
  ['1.5.5ms', /not a timer/],
  ['ms', /not a timer/],
  ['12msfoo', /not a DaTtSs value/],
  ['12', /not a DaTtSs value/],
  ['0x10c', /not a DaTtSs value/],
  ['1e400g', /out of range/],
  ['s', /empty set member/],
  ['a:bs', /set member contains/],
];

for (const [text, expected] of ROWS) {
  const result = parseAggValue(text);
  if (expected instanceof RegExp) t.match(result, expected, JSON.stringify(text));
  else t.match(result, expected as object, JSON.stringify(text));
}
