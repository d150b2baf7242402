import { DattssError } from '../errors.js';
import type { Tag } from '../protocol/tags.js';
import type { ClientClock } from './clock.js';

/** The client's options (docs/client.md, "Options"), their defaults and checks. */
export type Tags = Readonly<Record<string, string>>;

export interface ClientOptions {
  /** Daemon host (default 127.0.0.1). */
  host?: string;
  /** Daemon UDP port (default 8125). */
  port?: number;
  /** Prepended to every name as written: `'api.'` + `'hits'` → `api.hits`. */
  prefix?: string;
  /** Tags on every sample; a call's own tags win for the same key. `''` is a flag tag. */
  tags?: Tags;
  /** `partials` (default): 5-second partial aggregates; `lines`: plain statsd lines. */
  mode?: 'partials' | 'lines';
  /** Largest datagram in bytes (default 1432, a LAN's path MTU). */
  mtu?: number;
  /** How often pending data is sent, in ms, aligned to the clock (default 5000, at most 5000). */
  flushIntervalMs?: number;
  /** Series held per interval in partials mode; samples of further series are dropped and counted (default 10000). */
  maxSeries?: number;
  /** Distinct members per set series and interval (default 10000). */
  maxSetMembers?: number;
  /** Start sending at once (default true); false waits for `start()`. */
  started?: boolean;
  /** Told about every dropped sample and failed send; never required, its own errors are ignored. */
  onError?: (error: DattssError) => void;
  /** Injected time, for tests. */
  clock?: ClientClock;
}

export const DEFAULTS = { host: '127.0.0.1', port: 8125, prefix: '', mode: 'partials', mtu: 1432, flushIntervalMs: 5000, maxSeries: 10_000, maxSetMembers: 10_000 } as const;

const BAD_TAG_KEY = /[:|,\r\n]/;
const BAD_TAG_VALUE = /[|,\r\n]/;

/** The tags of an options or call argument, or why they cannot be sent. */
export function tagList(tags: Tags | undefined): Tag[] | string {
  if (tags === undefined) return [];
  if (typeof tags !== 'object' || tags === null) return 'tags must be an object of strings';
  const list: Tag[] = [];
  for (const [key, value] of Object.entries(tags)) {
    if (key === '' || BAD_TAG_KEY.test(key)) return `bad tag key ${JSON.stringify(key)}: empty, or holds : | , or a line break`;
    const text = String(value);
    if (BAD_TAG_VALUE.test(text)) return `bad tag value ${JSON.stringify(text)} for ${key}: holds | , or a line break`;
    list.push({ key, value: text });
  }
  return list;
}

export function checkInteger(option: string, value: unknown, min: number, max: number): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw optionsError(`${option} must be an integer from ${min} to ${max}, not ${String(value)}`);
}

export function optionsError(message: string): DattssError {
  return new DattssError('DATTSS_CLIENT_OPTIONS', message);
}
