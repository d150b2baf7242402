import type { GaugeSection, PartialFigures, TimerFigures } from '../protocol/partial-line.js';
import { CounterPartial, GaugePartial, SetPartial, TimerPartial, type Partial } from './partial.js';
import { decodeSketch, encodeSketch } from './sketch.js';

/**
 * Partials ↔ the plain figures of a partial line (protocol/partial-line.ts).
 * Shared by the client SDK, which encodes its partials, and the parser, which
 * decodes them; a timer travels with its exact values while it has them, so
 * the daemon's quantiles match those of the same samples sent one by one.
 */

/** The figures of a counter, timer or set partial (the client builds gauge figures itself). */
export function figuresOf(partial: CounterPartial | TimerPartial | SetPartial, withSketch = false): PartialFigures {
  switch (partial.type) {
    case 'counter':
      return { type: 'counter', count: partial.count, sum: partial.sum };
    case 'timer':
      return timerFigures(partial, withSketch);
    case 'set':
      return { type: 'set', count: partial.count, members: [...partial.members] };
  }
}

/** With `withSketch`, or once the partial has switched to one, the distribution travels as a sketch. */
function timerFigures(partial: TimerPartial, withSketch: boolean): TimerFigures {
  const { count, samples, sum, sumSquares, min, max } = partial;
  const values = partial.values;
  if (values !== null && !withSketch) return { type: 'timer', count, samples, sum, sumSquares, min, max, values, sketch: null };
  return { type: 'timer', count, samples, sum, sumSquares, min, max, values: null, sketch: encodeSketch(partial.sketch!) };
}

export interface DecodedPartial {
  partial: Partial;
  /** A gauge's values recorded as offsets from the series' current value, before `partial`'s. */
  gaugeOffsets: GaugeSection | null;
}

/** The partial the figures describe, or undefined when a sketch does not decode or disagrees with the counts. */
export function partialOf(figures: PartialFigures): DecodedPartial | undefined {
  switch (figures.type) {
    case 'counter': {
      const partial = new CounterPartial();
      partial.count = figures.count;
      partial.sum = figures.sum;
      return { partial, gaugeOffsets: null };
    }
    case 'timer': {
      const partial = timerPartial(figures);
      return partial === undefined ? undefined : { partial, gaugeOffsets: null };
    }
    case 'gauge': {
      const partial = new GaugePartial();
      if (figures.values !== null) {
        const { count, sum, min, max, last } = figures.values;
        Object.assign(partial, { count, sum, min, max, last, lastAtMs: 0 });
      }
      return { partial, gaugeOffsets: figures.offsets };
    }
    case 'set': {
      const partial = new SetPartial();
      partial.count = figures.count;
      for (const member of figures.members) partial.members.add(member);
      return { partial, gaugeOffsets: null };
    }
  }
}

/** A decoded partial's figures again (partialOf's inverse): a receive thread sends clients' partial lines on this way. */
export function decodedFigures({ partial, gaugeOffsets }: DecodedPartial): PartialFigures {
  if (partial.type !== 'gauge') return figuresOf(partial);
  const { count, sum, min, max, last } = partial;
  return { type: 'gauge', offsets: gaugeOffsets, values: count > 0 ? { count, sum, min, max, last } : null };
}

function timerPartial(figures: TimerFigures): TimerPartial | undefined {
  const partial = new TimerPartial();
  if (figures.sketch !== null) {
    let sketch;
    try {
      sketch = decodeSketch(figures.sketch);
    } catch {
      return undefined;
    }
    // A timer's values are never negative, and the sketch holds each of them once.
    if (sketch.negativeStore.count !== 0 || sketch.count !== figures.samples) return undefined;
    partial.sketch = sketch;
  } else {
    for (const value of figures.values ?? []) partial.recordValue(value);
  }
  partial.count = figures.count;
  partial.samples = figures.samples;
  partial.sum = figures.sum;
  partial.sumSquares = figures.sumSquares;
  partial.min = figures.min;
  partial.max = figures.max;
  return partial;
}
