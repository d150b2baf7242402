import type { DogEvent, EventAlertType, ServiceCheck } from '../protocol/events.js';
import { canonicalTags, type Tag } from '../protocol/tags.js';

/**
 * DogStatsD events and service checks (one line each; rare, so plain string
 * handling is fine here). Pure: without `d:` the time is NaN, for the sink to stamp.
 *
 *   _e{<title bytes>,<text bytes>}:<title>|<text>|d:<ts>|h:<host>|k:<key>|p:<normal|low>|s:<source>|t:<alert>|#<tags>
 *   _sc|<name>|<status 0-3>|d:<ts>|h:<host>|#<tags>|m:<message>
 */
export type EventParseResult = { event: DogEvent } | { bad: 'bad_event' };
export type CheckParseResult = { check: ServiceCheck } | { bad: 'bad_service_check' };

const ALERT_TYPES = new Set<EventAlertType>(['error', 'warning', 'info', 'success']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isEventLine(buf: Buffer, start: number, end: number): boolean {
  return end - start > 3 && buf[start] === 0x5f && buf[start + 1] === 0x65 && buf[start + 2] === 0x7b; // _e{
}

export function isServiceCheckLine(buf: Buffer, start: number, end: number): boolean {
  return end - start > 4 && buf[start] === 0x5f && buf[start + 1] === 0x73 && buf[start + 2] === 0x63 && buf[start + 3] === 0x7c; // _sc|
}

export function parseEvent(buf: Buffer, start: number, end: number): EventParseResult {
  const bad = { bad: 'bad_event' } as const;
  const header = buf.toString('latin1', start, Math.min(end, start + 40));
  const match = /^_e\{(\d{1,9}),(\d{1,9})\}:/.exec(header);
  if (match === null) return bad;
  const titleLength = Number(match[1]);
  const textLength = Number(match[2]);
  const bodyStart = start + match[0].length;
  // Lengths are UTF-8 byte counts; some clients send character counts, which
  // are tried next. Either way the event ends at its own line.
  let parts = splitByBytes(buf, bodyStart, end, titleLength, textLength);
  if (parts === undefined) {
    const body = decode(buf, bodyStart, end);
    if (body === undefined) return bad;
    parts = splitByCharacters(body, titleLength, textLength);
  }
  if (parts === undefined || parts.title === '') return bad;

  const event: DogEvent = {
    tsSec: Number.NaN,
    title: parts.title,
    text: parts.text.replaceAll('\\n', '\n'),
    hostname: null,
    aggregationKey: null,
    priority: 'normal',
    sourceType: null,
    alertType: 'info',
    tags: '',
  };
  for (const field of parts.rest === '' ? [] : parts.rest.split('|')) {
    const value = field.slice(2);
    if (field.startsWith('#')) event.tags = tagsOf(field.slice(1));
    else if (field.startsWith('d:')) {
      const ts = Number(value);
      if (!Number.isInteger(ts) || ts < 0) return bad;
      event.tsSec = ts;
    } else if (field.startsWith('h:')) event.hostname = value;
    else if (field.startsWith('k:')) event.aggregationKey = value;
    else if (field.startsWith('s:')) event.sourceType = value;
    else if (field.startsWith('p:')) {
      if (value !== 'normal' && value !== 'low') return bad;
      event.priority = value;
    } else if (field.startsWith('t:')) {
      if (!ALERT_TYPES.has(value as EventAlertType)) return bad;
      event.alertType = value as EventAlertType;
    }
    // Unknown fields are ignored, as for metrics.
  }
  return { event };
}

export function parseServiceCheck(buf: Buffer, start: number, end: number): CheckParseResult {
  const bad = { bad: 'bad_service_check' } as const;
  const line = decode(buf, start, end);
  if (line === undefined) return bad;
  // The message runs to the end of the line and may itself contain `|`.
  const messageAt = line.indexOf('|m:');
  const head = messageAt === -1 ? line : line.slice(0, messageAt);
  const fields = head.split('|');
  const [, name = '', statusText = ''] = fields;
  if (name === '' || !/^[0-3]$/.test(statusText)) return bad;
  const check: ServiceCheck = {
    tsSec: Number.NaN,
    name,
    status: Number(statusText) as ServiceCheck['status'],
    hostname: null,
    message: messageAt === -1 ? null : line.slice(messageAt + 3).replaceAll('\\n', '\n'),
    tags: '',
  };
  for (const field of fields.slice(3)) {
    if (field.startsWith('#')) check.tags = tagsOf(field.slice(1));
    else if (field.startsWith('d:')) {
      const ts = Number(field.slice(2));
      if (!Number.isInteger(ts) || ts < 0) return bad;
      check.tsSec = ts;
    } else if (field.startsWith('h:')) check.hostname = field.slice(2);
  }
  return { check };
}

interface EventParts {
  title: string;
  text: string;
  /** The fields after the text, without the leading `|`. */
  rest: string;
}

function splitByBytes(buf: Buffer, start: number, end: number, titleLength: number, textLength: number): EventParts | undefined {
  const titleEnd = start + titleLength;
  const textStart = titleEnd + 1;
  const textEnd = textStart + textLength;
  if (textEnd > end || buf[titleEnd] !== 0x7c) return undefined;
  if (textEnd < end && buf[textEnd] !== 0x7c) return undefined;
  const title = decode(buf, start, titleEnd);
  const text = decode(buf, textStart, textEnd);
  const rest = textEnd < end ? decode(buf, textEnd + 1, end) : '';
  if (title === undefined || text === undefined || rest === undefined) return undefined;
  return { title, text, rest };
}

function splitByCharacters(body: string, titleLength: number, textLength: number): EventParts | undefined {
  const chars = [...body];
  if (chars[titleLength] !== '|') return undefined;
  const textEnd = titleLength + 1 + textLength;
  if (textEnd > chars.length || (textEnd < chars.length && chars[textEnd] !== '|')) return undefined;
  return {
    title: chars.slice(0, titleLength).join(''),
    text: chars.slice(titleLength + 1, textEnd).join(''),
    rest: chars.slice(textEnd + 1).join(''),
  };
}

function tagsOf(text: string): string {
  const tags: Tag[] = [];
  for (const raw of text.split(',')) {
    const tag = raw.trim();
    if (tag === '') continue;
    const colon = tag.indexOf(':');
    tags.push(colon === -1 ? { key: tag, value: '' } : { key: tag.slice(0, colon), value: tag.slice(colon + 1) });
  }
  return canonicalTags(tags);
}

function decode(buf: Buffer, start: number, end: number): string | undefined {
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return undefined;
  }
}
