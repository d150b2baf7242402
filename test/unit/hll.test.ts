import t from 'tap';
import { HLL_STANDARD_ERROR, HyperLogLog, murmur3 } from '../../src/aggregate/hll.js';
import { prng } from '../helpers/prng.js';

// The HyperLogLog behind set cardinalities across minutes: its hash against
// published MurmurHash3 vectors and a second implementation, its estimates
// against the exact cardinality, its merge against the HLL of the union, and
// its serialized forms.

const REGISTERS = 1 << 14;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/**
 * A second, deliberately different MurmurHash3 x86_32 (seed 0): 32-bit
 * products by 16-bit halves instead of Math.imul, blocks read with DataView,
 * the tail as a little-endian number. Only used to cross-check the one under test.
 */
function referenceMurmur3(bytes: Uint8Array): number {
  const mul32 = (a: number, b: number): number => ((a & 0xffff) * b + ((((a >>> 16) * b) & 0xffff) << 16)) >>> 0;
  const rotl = (x: number, r: number): number => ((x << r) | (x >>> (32 - r))) >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nblocks = Math.floor(bytes.length / 4);
  let h1 = 0;
  for (let block = 0; block < nblocks; block++) {
    let k1 = view.getUint32(block * 4, true);
    k1 = mul32(k1, c1);
    k1 = rotl(k1, 15);
    k1 = mul32(k1, c2);
    h1 = (h1 ^ k1) >>> 0;
    h1 = rotl(h1, 13);
    h1 = (mul32(h1, 5) + 0xe6546b64) >>> 0;
  }
  const tail = nblocks * 4;
  const tailLength = bytes.length - tail;
  if (tailLength > 0) {
    // The tail bytes, little-endian, as a number.
    let k1 = 0;
    for (let i = tailLength - 1; i >= 0; i--) k1 = k1 * 256 + (bytes[tail + i] as number);
    k1 = mul32(k1, c1);
    k1 = rotl(k1, 15);
    k1 = mul32(k1, c2);
    h1 = (h1 ^ k1) >>> 0;
  }
  h1 = (h1 ^ bytes.length) >>> 0;
  h1 = (h1 ^ (h1 >>> 16)) >>> 0;
  h1 = mul32(h1, 0x85ebca6b);
  h1 = (h1 ^ (h1 >>> 13)) >>> 0;
  h1 = mul32(h1, 0xc2b2ae35);
  h1 = (h1 ^ (h1 >>> 16)) >>> 0;
  return h1;
}

function hllOf(members: Iterable<string>): HyperLogLog {
  const hll = new HyperLogLog();
  for (const member of members) hll.add(member);
  return hll;
}

function range(from: number, to: number, prefix = 'member-'): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(`${prefix}${i}`);
  return out;
}

/** A copy, so merge (which mutates its receiver) can be applied freely. */
function clone(hll: HyperLogLog): HyperLogLog {
  return new HyperLogLog(hll.registers.slice());
}

function nonZero(hll: HyperLogLog): number {
  let n = 0;
  for (const value of hll.registers) if (value !== 0) n++;
  return n;
}

t.test('murmur3 matches published MurmurHash3 x86_32 seed-0 vectors', async (t) => {
  t.equal(murmur3(utf8('')), 0);
  t.equal(murmur3(utf8('hello')), 0x248bfa47);
  t.equal(murmur3(utf8('The quick brown fox jumps over the lazy dog')), 0x2e4ff723);
  // Non-ASCII strings hashed over their UTF-8 bytes. Values computed outside this code base,
  // twice: Austin Appleby's smhasher MurmurHash3_x86_32 in C (gcc) over the UTF-8 bytes, and
  // Perl's Digest::MurmurHash3::PurePerl murmur32($string, 0), which UTF-8-encodes itself.
  // They cover a tail of 0 (32 bytes), 1 (9 bytes), 2 (2 and 6 bytes) and 3 (3 bytes) bytes.
  const vectors: [string, number, number][] = [
    ['héllo wörld — 日本語 🚀', 32, 0x7b6c0071],
    ['日本語', 9, 0xa5a47297],
    ['ü', 2, 0x7840e6aa],
    ['日本', 6, 0xc4d9f942],
    ['€', 3, 0x5b43fca5],
  ];
  for (const [text, length, expected] of vectors) {
    const bytes = utf8(text);
    t.equal(bytes.length, length, `${text} is ${length} UTF-8 bytes`);
    t.equal(murmur3(bytes), expected, `murmur3(${text})`);
    t.equal(referenceMurmur3(bytes), expected, `reference murmur3(${text})`);
  }
  // The hash is unsigned 32-bit.
  t.ok(murmur3(utf8('hello')) > 0 && murmur3(utf8('The quick brown fox jumps over the lazy dog')) <= 0xffffffff);
});

