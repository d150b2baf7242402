import type { MetricType } from '../protocol/metric-type.js';
import { canonicalTags, type Tag } from '../protocol/tags.js';
import { parseDecimal } from './number.js';

/**
 * Buffer → samples for the statsd line protocol and DaTtSs value suffixes.
 * Pure and synchronous: no I/O, no timers, never throws. Each sample is handed
 * to the sink in a single reused object, so the sink must copy what it keeps.
 *
 *   name:value[:value…]|type[|@rate][|#k:v,…]      (Etsy statsd, DogStatsD tags)
 *   name:153ms  name:1c  name:23g  name:5g!        (DaTtSs value with unit suffix)
 *
 * The full grammar and every deviation from Etsy statsd are in docs/protocol.md.
 */

export interface Sample {
  type: MetricType;
  name: string;
  /** Canonical tag string, '' when none (see protocol/tags.ts). */
  tags: string;
  /** Counter increment, timer value, or gauge value (signed delta when `gaugeDelta`). */
  value: number;
  /** Sample rate in (0, 1]; counters are scaled by 1/rate, timers count 1/rate. */
  rate: number;
  /** A gauge value written with an explicit `+` or `-`: a delta on the current value. */
  gaugeDelta: boolean;
  /** Set member; '' for other types. */
  member: string;
}

export type BadLineReason =
  | 'missing_value'
  | 'missing_type'
  | 'unknown_type'
  | 'bad_value'
  | 'negative_timer'
  | 'bad_rate'
  | 'empty_name'
  | 'name_too_long'
  | 'invalid_utf8'
  | 'too_many_tags'
  | 'tag_too_long';

export interface ParseSink {
  sample(sample: Sample): void;
  /** One rejected value; `start`/`end` delimit the whole line in `buf`. */
  badLine(reason: BadLineReason, buf: Buffer, start: number, end: number): void;
}

export interface ParserOptions {
  /** Etsy's key sanitizer: whitespace → `_`, `/` → `-`, drop bytes outside `[A-Za-z0-9_.-]`. */
  sanitizeNames: boolean;
  /** Longest accepted name (and set member), in bytes after sanitizing. */
  maxNameLength: number;
  maxTagsPerLine: number;
  /** Longest accepted tag (`key:value`), in bytes. */
  maxTagLength: number;
}

const NEWLINE = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const COLON = 0x3a;
const PIPE = 0x7c;
const HASH = 0x23;
const AT = 0x40;
const COMMA = 0x2c;
const BANG = 0x21;
const PLUS = 0x2b;
const MINUS = 0x2d;
const SLASH = 0x2f;
const UNDERSCORE = 0x5f;

/** Bytes Etsy's sanitizer keeps as they are: `[A-Za-z0-9_.-]`. */
const NAME_BYTE_OK = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const c = String.fromCharCode(b);
  NAME_BYTE_OK[b] = /[A-Za-z0-9_.-]/.test(c) ? 1 : 0;
}

