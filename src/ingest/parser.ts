import { partialOf } from '../aggregate/partial-figures.js';
import type { Partial } from '../aggregate/partial.js';
import type { Config } from '../config/schema.js';
import type { DogEvent, ServiceCheck } from '../protocol/events.js';
import type { MetricType } from '../protocol/metric-type.js';
import { decodePartialBody, PARTIAL_LINE_PREFIX, type GaugeSection } from '../protocol/partial-line.js';
import { canonicalTags, type Tag } from '../protocol/tags.js';
import { isEventLine, isServiceCheckLine, parseEvent, parseServiceCheck } from './dogstatsd-events.js';
import {
  allLetters,
  AT,
  BANG,
  COLON,
  COMMA,
  CR,
  dattssSuffixType,
  EQUALS,
  HASH,
  isLetter,
  latin1,
  MINUS,
  NAME_BYTE_OK,
  NEWLINE,
  PIPE,
  PLUS,
  sanitizeName,
  SEMICOLON,
  trimEnd,
  trimStart,
  typeOf,
  UPPER_T,
} from './line-bytes.js';
import { LineKeys } from './line-keys.js';
import { parseDecimal } from './number.js';

const LOWER_P = 0x70;
/** Distinct DogStatsD tag fields remembered with their canonical form; the cache restarts when full. */
const TAG_CACHE_ENTRIES = 4096;
/** Longer tag fields are canonicalized every time rather than held in the cache. */
const TAG_CACHE_MAX_FIELD_BYTES = 512;

/**
 * Buffer → samples, events and service checks for every statsd dialect.
 * Pure and synchronous: no I/O, no timers, never throws. Each sample is handed
 * to the sink in a single reused object, so the sink must copy what it keeps.
 *
 *   name:value[:value…]|type[|@rate][|#k:v,…][|T<unix s>][|c:<id>]   Etsy statsd, DogStatsD
 *   name,k=v,k2=v2:value|type      name;k=v;k2=v2:value|type         Telegraf, Graphite tags
 *   name:1:2:3|d                                                     DogStatsD multi-value
 *   name:153ms  name:1c  name:23g  name:5g!                          DaTtSs value with unit suffix
 *   AUTH:PROCESS:STAT:VALUE                                          DaTtSs v1 datagram
 *   _e{3,4}:title|text|…   _sc|name|status|…                         DogStatsD events, service checks
 *   _p1|ms|name|tags|…                                               a client's 5-second partial aggregate
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
  /** A gauge value written with an explicit `+` or `-` in delta mode: a delta on the current value. */
  gaugeDelta: boolean;
  /** Set member; '' for other types. */
  member: string;
  /** DogStatsD `|T` timestamp in Unix seconds; NaN when the line has none. */
  timestampSec: number;
}

export type BadLineReason =
  | 'missing_value'
  | 'missing_type'
  | 'unknown_type'
  | 'bad_value'
  | 'negative_timer'
  | 'bad_rate'
  | 'bad_timestamp'
  | 'empty_name'
  | 'name_too_long'
  | 'invalid_utf8'
  | 'too_many_tags'
  | 'tag_too_long'
  | 'bad_event'
  | 'bad_service_check'
  | 'auth_failed'
  | 'bad_partial';

/** A decoded partial-aggregate line (protocol/partial-line.ts), ready for Registry.addPartial. */
export interface PartialRecord {
  name: string;
  /** Canonical tag string, '' when none. */
  tags: string;
  partial: Partial;
  /** A gauge's values written as deltas before any absolute one: offsets from the series' current value. */
  gaugeOffsets: GaugeSection | null;
}

