/**
 * Byte-level helpers of the line parser: character classes, trimming, type
 * letters and Etsy's name sanitizer. Pure, allocation-free except the
 * sanitizer's output string.
 */
import type { MetricType } from '../protocol/metric-type.js';

export const NEWLINE = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const TAB = 0x09;
export const COLON = 0x3a;
export const PIPE = 0x7c;
export const HASH = 0x23;
export const AT = 0x40;
export const COMMA = 0x2c;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const BANG = 0x21;
export const PLUS = 0x2b;
export const MINUS = 0x2d;
export const SLASH = 0x2f;
export const UNDERSCORE = 0x5f;
export const UPPER_T = 0x54;

/** Buffer's own latin1Slice: on every Node dattss supports (toString('latin1') calls it), though undocumented. */
type Latin1Slicing = Buffer & { latin1Slice(start: number, end: number): string };

/**
 * `buf.toString('latin1', start, end)` for `0 <= start <= end <= buf.length`,
 * without toString's argument checks and encoding lookup: 4–11% more lines a
 * second through parser and registry over 40 series, 1–7% over 10k
 * (bench/parser-registry.js, alternating with toString). Were latin1Slice
 * ever gone, every parser test would fail on its first name.
 */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1Slicing).latin1Slice(start, end);
}

/** Bytes Etsy's sanitizer keeps as they are: `[A-Za-z0-9_.-]`. */
export const NAME_BYTE_OK = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const c = String.fromCharCode(b);
  NAME_BYTE_OK[b] = /[A-Za-z0-9_.-]/.test(c) ? 1 : 0;
}

/** Etsy's keyNameSanitize on bytes: whitespace → `_`, `/` → `-`, other bytes outside `[A-Za-z0-9_.-]` dropped. */
export function sanitizeName(buf: Buffer, start: number, end: number): string {
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

export function isWhitespace(byte: number): boolean {
  return byte === SPACE || (byte >= TAB && byte <= CR);
}

export function isLetter(byte: number): boolean {
  return (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a);
}

export function trimStart(buf: Buffer, start: number, end: number): number {
  while (start < end && buf[start] === SPACE) start++;
  return start;
}

export function trimEnd(buf: Buffer, start: number, end: number): number {
  while (end > start && buf[end - 1] === SPACE) end--;
  return end;
}

/** DaTtSs units: `c`, `ms` and `g` only. */
export function dattssSuffixType(buf: Buffer, start: number, end: number): MetricType | undefined {
  const a = buf[start];
  if (end - start === 1) return a === 0x63 ? 'counter' : a === 0x67 ? 'gauge' : undefined;
  if (end - start === 2 && a === 0x6d && buf[start + 1] === 0x73) return 'timer';
  return undefined;
}

/** Maps a type field (spaces around it tolerated) to a metric type. */
export function typeOf(buf: Buffer, start: number, end: number): MetricType | undefined {
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

/** True when every byte of [start, end) is an ASCII letter (and the range is not empty). */
export function allLetters(buf: Buffer, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) if (!isLetter(buf[i] as number)) return false;
  return true;
}
