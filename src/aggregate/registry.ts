import { minuteStart, PARTIAL_INTERVAL_MS, type MetricType } from '../protocol/metric-type.js';
import type { Sample } from '../ingest/parser.js';
import type { GaugeSection } from '../protocol/partial-line.js';
import { createPartial, GaugePartial, type Partial, type SetPartial } from './partial.js';
import { Series } from './series.js';

export interface RegistryOptions {
  /** Samples that would create a series beyond this many are dropped and counted. */
  maxSeries: number;
  /** A timestamped sample up to this old (ms) goes to the minute it belongs to; older ones are dropped. */
  lateWindowMs: number;
  /** Distinct members a set series may gain per minute; further new members are dropped and counted. */
  maxSetMembers: number;
}

/** How far ahead of the daemon's clock a timestamped sample may be (clock skew between hosts). */
export const FUTURE_TOLERANCE_MS = 60_000;

/** Timestamped samples for a minute that is no longer current, merged at the next tick. */
export interface LatePartial {
  minuteStartMs: number;
  type: MetricType;
  name: string;
  tags: string;
  partial: Partial;
}

/**
 * All live series, one map per type keyed by `name` or `name\ntags` (a name
 * never contains a newline). `add` is the hot path: one map lookup and one
 * partial update, no clock read. Time moves only through `advance`, which the
 * flush scheduler calls on each aligned 5-second tick.
 */
