import { figuresOf } from '../aggregate/partial-figures.js';
import { createPartial, type CounterPartial, type SetPartial, type TimerPartial } from '../aggregate/partial.js';
import { encodeSketch, splitSketch, type QuantileSketch } from '../aggregate/sketch.js';
import type { MetricType } from '../protocol/metric-type.js';
import { encodePartialLine, type GaugeSection, type TimerFigures } from '../protocol/partial-line.js';

/**
 * The client's current interval: one partial per series, merged in memory
 * and turned into partial-aggregate lines at each flush. Counters, timers
 * and sets use the daemon's own partial classes, so a timer keeps its first
 * values exactly and switches to the same sketch past them.
 */
export type Overflow = 'series' | 'member';

export interface IntervalBufferOptions {
  maxSeries: number;
  maxSetMembers: number;
}

interface SeriesEntry {
  name: string;
  tags: string;
  partial: CounterPartial | TimerPartial | SetPartial | ClientGauge;
}

export class IntervalBuffer {
  readonly #options: IntervalBufferOptions;
  #series = new Map<string, SeriesEntry>();
  /** Samples held now (what stop() discards). */
  samples = 0;

  constructor(options: IntervalBufferOptions) {
    this.#options = options;
  }

  /** Adds one sample; returns what was full when it could not. */
  add(type: MetricType, name: string, tags: string, value: number, delta: boolean, member: string): Overflow | undefined {
    const key = `${type}\n${name}\n${tags}`;
    let entry = this.#series.get(key);
    if (entry === undefined) {
      if (this.#series.size >= this.#options.maxSeries) return 'series';
      entry = { name, tags, partial: createEntryPartial(type) };
      this.#series.set(key, entry);
    }
    const partial = entry.partial;
    switch (partial.type) {
      case 'counter':
      case 'timer':
        partial.add(value, 1);
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

  /**
   * Takes the interval's lines and starts a new interval. A timer whose
   * values make its line longer than `maxLineBytes` goes as a sketch, split
   * over several lines when it must; so is a set. What still does not fit
   * (a name and tags near the MTU) is counted in the result's `oversize`.
   */
  drain(maxLineBytes: number): { lines: string[]; oversize: number } {
    const lines: string[] = [];
    let oversize = 0;
    const fits = (line: string): boolean => Buffer.byteLength(line) <= maxLineBytes;
    for (const { name, tags, partial } of this.#series.values()) {
      if (partial.type === 'set') {
        const split = splitSet(name, tags, partial, fits);
        lines.push(...split.lines);
        oversize += split.oversize;
        continue;
      }
      const line = encodePartialLine(name, tags, partial.type === 'gauge' ? partial.figures() : figuresOf(partial));
      if (fits(line)) lines.push(line);
      else if (partial.type === 'timer') oversize += sketchLines(name, tags, partial, fits, lines);
      else oversize++;
    }
    this.#series = new Map();
    this.samples = 0;
    return { lines, oversize };
  }

  clear(): void {
    this.#series = new Map();
    this.samples = 0;
  }
}

function createEntryPartial(type: MetricType): SeriesEntry['partial'] {
  // The client's own gauge; the other types are the daemon's partials, so they merge exactly.
  return type === 'gauge' ? new ClientGauge() : (createPartial(type) as Exclude<SeriesEntry['partial'], ClientGauge>);
}

/**
 * A gauge as the client sees it: it does not know the daemon's current value,
 * so deltas written before any absolute value in the interval are kept as
 * offsets from it, and the daemon applies them (protocol/partial-line.ts).
 */
class ClientGauge {
  readonly type = 'gauge';
  #offsets: GaugeSection | null = null;
  #values: GaugeSection | null = null;

  add(value: number, delta: boolean): void {
    if (this.#values !== null) this.#values = record(this.#values, delta ? this.#values.last + value : value);
    else if (!delta) this.#values = record(null, value);
    else this.#offsets = record(this.#offsets, this.#offsets === null ? value : this.#offsets.last + value);
  }

  figures(): { type: 'gauge'; offsets: GaugeSection | null; values: GaugeSection | null } {
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

/**
 * A timer too long for one line with its values: its sketch, split by value
 * range over as many lines as it needs. Each line is a valid timer partial
 * of the values in its range; the first carries the sum and sum of squares,
 * the others 0, and all the exact min and max, so the merge is exact.
 * Returns 1 when even a one-bin piece does not fit (nothing is sent then).
 */
function sketchLines(name: string, tags: string, timer: TimerPartial, fits: (line: string) => boolean, out: string[]): number {
  const pieces: string[] = [];
  const { min, max } = timer;
  const place = (sketch: QuantileSketch, first: boolean): boolean => {
    const figures: TimerFigures = {
      type: 'timer',
      count: sketch.count,
      samples: sketch.count,
      sum: first ? timer.sum : 0,
      sumSquares: first ? timer.sumSquares : 0,
      min,
      max,
      values: null,
      sketch: encodeSketch(sketch),
    };
    const line = encodePartialLine(name, tags, figures);
    if (fits(line)) {
      pieces.push(line);
      return true;
    }
    if (sketch.store.count === 0 || sketch.store.minKey === sketch.store.maxKey) return false;
    const [low, high] = splitSketch(sketch);
    return place(low, first) && (high.count === 0 || place(high, false));
  };
  // A split sketch's pieces hold counts, not rate-adjusted counts: only a client's timers (rate 1) are split.
  if (timer.count !== timer.samples || !place(timer.sketch!, true)) return 1;
  out.push(...pieces);
  return 0;
}

/** A set's members over as many lines as they need; the adds beyond one per member ride on the first line. */
function splitSet(name: string, tags: string, set: SetPartial, fits: (line: string) => boolean): { lines: string[]; oversize: number } {
  const whole = encodePartialLine(name, tags, figuresOf(set));
  if (fits(whole)) return { lines: [whole], oversize: 0 };
  const lines: string[] = [];
  let oversize = 0;
  let chunk: string[] = [];
  let repeats = set.count - set.members.size;
  const line = (members: string[]): string => encodePartialLine(name, tags, { type: 'set', count: members.length + repeats, members });
  for (const member of set.members) {
    if (fits(line([...chunk, member]))) {
      chunk.push(member);
      continue;
    }
    if (chunk.length > 0) {
      lines.push(line(chunk));
      repeats = 0;
    }
    chunk = fits(line([member])) ? [member] : [];
    if (chunk.length === 0) oversize++;
  }
  if (chunk.length > 0) lines.push(line(chunk));
  return { lines, oversize };
}