t.test('murmur3 agrees with a second implementation on random byte strings of every length', async (t) => {
  const random = prng(0x5eed);
  let mismatches = 0;
  for (let length = 0; length < 64; length++) {
    for (let round = 0; round < 20; round++) {
      const bytes = new Uint8Array(length);
      for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
      if (murmur3(bytes) !== referenceMurmur3(bytes)) mismatches++;
    }
  }
  t.equal(mismatches, 0);
  // A view into a larger buffer hashes only its own bytes.
  const backing = utf8('xxhelloyy');
  t.equal(murmur3(backing.subarray(2, 7)), 0x248bfa47);
});

t.test('add sets the register the hash of the UTF-8 bytes selects to the rank of the remainder', async (t) => {
  for (const member of ['a', 'hello', 'ünïcödé-ключ-🚀', '']) {
    const hll = hllOf([member]);
    const hash = murmur3(utf8(member));
    const index = Math.floor(hash / 2 ** 18);
    const remainder = hash % 2 ** 18;
    // Rank: position of the first 1 bit in the 18-bit remainder, 19 when it is all zeros.
    let rank = 1;
    while (rank <= 18 && (remainder & (1 << (18 - rank))) === 0) rank++;
    t.equal(hll.registers[index], rank, `register of ${JSON.stringify(member)}`);
    t.equal(nonZero(hll), 1, 'exactly one register set');
  }
  // A register keeps the largest rank seen.
  const full = new HyperLogLog(new Uint8Array(REGISTERS).fill(19));
  for (const member of range(0, 5000)) full.add(member);
  t.ok(full.registers.every((value) => value === 19), 'a lower rank never replaces a higher one');
  const later = hllOf(range(0, 5000));
  const grown = hllOf(range(0, 5000));
  for (const member of range(5000, 10000)) grown.add(member);
  t.ok(later.registers.every((value, i) => (grown.registers[i] as number) >= value), 'registers only grow');
});

t.test('estimates are within 4 standard errors, exact for 0 and 1', async (t) => {
  t.equal(new HyperLogLog().estimate(), 0, 'empty');
  t.equal(hllOf(['only']).estimate(), 1, 'one member');
  t.equal(hllOf(['ü']).estimate(), 1, 'one non-ASCII member');
  for (const n of [10, 1000, 20000, 200000]) {
    const estimate = hllOf(range(0, n, 'user:')).estimate();
    const error = Math.abs(estimate - n) / n;
    t.ok(error <= 4 * HLL_STANDARD_ERROR, `n=${n}: estimate ${estimate}, relative error ${error.toFixed(5)}`);
  }
  for (const n of [1000, 20000, 200000]) {
    const estimate = hllOf(range(0, n, 'member-')).estimate();
    const error = Math.abs(estimate - n) / n;
    t.ok(error <= 4 * HLL_STANDARD_ERROR, `n=${n} (second member set): estimate ${estimate}, relative error ${error.toFixed(5)}`);
  }
  // At n = 10, 4 standard errors is 0.32 members: the estimate must be exact, which an HLL
  // can only be while no two members share a register. user:0..9 occupy 10 registers.
  t.equal(nonZero(hllOf(range(0, 10, 'user:'))), 10, 'user:0..9 fall in 10 distinct registers');
  // member-0 and member-7 share register 4005 (murmur3 >>> 18): a tiny set is then exact in
  // its occupied registers, one short of the truth, as any 2^14-register HLL would be.
  const colliding = hllOf(range(0, 10, 'member-'));
  t.equal(nonZero(colliding), 9, 'member-0..9 fall in 9 registers');
  t.equal(colliding.estimate(), 9, 'and the estimate counts the occupied registers');
  // Small sets without collisions are exact, one by one.
  const growing = new HyperLogLog();
  for (let i = 0; i < 40; i++) {
    growing.add(`user:${i}`);
    if (nonZero(growing) === i + 1) t.equal(growing.estimate(), i + 1, `exact at ${i + 1}`);
  }
  t.ok(Math.abs(HLL_STANDARD_ERROR - 1.04 / 128) < 1e-12, 'standard error of 2^14 registers');
});

t.test('adding duplicates changes neither the registers nor the estimate', async (t) => {
  for (const n of [3, 1000, 20000]) {
    const members = range(0, n);
    const once = hllOf(members);
    const twice = hllOf(members);
    for (const member of members) twice.add(member);
    for (const member of [...members].reverse()) twice.add(member);
    t.same(twice.registers, once.registers, `n=${n}: registers`);
    t.equal(twice.estimate(), once.estimate(), `n=${n}: estimate`);
  }
  t.equal(hllOf(['x', 'x', 'x', 'y', 'y']).estimate(), 2);
});

