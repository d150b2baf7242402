/**
 * The members of one set series across the intervals of its ring, each
 * member held once with the intervals it was added in. A ring of a Set per
 * interval held a member string and a hash-table entry in every interval the
 * member came back in: 17.75 KB per set series at 25 adds an interval over
 * 50 members, where this holds each of the 50 once (bench/README.md).
 *
 * An entry is one small integer, so that updating it allocates nothing:
 * the interval number of the member's latest add modulo STAMP_MODULO, shifted
 * left by RING_INTERVALS, and a bit per interval of the ring counted back from
 * it (bit k: added in the interval k before). Every interval the ring starts
 * drops the members not added within RING_INTERVALS of it, so the stamps of
 * those that stay are at most RING_INTERVALS - 1 apart and the modulo never
 * makes one look newer than it is.
 */

/** Intervals a ring holds: its series' thirteen slots (aggregate/series.ts). */
const RING_INTERVALS = 13;
const BITS = (1 << RING_INTERVALS) - 1;
/** Stamps wrap here (7.6 days of 5-second intervals), which keeps an entry below 2^30, a V8 small integer. */
const STAMP_MODULO = 1 << 17;

export class MemberRing {
  readonly #entries = new Map<string, number>();
  /** The newest interval started; NaN before any. */
  #newest = Number.NaN;

  /**
   * The members of interval number `interval` (its start in ms / 5000), as
   * its slot's partial holds them. An interval newer than any before starts
   * empty and drops the members that have left the ring.
   */
  startInterval(interval: number): IntervalMembers {
    if (interval <= this.#newest) return new IntervalMembers(this, interval, this.membersOf(interval).length);
    if (interval - this.#newest < RING_INTERVALS) this.#forgetBefore(interval);
    else this.#entries.clear();
    this.#newest = interval;
    return new IntervalMembers(this, interval, 0);
  }

  /** Distinct members held across the ring's intervals. */
  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
    this.#newest = Number.NaN;
  }

  has(member: string, interval: number): boolean {
    const entry = this.#entries.get(member);
    return entry !== undefined && holds(entry, stampOf(interval));
  }

  /** Records `member` in `interval`; true when it is new to that interval. */
  add(member: string, interval: number): boolean {
    const stamp = stampOf(interval);
    const entry = this.#entries.get(member);
    if (entry === undefined) {
      this.#entries.set(member, (stamp << RING_INTERVALS) | 1);
      return true;
    }
    const ahead = wrap(stamp - (entry >>> RING_INTERVALS));
    if (ahead < RING_INTERVALS) {
      // The entry moves its stamp to `interval` and shifts its bits along; older bits fall off.
      const bits = ((entry & BITS) << ahead) & BITS;
      if ((bits & 1) !== 0) return false;
      this.#entries.set(member, (stamp << RING_INTERVALS) | bits | 1);
      return true;
    }
    const back = STAMP_MODULO - ahead;
    if (back < RING_INTERVALS) {
      // An older interval of the ring than the member's latest add.
      if ((entry & (1 << back)) !== 0) return false;
      this.#entries.set(member, entry | (1 << back));
      return true;
    }
    // The latest add is out of the ring's reach either way, so the entry holds none of its intervals.
    this.#entries.set(member, (stamp << RING_INTERVALS) | 1);
    return true;
  }

  /** Removes `member` from `interval`. */
  delete(member: string, interval: number): void {
    const stamp = stampOf(interval);
    const entry = this.#entries.get(member);
    if (entry === undefined || !holds(entry, stamp)) return;
    const remaining = entry & ~(1 << wrap((entry >>> RING_INTERVALS) - stamp));
    if ((remaining & BITS) === 0) this.#entries.delete(member);
    else this.#entries.set(member, remaining);
  }

  /** The members of `interval`, in a new array. */
  membersOf(interval: number): string[] {
    const stamp = stampOf(interval);
    const members: string[] = [];
    this.#entries.forEach((entry, member) => {
      if (holds(entry, stamp)) members.push(member);
    });
    return members;
  }

  /** Drops the members whose latest add is RING_INTERVALS or more before `interval`. */
  #forgetBefore(interval: number): void {
    const stamp = stampOf(interval);
    for (const [member, entry] of this.#entries) {
      if (wrap(stamp - (entry >>> RING_INTERVALS)) >= RING_INTERVALS) this.#entries.delete(member);
    }
  }
}

/** One interval's members in a MemberRing: what a ring slot's SetPartial holds (aggregate/partial.ts's Members). */
export class IntervalMembers {
  readonly #ring: MemberRing;
  readonly #interval: number;
  /** Distinct members of the interval. */
  size: number;

  constructor(ring: MemberRing, interval: number, size: number) {
    this.#ring = ring;
    this.#interval = interval;
    this.size = size;
  }

  has(member: string): boolean {
    return this.#ring.has(member, this.#interval);
  }

  add(member: string): void {
    if (this.#ring.add(member, this.#interval)) this.size++;
  }

  clear(): void {
    for (const member of this.#ring.membersOf(this.#interval)) this.#ring.delete(member, this.#interval);
    this.size = 0;
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.#ring.membersOf(this.#interval).values();
  }
}

/** Whether an entry holds the interval whose stamp is `stamp`. */
function holds(entry: number, stamp: number): boolean {
  const back = wrap((entry >>> RING_INTERVALS) - stamp);
  return back < RING_INTERVALS && (entry & (1 << back)) !== 0;
}

/** An interval number's stamp: the number modulo STAMP_MODULO, in [0, STAMP_MODULO) before the epoch too. */
function stampOf(interval: number): number {
  return wrap(interval % STAMP_MODULO);
}

/** `difference` modulo STAMP_MODULO, in [0, STAMP_MODULO). */
function wrap(difference: number): number {
  return (difference + STAMP_MODULO) % STAMP_MODULO;
}
