import { figuresOf } from '../aggregate/partial-figures.js';
import { bufferedFigures, type BufferedSeries } from '../aggregate/interval-buffer.js';
import type { SetPartial, TimerPartial } from '../aggregate/partial.js';
import { encodeSketch, splitSketch, type QuantileSketch } from '../aggregate/sketch.js';
import { encodePartialLine, type TimerFigures } from '../protocol/partial-line.js';

/**
 * The lines of one interval's series (aggregate/interval-buffer.ts). A timer
 * whose values make its line longer than `maxLineBytes` goes as a sketch,
 * split over several lines when it must; so is a set. What still does not
 * fit (a name and tags near the MTU) is counted in the result's `oversize`.
 */
export function partialLines(series: readonly BufferedSeries[], maxLineBytes: number): { lines: string[]; oversize: number } {
  const lines: string[] = [];
  let oversize = 0;
  const fits = (line: string): boolean => Buffer.byteLength(line) <= maxLineBytes;
  for (const { name, tags, partial } of series) {
    if (partial.type === 'set') {
      const split = splitSet(name, tags, partial, fits);
      lines.push(...split.lines);
      oversize += split.oversize;
      continue;
    }
    const line = encodePartialLine(name, tags, bufferedFigures(partial));
    if (fits(line)) lines.push(line);
    else if (partial.type === 'timer') oversize += sketchLines(name, tags, partial, fits, lines);
    else oversize++;
  }
  return { lines, oversize };
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
