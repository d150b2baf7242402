import { bufferedFigures, type BufferedSeries } from '../aggregate/interval-buffer.js';
import { METRIC_TYPES } from '../protocol/metric-type.js';
import type { GaugeSection, PartialFigures } from '../protocol/partial-line.js';

/**
 * A receive thread's pre-aggregated series as they cross to the daemon's
 * thread: every series' figures in one Float64Array, the timers' exact values
 * in another and their sketches in one byte array, all three moved rather
 * than copied, and the strings in arrays. At 100k series a structured clone
 * of one array and one figures object per series took the thread about
 * 85 ms to write and the daemon's thread 130–240 ms to read, and left it
 * that many objects to collect (bench/README.md).
 */
export interface SeriesBatch {
  names: string[];
  tags: string[];
  /** Each series' record, one after another: its type's index in METRIC_TYPES, then that type's figures (encodeSeries). */
  numbers: Float64Array;
  /** The timers' exact values, one timer's after another. */
  values: Float64Array;
  /** The timers' encoded sketches, one after another. */
  sketches: Uint8Array;
  /** The sets' members, in the order of their series. */
  members: (readonly string[])[];
}

const COUNTER = METRIC_TYPES.indexOf('counter');
const TIMER = METRIC_TYPES.indexOf('timer');
const GAUGE = METRIC_TYPES.indexOf('gauge');
const SET = METRIC_TYPES.indexOf('set');
/** Numbers in a record after its type: a counter's count and sum; a set's count. */
const COUNTER_NUMBERS = 2;
const SET_NUMBERS = 1;
/** A timer's count, samples, sum, sumSquares, min, max, then its values' count or -1, and its sketch's bytes or -1. */
const TIMER_NUMBERS = 8;
/** A gauge's flags (GAUGE_OFFSETS, GAUGE_VALUES), then each section present. */
const GAUGE_OFFSETS = 1;
const GAUGE_VALUES = 2;
const SECTION_NUMBERS = 5;

/** An empty batch, before anything was received. */
export function emptySeriesBatch(): SeriesBatch {
  return { names: [], tags: [], numbers: new Float64Array(0), values: new Float64Array(0), sketches: new Uint8Array(0), members: [] };
}

export function encodeSeries(series: readonly BufferedSeries[]): SeriesBatch {
  const figures = series.map(({ partial }) => bufferedFigures(partial));
  let numberCount = 0;
  let valueCount = 0;
  let sketchBytes = 0;
  for (const figure of figures) {
    numberCount += 1 + recordNumbers(figure);
    if (figure.type !== 'timer') continue;
    if (figure.values !== null) valueCount += figure.values.length;
    if (figure.sketch !== null) sketchBytes += figure.sketch.length;
  }
  const batch: SeriesBatch = {
    names: series.map((entry) => entry.name),
    tags: series.map((entry) => entry.tags),
    numbers: new Float64Array(numberCount),
    values: new Float64Array(valueCount),
    sketches: new Uint8Array(sketchBytes),
    members: [],
  };
  const { numbers, values, sketches } = batch;
  let at = 0;
  let valuesAt = 0;
  let sketchAt = 0;
  const put = (value: number): void => {
    numbers[at++] = value;
  };
  const putSection = (section: GaugeSection): void => {
    put(section.count);
    put(section.sum);
    put(section.min);
    put(section.max);
    put(section.last);
  };
  for (const figure of figures) {
    switch (figure.type) {
      case 'counter':
        put(COUNTER);
        put(figure.count);
        put(figure.sum);
        break;
      case 'timer':
        put(TIMER);
        put(figure.count);
        put(figure.samples);
        put(figure.sum);
        put(figure.sumSquares);
        put(figure.min);
        put(figure.max);
        put(figure.values === null ? -1 : figure.values.length);
        put(figure.sketch === null ? -1 : figure.sketch.length);
        if (figure.values !== null) {
          values.set(figure.values, valuesAt);
          valuesAt += figure.values.length;
        }
        if (figure.sketch !== null) {
          sketches.set(figure.sketch, sketchAt);
          sketchAt += figure.sketch.length;
        }
        break;
      case 'gauge':
        put(GAUGE);
        put((figure.offsets === null ? 0 : GAUGE_OFFSETS) | (figure.values === null ? 0 : GAUGE_VALUES));
        if (figure.offsets !== null) putSection(figure.offsets);
        if (figure.values !== null) putSection(figure.values);
        break;
      case 'set':
        put(SET);
        put(figure.count);
        batch.members.push(figure.members);
        break;
    }
  }
  return batch;
}

function recordNumbers(figure: PartialFigures): number {
  switch (figure.type) {
    case 'counter':
      return COUNTER_NUMBERS;
    case 'timer':
      return TIMER_NUMBERS;
    case 'gauge':
      return 1 + (figure.offsets === null ? 0 : SECTION_NUMBERS) + (figure.values === null ? 0 : SECTION_NUMBERS);
    case 'set':
      return SET_NUMBERS;
  }
}

/** What postMessage may move instead of copying. */
export function seriesTransferables(batch: SeriesBatch): ArrayBuffer[] {
  return [batch.numbers.buffer, batch.values.buffer, batch.sketches.buffer] as ArrayBuffer[];
}

/**
 * Visits each series of the batch with its figures, made as it is reached,
 * so that they die young; a timer's sketch is a view of the batch's bytes.
 * Throws on bytes that are not a batch encodeSeries made.
 */
export function forEachSeries(batch: SeriesBatch, visit: (name: string, tags: string, figures: PartialFigures) => void): void {
  const { names, tags, numbers, values, sketches, members } = batch;
  let at = 0;
  let valuesAt = 0;
  let sketchAt = 0;
  let setIndex = 0;
  const next = (): number => numbers[at++] as number;
  const section = (): GaugeSection => ({ count: next(), sum: next(), min: next(), max: next(), last: next() });
  for (let i = 0; i < names.length; i++) {
    const type = next();
    let figures: PartialFigures;
    if (type === COUNTER) {
      figures = { type: 'counter', count: next(), sum: next() };
    } else if (type === TIMER) {
      const count = next();
      const samples = next();
      const sum = next();
      const sumSquares = next();
      const min = next();
      const max = next();
      const valueCount = next();
      const sketchBytes = next();
      let timerValues: number[] | null = null;
      if (valueCount >= 0) {
        // A plain array by a loop: a view and Array.from cost several times as much.
        timerValues = new Array<number>(valueCount);
        for (let v = 0; v < valueCount; v++) timerValues[v] = values[valuesAt + v] as number;
        valuesAt += valueCount;
      }
      let sketch: Uint8Array | null = null;
      if (sketchBytes >= 0) {
        sketch = sketches.subarray(sketchAt, sketchAt + sketchBytes);
        sketchAt += sketchBytes;
      }
      figures = { type: 'timer', count, samples, sum, sumSquares, min, max, values: timerValues, sketch };
    } else if (type === GAUGE) {
      const flags = next();
      const offsets = flags & GAUGE_OFFSETS ? section() : null;
      figures = { type: 'gauge', offsets, values: flags & GAUGE_VALUES ? section() : null };
    } else if (type === SET) {
      figures = { type: 'set', count: next(), members: members[setIndex++] ?? [] };
    } else {
      throw new Error(`not a series batch: type ${type} at number ${at - 1}`);
    }
    visit(names[i] as string, tags[i] as string, figures);
  }
}