export interface ParseSink {
  /**
   * `keyId` is the parser's id for the sample's name and tags (LineKeys), or
   * -1: a consumer may index its series by it, checking their name and tags.
   */
  sample(sample: Sample, keyId: number): void;
  /** Events and service checks without `d:` carry NaN; the sink stamps them. */
  event(event: DogEvent): void;
  serviceCheck(check: ServiceCheck): void;
  /** A client's pre-aggregated partial, decoded whole (a malformed one is a bad line instead). */
  partial(record: PartialRecord): void;
  /** One rejected value, or a whole rejected line; `start`/`end` delimit the line in `buf`. */
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
  /** 'delta' (Etsy): `+N`/`-N` change the current gauge value; 'absolute' (DogStatsD): they set it. */
  gaugeSigns: 'delta' | 'absolute';
  /** Keys accepted in DaTtSs `AUTH:PROCESS:STAT:VALUE` datagrams; empty: AUTH is ignored. */
  authKeys: readonly string[];
  /** Distinct names and tag sets the parser remembers by their bytes (LineKeys) before it starts over. */
  maxLineKeys: number;
}

/** The parser options a config implies: the daemon's, and the same for `dattss send`'s checks. */
export function parserOptionsOf(config: Readonly<Config>): ParserOptions {
  return {
    sanitizeNames: config.sanitizeNames,
    maxNameLength: config.maxNameLength,
    maxTagsPerLine: config.maxTagsPerLine,
    maxTagLength: config.maxTagLength,
    gaugeSigns: config.gaugeSigns,
    authKeys: config.dattssAuthKeys,
    // Room for every series the registry may hold, and for some spelled two ways (tags in another order).
    maxLineKeys: 2 * config.maxSeries,
  };
}

