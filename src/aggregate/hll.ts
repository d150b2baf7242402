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
const MAX_RANK = RANK_BITS + 1;
const DENSE = 1;
const SPARSE = 2;
/**
 * Up to this many occupied registers an HLL is kept as (index → rank)
 * pairs: a set of a few hundred members is merged, estimated and encoded
 * in time proportional to its members instead of 16384 registers each time,
 * which is most of what writing a set's hour and day rows costs.
 */
const SPARSE_MAX = 2048;

export const HLL_STANDARD_ERROR = 1.04 / Math.sqrt(REGISTERS);

export class HyperLogLog {
  /** Exactly one of the two holds the registers. */
  #dense: Uint8Array | null = null;
  #sparse: Map<number, number> | null = null;

  /** Empty, or over the given registers (kept, not copied). */
  constructor(registers?: Uint8Array) {
    if (registers === undefined) this.#sparse = new Map();
    else this.#dense = registers;
  }

  /** All 16384 registers; a fresh array while the HLL is sparse, so read it, do not write it. */
  get registers(): Uint8Array {
    if (this.#dense !== null) return this.#dense;
    const registers = new Uint8Array(REGISTERS);
    for (const [index, rank] of this.#sparse as Map<number, number>) registers[index] = rank;
    return registers;
  }

  add(member: string): void {
    const hash = murmur3(utf8.encode(member));
    const remainder = hash & ((1 << RANK_BITS) - 1);
    this.#raise(hash >>> RANK_BITS, remainder === 0 ? MAX_RANK : Math.clz32(remainder) - PRECISION + 1);
  }

  merge(other: HyperLogLog): void {
    if (other.#sparse !== null) {
      for (const [index, rank] of other.#sparse) this.#raise(index, rank);
      return;
    }
    const mine = this.#densify();
    const theirs = other.#dense as Uint8Array;
    for (let i = 0; i < REGISTERS; i++) {
      if ((theirs[i] as number) > (mine[i] as number)) mine[i] = theirs[i] as number;
    }
  }

  estimate(): number {
    const histogram = new Array<number>(MAX_RANK + 1).fill(0);
    if (this.#sparse !== null) {
      histogram[0] = REGISTERS - this.#sparse.size;
      for (const rank of this.#sparse.values()) histogram[rank] = (histogram[rank] as number) + 1;
    } else {
      const registers = this.#dense as Uint8Array;
      for (let i = 0; i < REGISTERS; i++) {
        const rank = registers[i] as number;
        histogram[rank] = (histogram[rank] as number) + 1;
      }
    }
    const m = REGISTERS;
    let z = m * tau(1 - (histogram[MAX_RANK] as number) / m);
    for (let k = RANK_BITS; k >= 1; k--) z = 0.5 * (z + (histogram[k] as number));
    z += m * sigma((histogram[0] as number) / m);
    return Math.round((m * m) / (2 * Math.LN2 * z));
  }

  encode(): Uint8Array {
    const occupied = this.#occupied();
    if (occupied.length * 3 >= REGISTERS) {
      const out = new Uint8Array(REGISTERS + 1);
      out[0] = DENSE;
      out.set(this.registers, 1);
      return out;
    }
    const out = new Uint8Array(1 + occupied.length * 3);
    out[0] = SPARSE;
    let at = 1;
    for (const index of occupied) {
      out[at++] = index & 0xff;
      out[at++] = index >>> 8;
      out[at++] = this.#rankAt(index);
    }
    return out;
  }

  static decode(bytes: Uint8Array): HyperLogLog {
    if (bytes[0] === DENSE && bytes.length === REGISTERS + 1) {
      let valid = true;
      for (let at = 1; at < bytes.length; at++) if ((bytes[at] as number) > MAX_RANK) valid = false;
      if (valid) return new HyperLogLog(new Uint8Array(bytes.subarray(1))); // a copy: Buffer.slice would share memory
    } else if (bytes[0] === SPARSE && (bytes.length - 1) % 3 === 0) {
      const hll = new HyperLogLog();
      let valid = true;
      for (let at = 1; at < bytes.length; at += 3) {
        const index = (bytes[at] as number) | ((bytes[at + 1] as number) << 8);
        const rank = bytes[at + 2] as number;
        if (index >= REGISTERS || rank > MAX_RANK) valid = false;
        else hll.#raise(index, rank);
      }
      if (valid) return hll;
    }
    throw new Error(`not a dattss HyperLogLog (format ${bytes[0]}, ${bytes.length} bytes)`);
  }

  /** Sets register `index` to `rank` if that is higher; past SPARSE_MAX pairs, switches to dense. */
  #raise(index: number, rank: number): void {
    if (this.#dense !== null) {
      if (rank > (this.#dense[index] as number)) this.#dense[index] = rank;
      return;
    }
    const sparse = this.#sparse as Map<number, number>;
    if (rank <= (sparse.get(index) ?? 0)) return;
    sparse.set(index, rank);
    if (sparse.size > SPARSE_MAX) this.#densify();
  }

  #densify(): Uint8Array {
    if (this.#dense === null) {
      this.#dense = this.registers;
      this.#sparse = null;
    }
    return this.#dense;
  }

  #rankAt(index: number): number {
    return this.#dense !== null ? (this.#dense[index] as number) : (this.#sparse?.get(index) ?? 0);
  }

  /** The indices of the non-zero registers, ascending. */
  #occupied(): Uint16Array {
    if (this.#sparse !== null) return Uint16Array.from(this.#sparse.keys()).sort();
    const registers = this.#dense as Uint8Array;
    let count = 0;
    for (let i = 0; i < REGISTERS; i++) if (registers[i] !== 0) count++;
    const occupied = new Uint16Array(count);
    for (let i = 0, at = 0; i < REGISTERS; i++) if (registers[i] !== 0) occupied[at++] = i;
    return occupied;
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