export class LineParser {
  readonly #options: ParserOptions;
  readonly #sample: Sample = { type: 'counter', name: '', tags: '', value: 0, rate: 1, gaugeDelta: false, member: '' };
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true });
  #tagScratch: Tag[] = [];

  constructor(options: ParserOptions) {
    this.#options = options;
  }

  /** Parses every line of one packet; returns the number of non-empty lines seen. */
  parse(buf: Buffer, sink: ParseSink): number {
    let lines = 0;
    let start = 0;
    const length = buf.length;
    while (start < length) {
      let end = buf.indexOf(NEWLINE, start);
      if (end === -1) end = length;
      let lineEnd = end;
      if (lineEnd > start && buf[lineEnd - 1] === CR) lineEnd--;
      if (lineEnd > start) {
        lines++;
        this.#parseLine(buf, start, lineEnd, sink);
      }
      start = end + 1;
    }
    return lines;
  }

  #parseLine(buf: Buffer, start: number, end: number, sink: ParseSink): void {
    let colon = start;
    while (colon < end && buf[colon] !== COLON) colon++;
    if (colon === end) return sink.badLine('missing_value', buf, start, end);

    // The name goes straight into the shared sample; a reason means the line is rejected.
    const badName = this.#decodeName(buf, start, colon);
    if (badName !== undefined) return sink.badLine(badName, buf, start, end);

    // The DogStatsD tag field runs from `|#` to the next `|`; it may contain `:`,
    // so it is cut out before the value parts are split on `:`.
    let tagStart = -1;
    for (let i = colon + 1; i < end - 1; i++) {
      if (buf[i] === PIPE && buf[i + 1] === HASH) {
        tagStart = i;
        break;
      }
    }
    let tags = '';
    let tagEnd = end;
    if (tagStart !== -1) {
      tagEnd = tagStart + 2;
      while (tagEnd < end && buf[tagEnd] !== PIPE) tagEnd++;
      const parsed = this.#parseTags(buf, tagStart + 2, tagEnd);
      if (parsed.bad !== undefined) return sink.badLine(parsed.bad, buf, start, end);
      tags = parsed.tags;
    }

    const sample = this.#sample;
    sample.tags = tags;
    const partsEnd = tagStart === -1 ? end : tagStart;
    let partStart = colon + 1;
    for (;;) {
      let partEnd = partStart;
      while (partEnd < partsEnd && buf[partEnd] !== COLON) partEnd++;
      // Fields after the tag field (`…|#a:b|@0.5`) belong to the last value part.
      const trailing = partEnd === partsEnd && tagStart !== -1;
      const bad = this.#parsePart(buf, partStart, partEnd, trailing ? tagEnd : end, end);
      if (bad === undefined) sink.sample(sample);
      else sink.badLine(bad, buf, start, end);
      if (partEnd >= partsEnd) break;
      partStart = partEnd + 1;
    }
  }

  /**
   * Fills the shared sample's type, value, rate, delta flag and member from one
   * value part `value|type[|@rate]…` or `value<suffix>[!]`. Fields in
   * `[extraStart, extraEnd)` (after a tag field) are read like trailing fields.
   */
  #parsePart(buf: Buffer, start: number, end: number, extraStart: number, extraEnd: number): BadLineReason | undefined {
    const sample = this.#sample;
    sample.rate = 1;
    sample.gaugeDelta = false;
    sample.member = '';

    let pipe = start;
    while (pipe < end && buf[pipe] !== PIPE) pipe++;
    let valueEnd = pipe;
    if (pipe === end) {
      // DaTtSs form: the unit is a suffix of the value.
      let suffixEnd = end;
      if (suffixEnd > start && buf[suffixEnd - 1] === BANG) suffixEnd--;
      let suffixStart = suffixEnd;
      while (suffixStart > start && isLetter(buf[suffixStart - 1] as number)) suffixStart--;
      if (suffixStart === suffixEnd) return start === end ? 'missing_value' : 'missing_type';
      const type = dattssSuffixType(buf, suffixStart, suffixEnd);
      if (type === undefined) return 'unknown_type';
      sample.type = type;
      valueEnd = suffixStart;
      // `name:5ms|#a:b|@0.5`: fields after the tag field apply here too.
      if (extraStart < extraEnd) {
        const extraBad = this.#parseFields(buf, extraStart, extraEnd);
        if (extraBad !== undefined) return extraBad;
      }
    } else {
      let typeEnd = pipe + 1;
      while (typeEnd < end && buf[typeEnd] !== PIPE) typeEnd++;
      const type = typeOf(buf, pipe + 1, typeEnd);
      if (type === undefined) return pipe + 1 === typeEnd ? 'missing_type' : 'unknown_type';
      sample.type = type;
      const bad = this.#parseFields(buf, typeEnd, end);
      if (bad !== undefined) return bad;
      if (extraStart < extraEnd) {
        const extraBad = this.#parseFields(buf, extraStart, extraEnd);
        if (extraBad !== undefined) return extraBad;
      }
    }
    return this.#parseValue(buf, start, valueEnd);
  }

  /** Reads `|field|field…`; only `@rate` has a meaning here, other fields are ignored. */
  #parseFields(buf: Buffer, start: number, end: number): BadLineReason | undefined {
    let fieldStart = start;
    while (fieldStart < end) {
      fieldStart++; // skip the '|'
      let fieldEnd = fieldStart;
      while (fieldEnd < end && buf[fieldEnd] !== PIPE) fieldEnd++;
      if (buf[fieldStart] === AT) {
        const rate = parseDecimal(buf, fieldStart + 1, fieldEnd);
        if (!(rate > 0 && rate <= 1)) return 'bad_rate';
        this.#sample.rate = rate;
      }
      fieldStart = fieldEnd;
    }
    return undefined;
  }

  #parseValue(buf: Buffer, start: number, end: number): BadLineReason | undefined {
    const sample = this.#sample;
    if (start === end) return 'missing_value';
    switch (sample.type) {
      case 'set': {
        const memberStart = trimStart(buf, start, end);
        const memberEnd = trimEnd(buf, memberStart, end);
        if (memberStart === memberEnd) return 'missing_value';
        if (memberEnd - memberStart > this.#options.maxNameLength) return 'name_too_long';
        const member = this.#decodeText(buf, memberStart, memberEnd);
        if (member === undefined) return 'invalid_utf8';
        sample.member = member;
        sample.value = 1;
        return undefined;
      }
      case 'gauge': {
        const first = buf[trimStart(buf, start, end)];
        sample.gaugeDelta = first === PLUS || first === MINUS;
        break;
      }
      case 'counter':
      case 'timer':
        break;
    }
    const value = parseDecimal(buf, start, end);
    if (Number.isNaN(value)) return 'bad_value';
    if (sample.type === 'timer' && value < 0) return 'negative_timer';
    sample.value = value;
    return undefined;
  }

  /**
   * Stores the series name in the shared sample, or returns the reason it is
   * not acceptable. (Not `string | BadLineReason`: a reason is a string too.)
   */
  #decodeName(buf: Buffer, start: number, end: number): BadLineReason | undefined {
    let clean = true;
    for (let i = start; i < end; i++) {
      if (NAME_BYTE_OK[buf[i] as number] === 0) {
        clean = false;
        break;
      }
    }
    let name: string;
    // Length in bytes: clean and sanitized names are ASCII, so their length is their byte count.
    let bytes: number;
    if (clean) {
      name = buf.toString('latin1', start, end);
      bytes = name.length;
    } else if (this.#options.sanitizeNames) {
      name = sanitizeName(buf, start, end);
      bytes = name.length;
    } else {
      const decoded = this.#decodeText(buf, start, end);
      if (decoded === undefined) return 'invalid_utf8';
      name = decoded;
      bytes = end - start;
    }
    if (bytes === 0) return 'empty_name';
    if (bytes > this.#options.maxNameLength) return 'name_too_long';
    this.#sample.name = name;
    return undefined;
  }

  #parseTags(buf: Buffer, start: number, end: number): { tags: string; bad?: BadLineReason } {
    const tags = this.#tagScratch;
    tags.length = 0;
    let tagStart = start;
    while (tagStart <= end) {
      let tagEnd = tagStart;
      while (tagEnd < end && buf[tagEnd] !== COMMA) tagEnd++;
      const s = trimStart(buf, tagStart, tagEnd);
      const e = trimEnd(buf, tagStart, tagEnd);
      if (s < e) {
        if (e - s > this.#options.maxTagLength) return { tags: '', bad: 'tag_too_long' };
        if (tags.length === this.#options.maxTagsPerLine) return { tags: '', bad: 'too_many_tags' };
        const text = this.#decodeText(buf, s, e);
        if (text === undefined) return { tags: '', bad: 'invalid_utf8' };
        const colon = text.indexOf(':');
        tags.push(colon === -1 ? { key: text, value: '' } : { key: text.slice(0, colon), value: text.slice(colon + 1) });
      }
      tagStart = tagEnd + 1;
    }
    return { tags: canonicalTags(tags) };
  }

  /** ASCII as is; other bytes must be valid UTF-8. */
  #decodeText(buf: Buffer, start: number, end: number): string | undefined {
    for (let i = start; i < end; i++) {
      if ((buf[i] as number) >= 0x80) {
        try {
          return this.#utf8.decode(buf.subarray(start, end));
        } catch {
          return undefined;
        }
      }
    }
    return buf.toString('latin1', start, end);
  }
}

