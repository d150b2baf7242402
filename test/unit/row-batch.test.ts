import { MessageChannel } from 'node:worker_threads';
import t from 'tap';
import { CounterPartial, GaugePartial, SetPartial, TimerPartial } from '../../src/aggregate/partial.js';
import { aggregateOf, type MinuteAggregate } from '../../src/aggregate/summarize.js';
import { decodeRows, encodeRows, transferablesOf, type RowBatch } from '../../src/store/row-batch.js';
import { prng } from '../helpers/prng.js';

const TS = 1_767_225_600;

/** Rows of every type, with the values that are easy to lose on the way: nulls, -0, huge and tiny numbers, empty and odd strings. */
function rowsOf(random: () => number, n: number): MinuteAggregate[] {
  const rows: MinuteAggregate[] = [];
  const values = [0, -0, 1, -1.5, 1e300, -1e-300, 123456.789, Number.MAX_SAFE_INTEGER];
  const pick = (): number => values[Math.floor(random() * values.length)] as number;
  for (let i = 0; i < n; i++) {
    const kind = Math.floor(random() * 4);
    const name = `series.${i}.${'é✓'.repeat(i % 3)}`;
    const tags = i % 2 === 0 ? '' : `env:prod,host:h${i}`;
    const tsSec = TS + 60 * Math.floor(random() * 3);
    let row: MinuteAggregate | null;
    if (kind === 0) {
      const partial = new CounterPartial();
      partial.add(pick(), random() < 0.5 ? 1 : 0.1);
      row = aggregateOf(partial, name, tags, tsSec);
    } else if (kind === 1) {
      const partial = new TimerPartial();
      for (let v = 0; v < 1 + (i % 40); v++) partial.add(random() * 10 ** Math.floor(random() * 6), 1);
      row = aggregateOf(partial, name, tags, tsSec);
    } else if (kind === 2) {
      const partial = new GaugePartial();
      partial.add(pick(), 1_767_225_600_000 + i);
      row = aggregateOf(partial, name, tags, tsSec);
    } else {
      const partial = new SetPartial();
      for (let m = 0; m < i % 5 + 1; m++) partial.add(`member-${m}-${'ü'.repeat(m)}`);
      row = aggregateOf(partial, name, tags, tsSec);
    }
    rows.push(row as MinuteAggregate);
  }
  return rows;
}

/** A row with its sketch as a plain array, so that rows compare by value. */
function comparable(row: MinuteAggregate): unknown {
  return { ...row, sketch: row.sketch === null ? null : [...row.sketch] };
}

t.test('rows come back as they were, every field, through a MessageChannel that moves the buffers', async (t) => {
  const random = prng(7);
  const rows = rowsOf(random, 400);
  // Rows the summary does not make but the type allows: every nullable field null, and a -0.
  const first = rows[0] as MinuteAggregate;
  rows.push({ ...first, sum: null, sumSquares: null, min: null, max: null, last: null, lastAtMs: null, p50: null, p90: null, p95: null, p99: null });
  rows.push({ ...first, sum: -0, min: -0 });
  const expected = rows.map(comparable);

  const { port1, port2 } = new MessageChannel();
  const received = new Promise<RowBatch>((resolve) => port2.once('message', resolve));
  const batch = encodeRows(rows);
  port1.postMessage(batch, transferablesOf(batch));
  t.equal(batch.numbers.byteLength, 0, 'the numbers were moved, not copied');
  const decoded = decodeRows(await received);
  port1.close();
  t.same(decoded.map(comparable), expected);
  t.ok(Object.is(decoded.at(-1)?.sum, -0), 'a -0 stays -0');
});

t.test('no rows, and a batch that is not one', async (t) => {
  t.same(decodeRows(encodeRows([])), []);
  const batch = encodeRows(rowsOf(prng(1), 1));
  batch.numbers[0] = 9;
  t.throws(() => decodeRows(batch), /not a row batch: type 9/);
});
