import type { MetricType } from '../protocol/metric-type.js';

/** A series as the store identifies it. */
export interface SeriesIdentity {
  type: MetricType;
  name: string;
  tags: string;
}

/**
 * Series ids by type, tags and name, in maps nested in that order. One map
 * keyed by the three joined made a string per lookup and hashed all of it:
 * 100k lookups took 40–55 ms against 14–16 ms (bench/README.md), a few
 * percent of a minute's write at 100k series.
 */
export class SeriesIds {
  readonly #byType = new Map<MetricType, Map<string, Map<string, number>>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get({ type, name, tags }: SeriesIdentity): number | undefined {
    return this.#byType.get(type)?.get(tags)?.get(name);
  }

  set({ type, name, tags }: SeriesIdentity, id: number): void {
    let byTags = this.#byType.get(type);
    if (byTags === undefined) this.#byType.set(type, (byTags = new Map()));
    let byName = byTags.get(tags);
    if (byName === undefined) byTags.set(tags, (byName = new Map()));
    const before = byName.size;
    byName.set(name, id);
    this.#size += byName.size - before;
  }

  clear(): void {
    this.#byType.clear();
    this.#size = 0;
  }
}