/** Etsy's keyNameSanitize on bytes: whitespace → `_`, `/` → `-`, other bytes outside `[A-Za-z0-9_.-]` dropped. */
function sanitizeName(buf: Buffer, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    const byte = buf[i] as number;
    if (NAME_BYTE_OK[byte] === 1) {
      out += String.fromCharCode(byte);
      i++;
    } else if (isWhitespace(byte)) {
      // /\s+/ → '_': a run of whitespace becomes one underscore.
      out += String.fromCharCode(UNDERSCORE);
      while (i < end && isWhitespace(buf[i] as number)) i++;
    } else {
      if (byte === SLASH) out += '-';
      i++;
    }
  }
  return out;
}

function isWhitespace(byte: number): boolean {
  return byte === SPACE || (byte >= TAB && byte <= CR);
}

function isLetter(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a);
}

function trimStart(buf: Buffer, start: number, end: number): number {
  while (start < end && buf[start] === SPACE) start++;
  return start;
}

function trimEnd(buf: Buffer, start: number, end: number): number {
  while (end > start && buf[end - 1] === SPACE) end--;
  return end;
}

/** DaTtSs units: `c`, `ms` and `g` only. */
function dattssSuffixType(buf: Buffer, start: number, end: number): MetricType | undefined {
  const a = buf[start];
  if (end - start === 1) return a === 0x63 ? 'counter' : a === 0x67 ? 'gauge' : undefined;
  if (end - start === 2 && a === 0x6d && buf[start + 1] === 0x73) return 'timer';
  return undefined;
}

/** Maps a type field (spaces around it tolerated) to a metric type. */
function typeOf(buf: Buffer, start: number, end: number): MetricType | undefined {
  start = trimStart(buf, start, end);
  end = trimEnd(buf, start, end);
  const length = end - start;
  const a = buf[start];
  if (length === 1) {
    switch (a) {
      case 0x63: // c
        return 'counter';
      case 0x67: // g
        return 'gauge';
      case 0x73: // s
        return 'set';
      case 0x68: // h
      case 0x64: // d
        return 'timer';
      default:
        return undefined;
    }
  }
  if (length === 2 && a === 0x6d && buf[start + 1] === 0x73) return 'timer'; // ms
  return undefined;
}
