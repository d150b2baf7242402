import t from 'tap';
import { LineKeys } from '../../src/ingest/line-keys.js';

// The parser's table of names and tag sets by their raw bytes: what it finds,
// what it keeps apart, and that it stays right as it grows and starts over.

/** The key of a whole-buffer name, with an optional tag field after a `|#`. */
function key(name: string, field = ''): [Buffer, number, number, number, number] {
  const buf = Buffer.from(`${name}:1|c|#${field}`);
  const fieldStart = name.length + 6;
  return [buf, 0, name.length, fieldStart, fieldStart + field.length];
}

/** Finds the key, adding it (with the given strings) when absent; returns its id. */
function findOrAdd(keys: LineKeys, name: string, field = '', tags = field): number {
  const found = keys.find(...key(name, field));
  return found !== -1 ? found : keys.add(...key(name, field), name, tags);
}

t.test('a key added is found again, from any buffer and offset, with its strings', async (t) => {
  const keys = new LineKeys(100);
  const [buf, ...ranges] = key('api.hits', 'env:prod');
  t.equal(keys.find(buf, ...ranges), -1, 'not held yet');
  const id = keys.add(buf, ...ranges, 'api.hits', 'env:prod');
  t.equal(id, 0, 'the first id');
  t.equal(keys.size, 1);
  const elsewhere = Buffer.concat([Buffer.from('xx\nother:1|c\n'), buf]);
  const offset = 13;
  t.equal(keys.find(elsewhere, offset, offset + 8, offset + ranges[2], offset + ranges[3]), id, 'the same bytes at another offset');
  t.equal(keys.names[id], 'api.hits');
  t.equal(keys.tags[id], 'env:prod');
});

t.test('keys differing only in where the name ends, or in one byte, are apart', async (t) => {
  const keys = new LineKeys(100);
  const ids = [findOrAdd(keys, 'a', 'bc'), findOrAdd(keys, 'ab', 'c'), findOrAdd(keys, 'abc'), findOrAdd(keys, 'abd'), findOrAdd(keys, 'ab', 'd')];
  t.strictSame(ids, [0, 1, 2, 3, 4], 'five keys, five ids');
  t.strictSame([findOrAdd(keys, 'a', 'bc'), findOrAdd(keys, 'abc'), findOrAdd(keys, 'ab', 'd')], [0, 2, 4], 'each found again');
});

t.test('growing past the first room keeps every key and its id', async (t) => {
  const keys = new LineKeys(100_000);
  const names = Array.from({ length: 5000 }, (_, i) => `series.${i}.with.a.longer.name`);
  const ids = names.map((name) => findOrAdd(keys, name, i(name)));
  t.strictSame(ids, names.map((_, n) => n), 'ids in order');
  const missing = names.filter((name, n) => keys.find(...key(name, i(name))) !== n || keys.names[n] !== name);
  t.strictSame(missing, [], 'all found with their names after several doublings');
  t.equal(keys.size, 5000);
});

/** A tag field that varies with the name, so that keys have both ranges. */
function i(name: string): string {
  return name.length % 2 === 0 ? 'env:prod' : '';
}

t.test('at maxKeys the table starts over, giving ids from 0 again', async (t) => {
  const keys = new LineKeys(3);
  t.strictSame(['a', 'b', 'c'].map((name) => findOrAdd(keys, name)), [0, 1, 2]);
  t.equal(findOrAdd(keys, 'd'), 0, 'the fourth key starts a new table');
  t.equal(keys.size, 1);
  t.equal(keys.find(...key('a')), -1, 'the old keys are gone');
  t.equal(keys.names[0], 'd');
  t.equal(findOrAdd(keys, 'a'), 1, 'and come back with new ids');
});

t.test('a key longer than 1024 bytes is never held', async (t) => {
  const keys = new LineKeys(100);
  const long = 'n'.repeat(1000);
  t.equal(keys.find(...key(long, 'x'.repeat(25))), -1);
  t.equal(keys.add(...key(long, 'x'.repeat(25)), long, ''), -1, 'add refuses it');
  t.equal(keys.size, 0);
  t.equal(findOrAdd(keys, long, 'x'.repeat(24)), 0, '1024 bytes are held');
});

t.test('keys whose bytes would pass maxBytes start the table over', async (t) => {
  const keys = new LineKeys(100, 100);
  const names = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40)];
  t.strictSame(names.map((name) => findOrAdd(keys, name)), [0, 1, 0], 'the third key (120 bytes in all) starts a new table');
  t.equal(keys.find(...key(names[0] as string)), -1, 'the first is gone');
  t.equal(keys.names[0], names[2]);
  t.equal(findOrAdd(keys, 'd'.repeat(101)), -1, 'a key longer than maxBytes is not held');
  t.equal(keys.size, 1);
});