export class Registry {
  readonly #options: RegistryOptions;
  readonly #byType: Record<MetricType, Map<string, Series>> = {
    counter: new Map(),
    timer: new Map(),
    gauge: new Map(),
    set: new Map(),
  };
  /**
   * The series last found for each of the parser's key ids (ParseSink.sample):
   * an array load and a check of its type, name and tags instead of a map
   * lookup by a fresh string, which took a third of the daemon's thread at
   * 100k series (docs/architecture.md#finding-a-lines-series). Holes are
   * filled as it grows, so that V8 keeps it a plain array. A series removed
   * is skipped by its flag and dropped from the array at the next evictIdle.
   */
  readonly #byKeyId: (Series | undefined)[] = [];
  /** Series removed since #byKeyId was last swept. */
  #removedSinceSweep = 0;
  #size = 0;
  #currentIntervalMs: number;
  readonly #late = new Map<string, LatePartial>();
  /** Samples refused because the series cap was reached (cumulative). */
  seriesDropped = 0;
  /** Timestamped samples merged into an earlier minute (cumulative). */
  lateSamples = 0;
  /** Timestamped samples too old or too far in the future (cumulative). */
  lateDropped = 0;
  /** Set members refused because their series had maxSetMembers in the minute (cumulative). */
  setMembersDropped = 0;

  constructor(options: RegistryOptions, nowMs: number) {
    this.#options = options;
    this.#currentIntervalMs = intervalStart(nowMs);
  }

  get size(): number {
    return this.#size;
  }

  get currentIntervalMs(): number {
    return this.#currentIntervalMs;
  }

  /** Moves the current interval forward to the one containing `nowMs`; never backward. */
  advance(nowMs: number): void {
    const start = intervalStart(nowMs);
    if (start > this.#currentIntervalMs) this.#currentIntervalMs = start;
  }

  /** True when `nowMs` lies in an interval before the current one: the wall clock stepped back. */
  isBehind(nowMs: number): boolean {
    return intervalStart(nowMs) < this.#currentIntervalMs;
  }

  /**
   * Moves the current interval back to `nowMs` after the wall clock stepped
   * back, emptying every ring: the caller has written all they held, and
   * their intervals will come round again.
   */
  rewind(nowMs: number): void {
    this.#currentIntervalMs = intervalStart(nowMs);
    for (const map of Object.values(this.#byType)) for (const series of map.values()) series.clear();
  }

  /**
   * Adds one parsed sample (copied; the parser reuses the object), with the
   * parser's id for its name and tags, or -1. False when dropped.
   */
  add(sample: Sample, keyId = -1): boolean {
    if (!Number.isNaN(sample.timestampSec)) {
      const atMs = sample.timestampSec * 1000;
      const now = this.#currentIntervalMs;
      if (atMs >= now + PARTIAL_INTERVAL_MS + FUTURE_TOLERANCE_MS || atMs < now - this.#options.lateWindowMs) {
        this.lateDropped++;
        return false;
      }
      if (atMs < minuteStart(now)) return this.#addLate(sample, minuteStart(atMs));
    }
    const series = this.#keyedSeries(sample, keyId);
    if (series === undefined) return false;
    const now = this.#currentIntervalMs;
    switch (sample.type) {
      case 'counter':
        series.addCounts(now, 1 / sample.rate, sample.value / sample.rate);
        return true;
      case 'timer':
        series.addTimer(now, sample.value, sample.rate);
        return true;
      case 'gauge': {
        const value = sample.gaugeDelta && series.hasGaugeValue ? series.gaugeValue + sample.value : sample.value;
        series.gaugeValue = value;
        series.hasGaugeValue = true;
        (series.partialAt(now) as GaugePartial).add(value, now);
        return true;
      }
      case 'set': {
        const set = series.partialAt(now) as SetPartial;
        if (!set.members.has(sample.member) && !this.#admitMember(series, sample.member, now)) {
          this.setMembersDropped++;
          return false;
        }
        set.add(sample.member);
        return true;
      }
    }
  }

  /**
   * Merges a pre-aggregated partial (a client's 5 seconds, an HTTP push)
   * into the current interval of its series, exactly as its samples would
   * have been added one by one: set members count against maxSetMembers, a
   * gauge's `gaugeOffsets` (values written as deltas before any absolute one)
   * apply to the series' current value, and the partial's last gauge value
   * becomes the current one, as the latest arrival.
   */
  addPartial(name: string, tags: string, partial: Partial, gaugeOffsets: GaugeSection | null = null): boolean {
    const series = this.#liveSeries(partial.type, name, tags);
    if (series === undefined) return false;
    const now = this.#currentIntervalMs;
    switch (partial.type) {
      case 'counter':
        series.addCounts(now, partial.count, partial.sum);
        return true;
      case 'timer':
        series.mergeTimer(now, partial);
        return true;
      case 'gauge': {
        const gauge = series.partialAt(now) as GaugePartial;
        if (gaugeOffsets !== null) {
          const base = series.hasGaugeValue ? series.gaugeValue : 0;
          gauge.merge(offsetGauge(gaugeOffsets, base));
          setGaugeValue(series, gauge, base + gaugeOffsets.last, now);
        }
        if (partial.count > 0) {
          gauge.merge(partial);
          setGaugeValue(series, gauge, partial.last, now);
        }
        return true;
      }
      case 'set':
        this.#addMembers(series, series.partialAt(now) as SetPartial, partial, now);
        return true;
    }
  }

  #addMembers(series: Series, target: SetPartial, partial: SetPartial, nowMs: number): void {
    let dropped = 0;
    for (const member of partial.members) {
      if (target.members.has(member) || this.#admitMember(series, member, nowMs)) target.members.add(member);
      else dropped++;
    }
    target.count += partial.count - dropped;
    this.setMembersDropped += dropped;
  }

  /** Whether a member new to the current interval fits in its series' minute (maxSetMembers). */
  #admitMember(series: Series, member: string, nowMs: number): boolean {
    const minute = minuteStart(nowMs);
    if (series.memberMinuteMs !== minute) {
      series.memberMinuteMs = minute;
      series.minuteMembers = 0;
    }
    let seen = false;
    series.forEachPartial(minute, nowMs, (partial) => {
      if ((partial as SetPartial).members.has(member)) seen = true;
    });
    if (seen) return true;
    if (series.minuteMembers >= this.#options.maxSetMembers) return false;
    series.minuteMembers++;
    return true;
  }

  /** #liveSeries through the parser's key id when it has one. */
  #keyedSeries(sample: Sample, keyId: number): Series | undefined {
    if (keyId === -1) return this.#liveSeries(sample.type, sample.name, sample.tags);
    const byKeyId = this.#byKeyId;
    const known = byKeyId[keyId];
    if (known !== undefined && known.type === sample.type && known.name === sample.name && known.tags === sample.tags && !known.removed) {
      known.lastSampleMs = this.#currentIntervalMs;
      return known;
    }
    const series = this.#liveSeries(sample.type, sample.name, sample.tags);
    if (series !== undefined) {
      while (byKeyId.length < keyId) byKeyId.push(undefined);
      byKeyId[keyId] = series;
    }
    return series;
  }

  /** The series, created when new unless the registry is full (then counted in seriesDropped). */
  #liveSeries(type: MetricType, name: string, tags: string): Series | undefined {
    const map = this.#byType[type];
    const key = seriesKey(name, tags);
    let series = map.get(key);
    const now = this.#currentIntervalMs;
    if (series === undefined) {
      if (this.#size >= this.#options.maxSeries) {
        this.seriesDropped++;
        return undefined;
      }
      series = new Series(type, name, tags, now);
      map.set(key, series);
      this.#size++;
    }
    series.lastSampleMs = now;
    return series;
  }

  /** A sample stamped in an earlier minute: kept apart, written by the next tick through the merging write. */
  #addLate(sample: Sample, minuteStartMs: number): boolean {
    const key = `${minuteStartMs}\n${sample.type}\n${seriesKey(sample.name, sample.tags)}`;
    let late = this.#late.get(key);
    if (late === undefined) {
      if (this.#late.size >= this.#options.maxSeries) {
        this.lateDropped++;
        return false;
      }
      late = { minuteStartMs, type: sample.type, name: sample.name, tags: sample.tags, partial: createPartial(sample.type) };
      this.#late.set(key, late);
    }
    const partial = late.partial;
    switch (partial.type) {
      case 'counter':
      case 'timer':
        partial.add(sample.value, sample.rate);
        break;
      case 'gauge':
        // A delta applies to what this late minute has seen so far.
        partial.add(sample.gaugeDelta && partial.count > 0 ? partial.last + sample.value : sample.value, sample.timestampSec * 1000);
        break;
      case 'set':
        if (partial.members.size >= this.#options.maxSetMembers && !partial.members.has(sample.member)) {
          this.setMembersDropped++;
          return false;
        }
        partial.add(sample.member);
        break;
    }
    this.lateSamples++;
    return true;
  }

  /** Takes the late partials gathered since the last call. */
  drainLate(): LatePartial[] {
    const late = [...this.#late.values()];
    this.#late.clear();
    return late;
  }

  /** Every series, as an array: ~1 ms for 100k series, where spreading `series()` takes 5–9 ms. */
  snapshot(): Series[] {
    return ([] as Series[]).concat(...Object.values(this.#byType).map((map) => Array.from(map.values())));
  }

  *series(type?: MetricType): IterableIterator<Series> {
    if (type !== undefined) {
      yield* this.#byType[type].values();
      return;
    }
    for (const map of Object.values(this.#byType)) yield* map.values();
  }

  /** Removes one series (the admin interface's del* commands); its unflushed data goes with it. */
  remove(series: Series): boolean {
    const removed = this.#byType[series.type].delete(seriesKey(series.name, series.tags));
    if (removed) {
      this.#size--;
      series.removed = true;
      this.#removedSinceSweep++;
    }
    return removed;
  }

  /**
   * Removes series whose newest sample is in an interval before `beforeMs`.
   * The caller must have flushed every minute before `beforeMs` first.
   */
  evictIdle(beforeMs: number): number {
    let evicted = 0;
    for (const map of Object.values(this.#byType)) {
      for (const [key, series] of map) {
        if (series.lastSampleMs < beforeMs) {
          map.delete(key);
          series.removed = true;
          evicted++;
        }
      }
    }
    this.#size -= evicted;
    this.#removedSinceSweep += evicted;
    if (this.#removedSinceSweep > 0) this.#sweepKeyIds();
    return evicted;
  }

  /** Drops removed series from #byKeyId, so that it does not keep them from the collector. */
  #sweepKeyIds(): void {
    const byKeyId = this.#byKeyId;
    for (let i = 0; i < byKeyId.length; i++) if (byKeyId[i]?.removed === true) byKeyId[i] = undefined;
    this.#removedSinceSweep = 0;
  }
}

/** Gauge offsets made absolute on `base`. */
function offsetGauge(offsets: GaugeSection, base: number): GaugePartial {
  const gauge = new GaugePartial();
  gauge.count = offsets.count;
  gauge.sum = offsets.count * base + offsets.sum;
  gauge.min = base + offsets.min;
  gauge.max = base + offsets.max;
  gauge.last = base + offsets.last;
  gauge.lastAtMs = Number.NEGATIVE_INFINITY;
  return gauge;
}

/** The latest arrival sets the gauge: its partial's last value and the series' current value. */
function setGaugeValue(series: Series, gauge: GaugePartial, value: number, nowMs: number): void {
  gauge.last = value;
  gauge.lastAtMs = nowMs;
  series.gaugeValue = value;
  series.hasGaugeValue = true;
}

function seriesKey(name: string, tags: string): string {
  return tags === '' ? name : `${name}\n${tags}`;
}

export function intervalStart(ms: number): number {
  return ms - (((ms % PARTIAL_INTERVAL_MS) + PARTIAL_INTERVAL_MS) % PARTIAL_INTERVAL_MS);
}
