/**
 * The partial-aggregate line, version 1: one series' 5-second aggregate as
 * one text line, so it travels in a datagram beside ordinary statsd lines
 * (docs/protocol.md, "Partial aggregates"). The client SDK encodes it, the
 * daemon's parser decodes it; both use this module, which knows only plain
 * numbers and strings (sketches travel as their encoded bytes).
 *
 *   _p1|c|<name>|<tags>|<count>|<sum>
 *   _p1|ms|<name>|<tags>|<count>|<samples>|<sum>|<sumSquares>|<min>|<max>|<v>:<v>:…
 *   _p1|ms|<name>|<tags>|<count>|<samples>|<sum>|<sumSquares>|<min>|<max>|=<base64 sketch>
 *   _p1|g|<name>|<tags>|<count>|<sum>|<min>|<max>|<last>
 *   _p1|g|<name>|<tags>|~<count>|<sum>|<min>|<max>|<last>[|<count>|<sum>|<min>|<max>|<last>]
 *   _p1|s|<name>|<tags>|<count>|<member>:<member>:…
 */
export const PARTIAL_LINE_PREFIX = '_p1|';

export interface CounterFigures {
  type: 'counter';
  count: number;
  sum: number;
}

export interface TimerFigures {
  type: 'timer';
  count: number;
  samples: number;
  sum: number;
  sumSquares: number;
  min: number;
  max: number;
  /** The distribution: every value as recorded, or the encoded sketch (src/aggregate/sketch.ts). */
  values: readonly number[] | null;
  sketch: Uint8Array | null;
}

/** Gauge values of one interval: how many, their sum, extremes and the latest. */
export interface GaugeSection {
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
}

export interface GaugeFigures {
  type: 'gauge';
  /** Values written as deltas before any absolute value: offsets from the series' current value. */
  offsets: GaugeSection | null;
  /** Values from the first absolute one on. */
  values: GaugeSection | null;
}

export interface SetFigures {
  type: 'set';
  /** Adds, repeated members included. */
  count: number;
  members: readonly string[];
}

export type PartialFigures = CounterFigures | TimerFigures | GaugeFigures | SetFigures;

const TYPE_CODES = { counter: 'c', timer: 'ms', gauge: 'g', set: 's' } as const;

/** The line for one series' partial (name and tags as the statsd line would carry them). */
export function encodePartialLine(name: string, tags: string, figures: PartialFigures): string {
  return `${PARTIAL_LINE_PREFIX}${TYPE_CODES[figures.type]}|${name}|${tags}|${encodeBody(figures)}`;
}

function encodeBody(figures: PartialFigures): string {
  switch (figures.type) {
    case 'counter':
      return `${figures.count}|${figures.sum}`;
    case 'timer': {
      const head = `${figures.count}|${figures.samples}|${figures.sum}|${figures.sumSquares}|${figures.min}|${figures.max}`;
      if (figures.sketch !== null) return `${head}|=${Buffer.from(figures.sketch).toString('base64')}`;
      return `${head}|${(figures.values ?? []).join(':')}`;
    }
    case 'gauge': {
      const sections: string[] = [];
      if (figures.offsets !== null) sections.push(`~${encodeSection(figures.offsets)}`);
      if (figures.values !== null) sections.push(encodeSection(figures.values));
      return sections.join('|');
    }
    case 'set':
      return `${figures.count}|${figures.members.join(':')}`;
  }
}

function encodeSection(section: GaugeSection): string {
  return `${section.count}|${section.sum}|${section.min}|${section.max}|${section.last}`;
}

/**
 * Decodes the body of a partial line (what follows `<tags>|`) for its type
 * code. Returns undefined for anything malformed or inconsistent, so a bad
 * partial is refused whole.
 */
