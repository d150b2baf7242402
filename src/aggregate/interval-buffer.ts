import { figuresOf } from './partial-figures.js';
import { createPartial, type CounterPartial, type SetPartial, type TimerPartial } from './partial.js';
import type { MetricType } from '../protocol/metric-type.js';
import type { GaugeFigures, GaugeSection, PartialFigures } from '../protocol/partial-line.js';

/**
 * One interval of samples pre-aggregated per series, before the daemon's
 * registry sees them: the client SDK's 5 seconds, and a receive thread's
 * hand-over (ingest/receive-thread.ts). Counters, timers and sets use the
 * daemon's own partial classes, so a timer keeps its first values exactly
 * and switches to the same sketch past them, and the registry merges them
 * exactly (Registry.addPartial).
 */
export type Overflow = 'series' | 'member';

export interface IntervalBufferOptions {
  maxSeries: number;
  maxSetMembers: number;
}

export interface BufferedSeries {
  name: string;
  tags: string;
  partial: CounterPartial | TimerPartial | SetPartial | IntervalGauge;
}

export class IntervalBuffer {
  readonly #options: IntervalBufferOptions;
  /** One map per type, keyed by `name` or `name\ntags` as in the registry: no key string is built for untagged names. */
  #byType = newMaps();
  /** The entry last found for each of a parser's key ids, as Registry#byKeyId; emptied with the maps. */
  readonly #byKeyId: (BufferedSeries | undefined)[] = [];
  #size = 0;
  /** Samples held now (what stop() discards). */
  samples = 0;

  constructor(options: IntervalBufferOptions) {
    this.#options = options;
  }

  /** Series held now. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds one sample (`rate` as on the statsd line), with the parser's id for
   * its name and tags or -1; returns what was full when it could not.
   */
  add(type: MetricType, name: string, tags: string, value: number, rate: number, delta: boolean, member: string, keyId = -1): Overflow | undefined {
    let entry = keyId === -1 ? undefined : this.#byKeyId[keyId];
    if (entry === undefined || entry.partial.type !== type || entry.name !== name || entry.tags !== tags) {
      entry = this.#entry(type, name, tags);
      if (entry === undefined) return 'series';
      if (keyId !== -1) {
        while (this.#byKeyId.length < keyId) this.#byKeyId.push(undefined);
        this.#byKeyId[keyId] = entry;
      }
    }
    const partial = entry.partial;
    switch (partial.type) {
      case 'counter':
      case 'timer':
        partial.add(value, rate);
        break;
      case 'gauge':
        partial.add(value, delta);
        break;
      case 'set':
        if (partial.members.size >= this.#options.maxSetMembers && !partial.members.has(member)) return 'member';
        partial.add(member);
        break;
    }
    this.samples++;
    return undefined;
  }

  /** The series' entry, made when new unless the buffer is full. */
  #entry(type: MetricType, name: string, tags: string): BufferedSeries | undefined {
    const map = this.#byType[type];
    const key = tags === '' ? name : `${name}\n${tags}`;
    let entry = map.get(key);
    if (entry === undefined) {
      if (this.#size >= this.#options.maxSeries) return undefined;
      entry = { name, tags, partial: createEntryPartial(type) };
      map.set(key, entry);
      this.#size++;
    }
    return entry;
  }

  /** Takes the interval's series and starts a new interval. */
  take(): BufferedSeries[] {
    const taken = Object.values(this.#byType).flatMap((map) => [...map.values()]);
    this.clear();
    return taken;
  }

  clear(): void {
    this.#byType = newMaps();
    this.#byKeyId.fill(undefined);
    this.#size = 0;
    this.samples = 0;
  }
}

/** The figures of a series' partial line (protocol/partial-line.ts). */
export function bufferedFigures(partial: BufferedSeries['partial']): PartialFigures {
  return partial.type === 'gauge' ? partial.figures() : figuresOf(partial);
}

function newMaps(): Record<MetricType, Map<string, BufferedSeries>> {
  return { counter: new Map(), timer: new Map(), gauge: new Map(), set: new Map() };
}

function createEntryPartial(type: MetricType): BufferedSeries['partial'] {
  // The buffer's own gauge; the other types are the daemon's partials, so they merge exactly.
  return type === 'gauge' ? new IntervalGauge() : (createPartial(type) as Exclude<BufferedSeries['partial'], IntervalGauge>);
}

/**
 * A gauge as a sender sees it: it does not know the daemon's current value,
 * so deltas written before any absolute value in the interval are kept as
 * offsets from it, and the daemon applies them (protocol/partial-line.ts).
 */
export class IntervalGauge {
  readonly type = 'gauge';
  #offsets: GaugeSection | null = null;
  #values: GaugeSection | null = null;

  add(value: number, delta: boolean): void {
    if (this.#values !== null) this.#values = record(this.#values, delta ? this.#values.last + value : value);
    else if (!delta) this.#values = record(null, value);
    else this.#offsets = record(this.#offsets, this.#offsets === null ? value : this.#offsets.last + value);
  }

  figures(): GaugeFigures {
    return { type: 'gauge', offsets: this.#offsets, values: this.#values };
  }
}

function record(section: GaugeSection | null, value: number): GaugeSection {
  if (section === null) return { count: 1, sum: value, min: value, max: value, last: value };
  section.count++;
  section.sum += value;
  if (value < section.min) section.min = value;
  if (value > section.max) section.max = value;
  section.last = value;
  return section;
}
