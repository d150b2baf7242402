/**
 * HyperLogLog for set cardinalities across minutes. Within a minute a set is
 * exact (its members are kept); hours and days union HLLs, whose merge is a
 * register-wise max and therefore exact, associative and order-free.
 *
 * 2^14 registers: standard error 1.04/√16384 ≈ 0.81%. The estimate uses
 * Ertl's improved estimator ("New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017), which needs no empirical bias tables and is
 * unbiased from one member to billions, so there is no switch-over bump
 * between linear counting and the raw estimate. The hash is MurmurHash3
 * (x86, 32-bit) of the member's UTF-8 bytes.
 *
 * Serialized form: byte 0 is the format (1 = dense: 16384 register bytes
 * follow; 2 = sparse: (uint16 LE index, uint8 value) triples of the non-zero
 * registers), so small sets stay small on disk.
 */
const PRECISION = 14;
const REGISTERS = 1 << PRECISION;
/** Hash bits left after the register index: ranks run 1..RANK_BITS + 1. */
const RANK_BITS = 32 - PRECISION;
const DENSE = 1;
const SPARSE = 2;

export const HLL_STANDARD_ERROR = 1.04 / Math.sqrt(REGISTERS);

export class HyperLogLog {
  readonly registers: Uint8Array;

  constructor(registers: Uint8Array = new Uint8Array(REGISTERS)) {
    this.registers = registers;
  }

  add(member: string): void {
    const hash = murmur3(utf8.encode(member));
    const index = hash >>> RANK_BITS;
    const remainder = hash & ((1 << RANK_BITS) - 1);
    const rank = remainder === 0 ? RANK_BITS + 1 : Math.clz32(remainder) - PRECISION + 1;
    if (rank > (this.registers[index] as number)) this.registers[index] = rank;
  }

  merge(other: HyperLogLog): void {
    const mine = this.registers;
    const theirs = other.registers;
    for (let i = 0; i < REGISTERS; i++) {
      if ((theirs[i] as number) > (mine[i] as number)) mine[i] = theirs[i] as number;
    }
  }

  estimate(): number {
    const histogram = new Array<number>(RANK_BITS + 2).fill(0);
    for (let i = 0; i < REGISTERS; i++) {
      const rank = this.registers[i] as number;
      histogram[rank] = (histogram[rank] as number) + 1;
    }
    const m = REGISTERS;
    let z = m * tau(1 - (histogram[RANK_BITS + 1] as number) / m);
    for (let k = RANK_BITS; k >= 1; k--) z = 0.5 * (z + (histogram[k] as number));
    z += m * sigma((histogram[0] as number) / m);
    return Math.round((m * m) / (2 * Math.LN2 * z));
  }

  encode(): Uint8Array {
    let nonZero = 0;
    for (let i = 0; i < REGISTERS; i++) if (this.registers[i] !== 0) nonZero++;
    if (nonZero * 3 >= REGISTERS) {
      const out = new Uint8Array(REGISTERS + 1);
      out[0] = DENSE;
      out.set(this.registers, 1);
      return out;
    }
    const out = new Uint8Array(1 + nonZero * 3);
    out[0] = SPARSE;
    let at = 1;
    for (let i = 0; i < REGISTERS; i++) {
      const value = this.registers[i] as number;
      if (value === 0) continue;
      out[at++] = i & 0xff;
      out[at++] = i >>> 8;
      out[at++] = value;
    }
    return out;
  }

  static decode(bytes: Uint8Array): HyperLogLog {
    if (bytes[0] === DENSE && bytes.length === REGISTERS + 1) {
      let valid = true;
      for (let at = 1; at < bytes.length; at++) if ((bytes[at] as number) > RANK_BITS + 1) valid = false;
      if (valid) return new HyperLogLog(new Uint8Array(bytes.subarray(1))); // a copy: Buffer.slice would share memory
    } else if (bytes[0] === SPARSE && (bytes.length - 1) % 3 === 0) {
      const registers = new Uint8Array(REGISTERS);
      let valid = true;
      for (let at = 1; at < bytes.length; at += 3) {
        const index = (bytes[at] as number) | ((bytes[at + 1] as number) << 8);
        const rank = bytes[at + 2] as number;
        if (index >= REGISTERS || rank > RANK_BITS + 1) valid = false;
        registers[index] = rank;
      }
      if (valid) return new HyperLogLog(registers);
    }
    throw new Error(`not a dattss HyperLogLog (format ${bytes[0]}, ${bytes.length} bytes)`);
  }
}

const utf8 = new TextEncoder();

function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === previous) return z / 3;
  }
}

/** MurmurHash3 x86 32-bit, seed 0. */
export function murmur3(bytes: Uint8Array): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 0;
  const blocks = bytes.length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k =
      (bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = bytes.length & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= (bytes[blocks + 2] as number) << 16;
    if (tail >= 2) k ^= (bytes[blocks + 1] as number) << 8;
    k ^= bytes[blocks] as number;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
