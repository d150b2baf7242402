/**
 * A set partial's distinct members: a Set whose `clear` keeps its table.
 *
 * A ring slot's set partial is cleared every 65 s and refilled, mostly with
 * the same members. `Set.prototype.clear` drops the table, so each refill
 * grew a new one (4, 8, 16, 32 entries) and kept new member strings; the
 * tables and strings lived long enough to be promoted, and 5% of sets among
 * 100k series at 0.5M lines/s made about 100 MB of old-generation garbage a
 * minute (bench/README.md). Here a member maps to the generation it was
 * last added in, and clearing starts a new generation: members added again
 * update their entry in place, keeping the string first stored.
 */
export class MemberSet implements Iterable<string> {
  /** Member → the generation of its last add; an older generation means absent. */
  readonly #generations = new Map<string, number>();
  #generation = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(member: string): boolean {
    return this.#generations.get(member) === this.#generation;
  }

  add(member: string): void {
    if (this.#generations.get(member) === this.#generation) return;
    this.#generations.set(member, this.#generation);
    this.#size++;
  }

  /**
   * Empties the set. Absent members keep their entries while they are at
   * most as many as twice the members just cleared (plus a few): a set whose
   * members keep changing starts a new table instead of growing one.
   */
  clear(): void {
    if (this.#generations.size > 2 * this.#size + STALE_SLACK) this.#generations.clear();
    this.#generation++;
    this.#size = 0;
  }

  *[Symbol.iterator](): Iterator<string> {
    for (const [member, generation] of this.#generations) {
      if (generation === this.#generation) yield member;
    }
  }
}

/** Absent members kept whatever the set's size: a small set's usual turnover. */
const STALE_SLACK = 64;
