import t from 'tap';
import { parseDecimal } from '../../src/ingest/number.js';

const parse = (text: string): number => {
  const buf = Buffer.from(`x${text}y`);
  return parseDecimal(buf, 1, buf.length - 1);
};

t.test('accepts decimal syntax and matches Number() exactly', async (t) => {
  const cases = ['0', '1', '-2', '+4', '1.5', '0.1', '.5', '5.', '153', '1e2', '1E-3', '2.5e+3', ' 7 ', '123456789012345',
    '1234567890123456789', '0.000001', '-0.25', '99.99', '3.14159265358979'];
  for (const text of cases) t.equal(parse(text), Number(text), text);
});

t.test('rejects what is not a finite decimal number', async (t) => {
  for (const text of ['', ' ', 'abc', '0x10', 'Infinity', '-Infinity', 'NaN', '1e400', '-1e400', '1.2.3', '1e', '1e+', '--1', '+', '-', '.', '1a', '1 2', 'e5']) {
    t.ok(Number.isNaN(parse(text)), JSON.stringify(text));
  }
});