export class LineParser {
  readonly #options: ParserOptions;
  readonly #sample: Sample = {
    type: 'counter',
    name: '',
    tags: '',
    value: 0,
    rate: 1,
    gaugeDelta: false,
    member: '',
    timestampSec: Number.NaN,
  };
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true });
  readonly #authKeys: Buffer[];
  readonly #tags: Tag[] = [];
  /**
   * Raw `|#` fields (latin1, so distinct bytes give distinct keys) that passed
   * every tag check, with their canonical string: services repeat the same few
   * tag sets, and splitting, decoding and sorting them on every line dominated
   * tagged parsing (bench/parser-registry.js).
   */
  readonly #tagCache = new Map<string, string>();
  /** Value parts waiting for the type of a later part (`name:1:2:3|d`): start, end pairs. */
  readonly #untyped: number[] = [];
  readonly #keys: LineKeys;
  /** The LineKeys id of the line being parsed, or -1. */
  #keyId = -1;

  constructor(options: ParserOptions) {
    this.#options = options;
    this.#authKeys = options.authKeys.map((key) => Buffer.from(key));
    this.#keys = new LineKeys(options.maxLineKeys);
  }

  /**
   * Parses every line of one packet, `buf[from, to)`; returns the number of
   * non-empty lines seen. A newline at `buf[to]` spares the search for the
   * last line's end a run through the bytes after the packet.
   */
  parse(buf: Buffer, sink: ParseSink, from = 0, to = buf.length): number {
    let lines = 0;
    let start = from;
    while (start < to) {
      let end = buf.indexOf(NEWLINE, start);
      if (end === -1 || end > to) end = to;
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
    if (buf[start] === 0x5f) {
      // `_e{` and `_sc|` cannot start a metric name that means anything else.
      if (isEventLine(buf, start, end)) {
        const result = parseEvent(buf, start, end);
        return 'event' in result ? sink.event(result.event) : sink.badLine(result.bad, buf, start, end);
      }
      if (isServiceCheckLine(buf, start, end)) {
        const result = parseServiceCheck(buf, start, end);
        return 'check' in result ? sink.serviceCheck(result.check) : sink.badLine(result.bad, buf, start, end);
      }
      if (isPartialLine(buf, start, end)) return this.#parsePartialLine(buf, start, end, sink);
    }
    // One pass for what decides the dialect: the first ':', how many ':', the first '|', and
    // where Telegraf (`name,k=v`) or Graphite (`name;k=v`) tags end the name.
    let colon = -1;
    let colons = 0;
    let pipe = -1;
    let nameEnd = -1;
    for (let i = start; i < end; i++) {
      const byte = buf[i];
      if (byte === COLON) {
        if (colon === -1) colon = i;
        colons++;
      } else if (byte === PIPE) {
        pipe = i;
        break;
      } else if ((byte === COMMA || byte === SEMICOLON) && colon === -1 && nameEnd === -1) {
        nameEnd = i;
      }
    }
    if (colon === -1) return sink.badLine('missing_value', buf, start, end);
    if (pipe === -1 && colons === 3) return this.#parseDattssDatagram(buf, start, end, sink);
    if (nameEnd === -1) nameEnd = colon;

    const sample = this.#sample;
    sample.timestampSec = Number.NaN;

    // The DogStatsD tag field runs from `|#` to the next `|`; it may contain `:`,
    // so it is cut out before the value parts are split on `:`.
    let tagStart = -1;
    for (let i = pipe === -1 ? end : pipe; i < end - 1; i++) {
      if (buf[i] === PIPE && buf[i + 1] === HASH) {
        tagStart = i;
        break;
      }
    }
    const tagEnd = tagStart === -1 ? end : nextPipe(buf, tagStart + 2, end);
    const fieldStart = tagStart === -1 ? end : tagStart + 2;
    const keys = this.#keys;
    let keyId = keys.find(buf, start, colon, fieldStart, tagEnd);
    if (keyId !== -1) {
      sample.name = keys.names[keyId] as string;
      sample.tags = keys.tags[keyId] as string;
    } else {
      const bad = this.#decodeNameAndTags(buf, start, nameEnd, colon, tagStart, tagEnd);
      if (bad !== undefined) return sink.badLine(bad, buf, start, end);
      keyId = keys.add(buf, start, colon, fieldStart, tagEnd, sample.name, sample.tags);
    }
    this.#keyId = keyId;
    this.#parseParts(buf, start, end, colon + 1, tagStart === -1 ? end : tagStart, tagEnd, sink);
  }

  /**
   * Sets the sample's name and canonical tags from the name `[start, nameEnd)`,
   * tags in the name `(nameEnd, colon)` and the tag field `|#` at `tagStart`,
   * or returns why they are not acceptable.
   */
  #decodeNameAndTags(buf: Buffer, start: number, nameEnd: number, colon: number, tagStart: number, tagEnd: number): BadLineReason | undefined {
    const tags = this.#tags;
    // Setting an array's length is a runtime call in V8 (~25% of parse time when done per
    // line, measured with bench/parser-registry.js); most lines have no tags to clear.
    if (tags.length !== 0) tags.length = 0;
    const badName = this.#decodeName(buf, start, nameEnd);
    if (badName !== undefined) return badName;
    if (nameEnd < colon) {
      const bad = this.#collectTags(buf, nameEnd + 1, colon, true);
      if (bad !== undefined) return bad;
    }
    if (tagStart !== -1) return this.#setFieldTags(buf, tagStart + 2, tagEnd);
    this.#sample.tags = tags.length === 0 ? '' : canonicalTags(tags);
    return undefined;
  }

  /**
   * Splits `[partsStart, partsEnd)` into value parts on `:` and emits them.
   * Fields after a tag field (`[tagEnd, end)`, e.g. `…|#a:b|@0.5`) belong to
   * the last part. A part that is only a value takes its type and fields from
   * the next typed part (DogStatsD's `name:1:2:3|d`).
   */
  #parseParts(buf: Buffer, start: number, end: number, partsStart: number, partsEnd: number, tagEnd: number, sink: ParseSink): void {
    const untyped = this.#untyped;
    if (untyped.length !== 0) untyped.length = 0;
    let partStart = partsStart;
    for (;;) {
      const partEnd = this.#partEnd(buf, partStart, partsEnd);
      const last = partEnd >= partsEnd;
      if (!last && isBareValue(buf, partStart, partEnd)) {
        untyped.push(partStart, partEnd);
      } else {
        const extraStart = last && partsEnd < end ? tagEnd : end;
        const valueEnd = this.#parseTypeAndFields(buf, partStart, partEnd, extraStart, end);
        if (typeof valueEnd === 'string') {
          for (let i = 0; i < untyped.length; i += 2) sink.badLine(valueEnd, buf, start, end);
          sink.badLine(valueEnd, buf, start, end);
        } else {
          for (let i = 0; i < untyped.length; i += 2) this.#emitValue(buf, untyped[i] as number, untyped[i + 1] as number, start, end, sink);
          this.#emitValue(buf, partStart, valueEnd, start, end, sink);
        }
        if (untyped.length !== 0) untyped.length = 0;
      }
      if (last) break;
      partStart = partEnd + 1;
    }
  }

  /**
   * The end of the value part starting at `start`: the next `:`, except the
   * `:` of an extension field after the type (`|c:container`, `|x:…`), which
   * runs to the next `|`.
   */
  #partEnd(buf: Buffer, start: number, limit: number): number {
    let fields = 0;
    let fieldStart = start;
    for (let i = start; i < limit; i++) {
      const byte = buf[i];
      if (byte === PIPE) {
        fields++;
        fieldStart = i + 1;
      } else if (byte === COLON) {
        if (fields < 2 || !allLetters(buf, fieldStart, i)) return i;
        while (i + 1 < limit && buf[i + 1] !== PIPE) i++;
      }
    }
    return limit;
  }

  #emitValue(buf: Buffer, valueStart: number, valueEnd: number, lineStart: number, lineEnd: number, sink: ParseSink): void {
    const bad = this.#parseValue(buf, valueStart, valueEnd);
    if (bad === undefined) sink.sample(this.#sample, this.#keyId);
    else sink.badLine(bad, buf, lineStart, lineEnd);
  }

  /**
   * Sets the shared sample's type, rate and timestamp from one part
   * `value|type[|field…]` or `value<suffix>[!]`, plus the fields in
   * `[extraStart, extraEnd)`. Returns where the value ends, or why the part is bad.
   */
  #parseTypeAndFields(buf: Buffer, start: number, end: number, extraStart: number, extraEnd: number): number | BadLineReason {
    const sample = this.#sample;
    sample.rate = 1;
    const pipe = nextPipe(buf, start, end);
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
    } else {
      const typeEnd = nextPipe(buf, pipe + 1, end);
      const type = typeOf(buf, pipe + 1, typeEnd);
      if (type === undefined) return pipe + 1 === typeEnd ? 'missing_type' : 'unknown_type';
      sample.type = type;
      const bad = this.#parseFields(buf, typeEnd, end);
      if (bad !== undefined) return bad;
    }
    if (extraStart < extraEnd) {
      const bad = this.#parseFields(buf, extraStart, extraEnd);
      if (bad !== undefined) return bad;
    }
    return valueEnd;
  }

  /** Reads `|field|field…`: `@rate` and `T<unix s>`; `c:…` and other fields are ignored. */
  #parseFields(buf: Buffer, start: number, end: number): BadLineReason | undefined {
    let fieldStart = start;
    while (fieldStart < end) {
      fieldStart++; // skip the '|'
      const fieldEnd = nextPipe(buf, fieldStart, end);
      const first = buf[fieldStart];
      if (first === AT) {
        const rate = parseDecimal(buf, fieldStart + 1, fieldEnd);
        if (!(rate > 0 && rate <= 1)) return 'bad_rate';
        this.#sample.rate = rate;
      } else if (first === UPPER_T) {
        const ts = parseDecimal(buf, fieldStart + 1, fieldEnd);
        if (!Number.isInteger(ts) || ts < 0 || buf[fieldStart + 1] === PLUS) return 'bad_timestamp';
        this.#sample.timestampSec = ts;
      }
      fieldStart = fieldEnd;
    }
    return undefined;
  }

  /** Sets the sample's value, member and delta flag for its type. */
  #parseValue(buf: Buffer, start: number, end: number): BadLineReason | undefined {
    const sample = this.#sample;
    sample.gaugeDelta = false;
    sample.member = '';
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
        sample.gaugeDelta = this.#options.gaugeSigns === 'delta' && (first === PLUS || first === MINUS);
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

  /** DaTtSs v1: `AUTH:PROCESS:STAT:VALUE`, VALUE like `153ms`; PROCESS becomes tag `process`. */
  #parseDattssDatagram(buf: Buffer, start: number, end: number, sink: ParseSink): void {
    const first = buf.indexOf(COLON, start);
    const second = buf.indexOf(COLON, first + 1);
    const third = buf.indexOf(COLON, second + 1);
    if (this.#authKeys.length > 0 && !this.#authorized(buf, start, first)) return sink.badLine('auth_failed', buf, start, end);
    const badName = this.#decodeName(buf, second + 1, third);
    if (badName !== undefined) return sink.badLine(badName, buf, start, end);
    this.#keyId = -1;
    const sample = this.#sample;
    sample.timestampSec = Number.NaN;
    const tags = this.#tags;
    if (tags.length !== 0) tags.length = 0;
    if (second > first + 1) {
      const process = this.#decodeText(buf, first + 1, second);
      if (process === undefined) return sink.badLine('invalid_utf8', buf, start, end);
      if (process.length + 'process:'.length > this.#options.maxTagLength) return sink.badLine('tag_too_long', buf, start, end);
      tags.push({ key: 'process', value: process });
    }
    sample.tags = canonicalTags(tags);
    const valueEnd = this.#parseTypeAndFields(buf, third + 1, end, end, end);
    if (typeof valueEnd === 'string') return sink.badLine(valueEnd, buf, start, end);
    this.#emitValue(buf, third + 1, valueEnd, start, end, sink);
  }

  /**
   * `_p1|<type>|<name>|<tags>|<body>`: the name and tags go through the same
   * checks as a statsd line's, the body through protocol/partial-line.ts.
   * Any fault refuses the whole line, so a partial is never half applied.
   */
  #parsePartialLine(buf: Buffer, start: number, end: number, sink: ParseSink): void {
    const typeStart = nextPipe(buf, start, end) + 1;
    const nameStart = nextPipe(buf, typeStart, end) + 1;
    const tagsStart = nextPipe(buf, nameStart, end) + 1;
    const bodyStart = nextPipe(buf, tagsStart, end) + 1;
    if (bodyStart > end || latin1(buf, start, typeStart) !== PARTIAL_LINE_PREFIX) return sink.badLine('bad_partial', buf, start, end);
    const badName = this.#decodeName(buf, nameStart, tagsStart - 1);
    if (badName !== undefined) return sink.badLine(badName, buf, start, end);
    if (this.#tags.length !== 0) this.#tags.length = 0;
    const badTags = this.#setFieldTags(buf, tagsStart, bodyStart - 1);
    if (badTags !== undefined) return sink.badLine(badTags, buf, start, end);
    const body = this.#decodeText(buf, bodyStart, end);
    if (body === undefined) return sink.badLine('invalid_utf8', buf, start, end);
    const figures = decodePartialBody(latin1(buf, typeStart, nameStart - 1), body);
    if (figures === undefined) return sink.badLine('bad_partial', buf, start, end);
    if (figures.type === 'set' && figures.members.some((member) => Buffer.byteLength(member) > this.#options.maxNameLength)) {
      return sink.badLine('name_too_long', buf, start, end);
    }
    const decoded = partialOf(figures);
    if (decoded === undefined) return sink.badLine('bad_partial', buf, start, end);
    sink.partial({ name: this.#sample.name, tags: this.#sample.tags, partial: decoded.partial, gaugeOffsets: decoded.gaugeOffsets });
  }

  /** Compares the key with every configured key in full, so the time taken does not tell how much matched. */
  #authorized(buf: Buffer, start: number, end: number): boolean {
    const length = end - start;
    let matched = 0;
    for (const key of this.#authKeys) {
      let difference = key.length ^ length;
      for (let i = 0; i < key.length; i++) difference |= (key[i] as number) ^ (i < length ? (buf[start + i] as number) : 0);
      matched |= difference === 0 ? 1 : 0;
    }
    return matched === 1;
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
      name = latin1(buf, start, end);
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

  /**
   * Sets the sample's tags from the tag field `[start, end)` (DogStatsD's, or
   * a partial line's) and any tags already taken from the name. A field alone
   * goes through the cache.
   */
  #setFieldTags(buf: Buffer, start: number, end: number): BadLineReason | undefined {
    if (this.#tags.length !== 0 || end - start > TAG_CACHE_MAX_FIELD_BYTES) {
      const bad = this.#collectTags(buf, start, end, false);
      if (bad === undefined) this.#sample.tags = canonicalTags(this.#tags);
      return bad;
    }
    const raw = latin1(buf, start, end);
    let canonical = this.#tagCache.get(raw);
    if (canonical === undefined) {
      const bad = this.#collectTags(buf, start, end, false);
      if (bad !== undefined) return bad;
      canonical = canonicalTags(this.#tags);
      if (this.#tagCache.size === TAG_CACHE_ENTRIES) this.#tagCache.clear();
      this.#tagCache.set(raw, canonical);
    }
    this.#sample.tags = canonical;
    return undefined;
  }

  /**
   * Adds the tags of `[start, end)` to the line's tag list: DogStatsD style
   * (`k:v,k2:v2`), or, with `inName`, Telegraf/Graphite style (`k=v` separated
   * by `,` or `;`).
   */
  #collectTags(buf: Buffer, start: number, end: number, inName: boolean): BadLineReason | undefined {
    const tags = this.#tags;
    const separator = inName ? EQUALS : COLON;
    let tagStart = start;
    while (tagStart <= end) {
      let tagEnd = tagStart;
      while (tagEnd < end && buf[tagEnd] !== COMMA && !(inName && buf[tagEnd] === SEMICOLON)) tagEnd++;
      const s = trimStart(buf, tagStart, tagEnd);
      const e = trimEnd(buf, s, tagEnd);
      if (s < e) {
        if (e - s > this.#options.maxTagLength) return 'tag_too_long';
        if (tags.length === this.#options.maxTagsPerLine) return 'too_many_tags';
        let split = s;
        while (split < e && buf[split] !== separator) split++;
        const key = this.#decodeText(buf, s, split);
        const value = split < e ? this.#decodeText(buf, split + 1, e) : '';
        if (key === undefined || value === undefined) return 'invalid_utf8';
        tags.push({ key, value });
      }
      tagStart = tagEnd + 1;
    }
    return undefined;
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
    return latin1(buf, start, end);
  }
}

/** The index of the next `|` at or after `from`, or `end` when there is none. */
function nextPipe(buf: Buffer, from: number, end: number): number {
  let i = from;
  while (i < end && buf[i] !== PIPE) i++;
  return i;
}

/** `_p<version>|`: a partial-aggregate line of some version (a statsd line cannot have `|` before its `:`). */
function isPartialLine(buf: Buffer, start: number, end: number): boolean {
  if (buf[start + 1] !== LOWER_P) return false;
  let i = start + 2;
  while (i < end && (buf[i] as number) >= 0x30 && (buf[i] as number) <= 0x39) i++;
  return i > start + 2 && buf[i] === PIPE;
}

/** A part with no `|` and no unit suffix: only a value (`1` of `name:1:2|d`). */
function isBareValue(buf: Buffer, start: number, end: number): boolean {
  if (start === end) return false;
  for (let i = start; i < end; i++) if (buf[i] === PIPE) return false;
  const lastByte = buf[end - 1] as number;
  return !isLetter(lastByte) && lastByte !== BANG;
}