t.test('merge equals the HLL of the union and is commutative, associative and idempotent', async (t) => {
  const a = hllOf(range(0, 15000));
  const b = hllOf(range(10000, 25000));
  const c = hllOf(range(20000, 40000));
  const unionAB = hllOf(range(0, 25000));
  const unionABC = hllOf(range(0, 40000));

  const ab = clone(a);
  ab.merge(b);
  t.same(ab.registers, unionAB.registers, 'a ∪ b equals the HLL of the union');
  t.ok(Math.abs(ab.estimate() - 25000) <= 4 * HLL_STANDARD_ERROR * 25000, `union estimate ${ab.estimate()}`);

  const ba = clone(b);
  ba.merge(a);
  t.same(ba.registers, ab.registers, 'commutative');

  const abThenC = clone(ab);
  abThenC.merge(c);
  const bc = clone(b);
  bc.merge(c);
  const aThenBC = clone(a);
  aThenBC.merge(bc);
  t.same(abThenC.registers, aThenBC.registers, 'associative');
  t.same(abThenC.registers, unionABC.registers, 'three-way merge equals the HLL of the union');

  const aa = clone(a);
  aa.merge(a);
  t.same(aa.registers, a.registers, 'idempotent');
  const withEmpty = clone(a);
  withEmpty.merge(new HyperLogLog());
  t.same(withEmpty.registers, a.registers, 'the empty HLL is the identity');

  // merge changes only its receiver.
  const bBefore = b.registers.slice();
  const receiver = clone(a);
  receiver.merge(b);
  t.same(b.registers, bBefore, 'the argument is left alone');

  // Disjoint small sets merge to their exact total.
  const small = hllOf(['a', 'b', 'c']);
  small.merge(hllOf(['c', 'd']));
  t.equal(small.estimate(), 4);
});

t.test('encode/decode round-trips the sparse and the dense form; sparse is smaller', async (t) => {
  const empty = new HyperLogLog().encode();
  t.same([...empty], [2], 'the empty HLL is one sparse format byte');
  t.equal(HyperLogLog.decode(empty).estimate(), 0);

  const few = hllOf(range(0, 10, 'user:'));
  const sparse = few.encode();
  t.equal(sparse[0], 2, 'few members: sparse');
  t.equal(sparse.length, 1 + 3 * nonZero(few), 'three bytes per non-zero register');
  const fewBack = HyperLogLog.decode(sparse);
  t.same(fewBack.registers, few.registers, 'sparse round-trip');
  t.equal(fewBack.estimate(), 10);

  const many = hllOf(range(0, 20000));
  const dense = many.encode();
  t.equal(dense[0], 1, 'many members: dense');
  t.equal(dense.length, REGISTERS + 1);
  const manyBack = HyperLogLog.decode(dense);
  t.same(manyBack.registers, many.registers, 'dense round-trip');
  t.equal(manyBack.estimate(), many.estimate());

  t.ok(sparse.length < dense.length, `sparse ${sparse.length} B < dense ${dense.length} B`);

  // The switch-over: sparse while it is smaller than the dense form.
  // Dense from the start, so that the test can write the registers.
  const below = new HyperLogLog(new Uint8Array(REGISTERS));
  const at = new HyperLogLog(new Uint8Array(REGISTERS));
  const threshold = Math.ceil(REGISTERS / 3); // 5462 non-zero registers: 3 × 5462 ≥ 16384
  for (let i = 0; i < threshold - 1; i++) below.registers[i * 3] = (i % 19) + 1;
  for (let i = 0; i < threshold; i++) at.registers[i * 3] = (i % 19) + 1;
  const belowBytes = below.encode();
  const atBytes = at.encode();
  t.equal(belowBytes[0], 2, `${threshold - 1} registers: sparse`);
  t.ok(belowBytes.length < REGISTERS + 1, 'and smaller than dense');
  t.equal(atBytes[0], 1, `${threshold} registers: dense`);
  t.same(HyperLogLog.decode(belowBytes).registers, below.registers);
  t.same(HyperLogLog.decode(atBytes).registers, at.registers);

  // The highest register index and the highest rank survive the sparse form.
  const edges = new HyperLogLog(new Uint8Array(REGISTERS));
  edges.registers[REGISTERS - 1] = 19;
  edges.registers[256] = 1;
  t.same(HyperLogLog.decode(edges.encode()).registers, edges.registers);

  // What SQLite hands back is a Buffer: it decodes the same.
  t.same([...HyperLogLog.decode(Buffer.from(dense)).registers], [...many.registers], 'dense from a Buffer');
  t.same([...HyperLogLog.decode(Buffer.from(sparse)).registers], [...few.registers], 'sparse from a Buffer');

  // Decoding a Uint8Array copies: the decoded HLL does not alias the bytes.
  const decoded = HyperLogLog.decode(dense);
  decoded.merge(hllOf(range(100000, 200000)));
  t.same(HyperLogLog.decode(dense).registers, many.registers, 'the encoded bytes are unchanged by a merge');
});