export function decodePartialBody(typeCode: string, body: string): PartialFigures | undefined {
  const fields = body.split('|');
  switch (typeCode) {
    case 'c':
      return decodeCounter(fields);
    case 'ms':
      return decodeTimer(fields);
    case 'g':
      return decodeGauge(fields);
    case 's':
      return decodeSet(fields);
    default:
      return undefined;
  }
}

function decodeCounter(fields: string[]): CounterFigures | undefined {
  if (fields.length !== 2) return undefined;
  const [count, sum] = fields.map(decodeNumber) as [number, number];
  if (!(count > 0) || Number.isNaN(sum)) return undefined;
  return { type: 'counter', count, sum };
}

function decodeTimer(fields: string[]): TimerFigures | undefined {
  if (fields.length !== 7) return undefined;
  const [count, samples, sum, sumSquares, min, max] = fields.slice(0, 6).map(decodeNumber) as [number, number, number, number, number, number];
  if (!(count > 0) || !Number.isSafeInteger(samples) || samples < 1) return undefined;
  if (!(sum >= 0) || !(sumSquares >= 0) || !(min >= 0) || !(max >= min)) return undefined;
  const distribution = fields[6] as string;
  if (distribution.startsWith('=')) {
    const sketch = decodeBase64(distribution.slice(1));
    return sketch === undefined ? undefined : { type: 'timer', count, samples, sum, sumSquares, min, max, values: null, sketch };
  }
  const values = distribution.split(':').map(decodeNumber);
  if (values.length !== samples || values.some((value) => !(value >= min && value <= max))) return undefined;
  return { type: 'timer', count, samples, sum, sumSquares, min, max, values, sketch: null };
}

function decodeGauge(fields: string[]): GaugeFigures | undefined {
  const relative = fields[0]?.startsWith('~') === true;
  if (relative ? fields.length !== 5 && fields.length !== 10 : fields.length !== 5) return undefined;
  if (relative) fields[0] = (fields[0] as string).slice(1);
  const first = decodeSection(fields.slice(0, 5));
  const second = fields.length === 10 ? decodeSection(fields.slice(5)) : null;
  if (first === undefined || second === undefined) return undefined;
  return relative ? { type: 'gauge', offsets: first, values: second } : { type: 'gauge', offsets: null, values: first };
}

function decodeSection(fields: string[]): GaugeSection | undefined {
  const [count, sum, min, max, last] = fields.map(decodeNumber) as [number, number, number, number, number];
  if (!Number.isSafeInteger(count) || count < 1 || Number.isNaN(sum) || !(max >= min) || !(last >= min && last <= max)) return undefined;
  return { count, sum, min, max, last };
}

function decodeSet(fields: string[]): SetFigures | undefined {
  if (fields.length !== 2) return undefined;
  const count = decodeNumber(fields[0] as string);
  const members = (fields[1] as string).split(':');
  if (!Number.isSafeInteger(count) || count < members.length || members.some((member) => member === '')) return undefined;
  return { type: 'set', count, members };
}

/**
 * A finite number as JavaScript writes it (`String(n)`: `-1.5`, `1e+21`,
 * `5e-7`), read back exactly; NaN for anything else.
 */
function decodeNumber(text: string): number {
  let i = 0;
  if (text.charCodeAt(i) === 0x2d) i++;
  const digitsStart = i;
  while (isDigit(text.charCodeAt(i))) i++;
  if (i === digitsStart) return Number.NaN;
  if (text.charCodeAt(i) === 0x2e) {
    const fraction = ++i;
    while (isDigit(text.charCodeAt(i))) i++;
    if (i === fraction) return Number.NaN;
  }
  if (text.charCodeAt(i) === 0x65) {
    i++;
    if (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d) i++;
    const exponent = i;
    while (isDigit(text.charCodeAt(i))) i++;
    if (i === exponent) return Number.NaN;
  }
  if (i !== text.length) return Number.NaN;
  const value = Number(text);
  return Number.isFinite(value) ? value : Number.NaN;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}
