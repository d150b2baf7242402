/**
 * The names and tag sets of lines seen before, keyed by their raw bytes: a
 * line whose name bytes and tag field bytes were seen gets their checked,
 * decoded and canonical strings back without decoding anything, and a small
 * id its consumers index their own series by (Registry, IntervalBuffer).
 * Making a name string per line and looking it up in a Map by it was most
 * of a line's cost at 100k series (bench/README.md, "Names and tags found
 * by their bytes").
 *
 * A key is two byte ranges: the line's name (with any Telegraf/Graphite tags
 * in it) and its DogStatsD tag field. Only keys whose name and tags passed
 * every check are added, and those checks depend on the bytes alone, so a
 * key found stands for a line that would pass them again. When `maxKeys` are
 * held, or their bytes would pass `maxBytes`, the table starts over and ids
 * are given again from 0: a consumer must check the name and tags of
 * whatever it finds at an id.
 */

/** A key longer than this is decoded every time rather than held. */
const MAX_KEY_BYTES = 1024;
/**
 * The arena's bytes at most, whatever `maxKeys`: long unique keys (a client
 * putting request ids into tags) would otherwise hold up to 1 KiB a key,
 * and their strings as much again, until the table starts over.
 */
const MAX_ARENA_BYTES = 32 * 2 ** 20;
const FIRST_CAPACITY = 1024;
/** Each id's start in the arena, its name bytes and its tag field bytes. */
const LAYOUT = 3;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export class LineKeys {
  readonly #maxKeys: number;
  readonly #maxBytes: number;
  /** Open addressing, two ints a slot: the key's hash, then its id + 1 (0: empty). Half full at most. */
  #slots = new Int32Array(FIRST_CAPACITY * 4);
  #mask = FIRST_CAPACITY * 2 - 1;
  #layout = new Int32Array(FIRST_CAPACITY * LAYOUT);
  #arena = Buffer.alloc(FIRST_CAPACITY * 32);
  #arenaUsed = 0;
  #count = 0;
  /** The hash and empty slot the last `find` that failed ended on, for the `add` that follows it. */
  #lastHash = 0;
  #lastSlot = -1;
  /** The decoded name of each id. */
  readonly names: string[] = [];
  /** The canonical tag string of each id ('' when none). */
  readonly tags: string[] = [];

  constructor(maxKeys: number, maxBytes = MAX_ARENA_BYTES) {
    this.#maxKeys = Math.max(1, maxKeys);
    this.#maxBytes = maxBytes;
  }

  /** Keys held now. */
  get size(): number {
    return this.#count;
  }

  /** The id of the key `buf[nameStart, nameEnd)` + `buf[fieldStart, fieldEnd)`, or -1 when it is not held. */
  find(buf: Buffer, nameStart: number, nameEnd: number, fieldStart: number, fieldEnd: number): number {
    const nameBytes = nameEnd - nameStart;
    const fieldBytes = fieldEnd - fieldStart;
    if (nameBytes + fieldBytes > MAX_KEY_BYTES) {
      this.#lastSlot = -1;
      return -1;
    }
    let hash = FNV_OFFSET;
    for (let i = nameStart; i < nameEnd; i++) hash = Math.imul(hash ^ (buf[i] as number), FNV_PRIME);
    // The lengths keep `a` + `bc` apart from `ab` + `c`.
    hash = Math.imul(hash ^ nameBytes, FNV_PRIME);
    for (let i = fieldStart; i < fieldEnd; i++) hash = Math.imul(hash ^ (buf[i] as number), FNV_PRIME);
    const slots = this.#slots;
    const layout = this.#layout;
    const arena = this.#arena;
    let slot = hash & this.#mask;
    for (;;) {
      const held = slots[slot * 2 + 1] as number;
      if (held === 0) break;
      const id = held - 1;
      if (slots[slot * 2] === hash && layout[id * LAYOUT + 1] === nameBytes && layout[id * LAYOUT + 2] === fieldBytes) {
        const at = layout[id * LAYOUT] as number;
        let same = true;
        for (let i = 0; i < nameBytes; i++) {
          if (arena[at + i] !== buf[nameStart + i]) {
            same = false;
            break;
          }
        }
        for (let i = 0; same && i < fieldBytes; i++) if (arena[at + nameBytes + i] !== buf[fieldStart + i]) same = false;
        if (same) return id;
      }
      slot = (slot + 1) & this.#mask;
    }
    this.#lastHash = hash;
    this.#lastSlot = slot;
    return -1;
  }

  /**
   * Holds the key the last `find` did not, with its decoded name and
   * canonical tags; returns its id, or -1 for a key too long to hold.
   */
  add(buf: Buffer, nameStart: number, nameEnd: number, fieldStart: number, fieldEnd: number, name: string, tags: string): number {
    const nameBytes = nameEnd - nameStart;
    const keyBytes = nameBytes + fieldEnd - fieldStart;
    if (this.#lastSlot === -1 || keyBytes > this.#maxBytes) return -1;
    if (this.#count === this.#maxKeys || this.#arenaUsed + keyBytes > this.#maxBytes) {
      this.clear();
      this.find(buf, nameStart, nameEnd, fieldStart, fieldEnd);
    } else if (this.#count * LAYOUT === this.#layout.length) {
      this.#grow();
    }
    if (this.#arenaUsed + keyBytes > this.#arena.length) {
      const arena = Buffer.alloc(Math.min(this.#maxBytes, Math.max(this.#arena.length * 2, this.#arenaUsed + keyBytes)));
      this.#arena.copy(arena, 0, 0, this.#arenaUsed);
      this.#arena = arena;
    }
    const id = this.#count++;
    const at = this.#arenaUsed;
    // By hand: Buffer#copy's checks cost more than copying a short key.
    const arena = this.#arena;
    for (let i = 0; i < nameBytes; i++) arena[at + i] = buf[nameStart + i] as number;
    for (let i = nameBytes; i < keyBytes; i++) arena[at + i] = buf[fieldStart + i - nameBytes] as number;
    this.#arenaUsed += keyBytes;
    this.#layout[id * LAYOUT] = at;
    this.#layout[id * LAYOUT + 1] = nameBytes;
    this.#layout[id * LAYOUT + 2] = keyBytes - nameBytes;
    this.#slots[this.#lastSlot * 2] = this.#lastHash;
    this.#slots[this.#lastSlot * 2 + 1] = id + 1;
    this.#lastSlot = -1;
    this.names[id] = name;
    this.tags[id] = tags;
    return id;
  }

  /** Forgets every key; ids start again from 0. */
  clear(): void {
    this.#slots.fill(0);
    this.#count = 0;
    this.#arenaUsed = 0;
    this.names.length = 0;
    this.tags.length = 0;
  }

  /** Doubles the room for ids and the slots, placing every held slot again by its hash. */
  #grow(): void {
    const capacity = (this.#layout.length / LAYOUT) * 2;
    const layout = new Int32Array(capacity * LAYOUT);
    layout.set(this.#layout);
    this.#layout = layout;
    const old = this.#slots;
    this.#slots = new Int32Array(capacity * 4);
    this.#mask = capacity * 2 - 1;
    for (let at = 0; at < old.length; at += 2) {
      if (old[at + 1] === 0) continue;
      const hash = old[at] as number;
      let slot = hash & this.#mask;
      while (this.#slots[slot * 2 + 1] !== 0) slot = (slot + 1) & this.#mask;
      this.#slots[slot * 2] = hash;
      this.#slots[slot * 2 + 1] = old[at + 1] as number;
    }
    // The failed find's slot was in the old table.
    let slot = this.#lastHash & this.#mask;
    while (this.#slots[slot * 2 + 1] !== 0) slot = (slot + 1) & this.#mask;
    this.#lastSlot = slot;
  }
}