t.test('kept sparse while few registers are occupied, the same HLL as the dense form in every operation', async (t) => {
  const denseOf = (members: Iterable<string>): HyperLogLog => {
    const hll = new HyperLogLog(new Uint8Array(REGISTERS));
    for (const member of members) hll.add(member);
    return hll;
  };
  // 2048 occupied registers is where the sparse form gives way: around 2200 members.
  for (const n of [0, 1, 100, 2000, 2300, 5000, 50000]) {
    const members = range(0, n, 'm');
    const sparse = hllOf(members);
    const dense = denseOf(members);
    t.same(sparse.registers, dense.registers, `n=${n}: registers`);
    t.equal(sparse.estimate(), dense.estimate(), `n=${n}: estimate`);
    t.same(sparse.encode(), dense.encode(), `n=${n}: encoding`);
    t.same(HyperLogLog.decode(sparse.encode()).registers, dense.registers, `n=${n}: decoded`);

    // Merging across forms, both ways, equals the HLL of the union.
    const others = range(n, n + 1500, 'm');
    const union = denseOf([...members, ...others]).registers;
    const sparseIntoDense = denseOf(members);
    sparseIntoDense.merge(hllOf(others));
    const denseIntoSparse = hllOf(others);
    denseIntoSparse.merge(dense);
    const sparseIntoSparse = hllOf(members);
    sparseIntoSparse.merge(hllOf(others));
    t.same(sparseIntoDense.registers, union, `n=${n}: sparse merged into dense`);
    t.same(denseIntoSparse.registers, union, `n=${n}: dense merged into sparse`);
    t.same(sparseIntoSparse.registers, union, `n=${n}: sparse merged into sparse`);
  }
});

t.test('decode rejects garbage with an error', async (t) => {
  const garbage: [string, Uint8Array][] = [
    ['no bytes', new Uint8Array(0)],
    ['unknown format 0', Uint8Array.from([0, 1, 2, 3])],
    ['unknown format 3', Uint8Array.from([3, 0, 0, 1])],
    ['dense, one register short', new Uint8Array(REGISTERS).fill(1, 0, 1)],
    ['dense, one byte too many', new Uint8Array(REGISTERS + 2).fill(1, 0, 1)],
    ['sparse, truncated triple', Uint8Array.from([2, 0, 0])],
    ['sparse, two bytes of a triple', Uint8Array.from([2, 5, 0, 3, 7, 0])],
    ['text', utf8('not an hll at all')],
    ['a sketch-like blob', Uint8Array.from([1, 0, 3, 0x80, 0x01, 1, 1, 1])],
  ];
  for (const [label, bytes] of garbage) {
    t.throws(() => HyperLogLog.decode(bytes), { message: /not a dattss HyperLogLog/ }, label);
  }
});

t.test('decode rejects well-framed bytes that no HyperLogLog could have encoded', async (t) => {
  // Register indexes run 0..16383 and ranks 0..19 (18 remainder bits + 1): anything else is
  // corruption, which would otherwise decode silently into a wrong estimate.
  const dense = hllOf(range(0, 20000)).encode();
  const denseBadRank = dense.slice();
  denseBadRank[1234] = 20;
  const impossible: [string, Uint8Array][] = [
    ['sparse, register index 16384', Uint8Array.from([2, 0x00, 0x40, 1])],
    ['sparse, register index 65535', Uint8Array.from([2, 0xff, 0xff, 5])],
    ['sparse, rank 20', Uint8Array.from([2, 0x10, 0x00, 20])],
    ['sparse, rank 255 after a valid triple', Uint8Array.from([2, 0x01, 0x00, 3, 0x02, 0x00, 255])],
    ['dense, rank 20', denseBadRank],
  ];
  for (const [label, bytes] of impossible) {
    t.throws(() => HyperLogLog.decode(bytes), { message: /not a dattss HyperLogLog/ }, label);
  }
  // The extremes themselves are valid.
  const edges = HyperLogLog.decode(Uint8Array.from([2, 0xff, 0x3f, 19, 0x00, 0x00, 1]));
  t.equal(edges.registers[16383], 19);
  t.equal(edges.registers[0], 1);
});
