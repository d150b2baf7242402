import type { Database } from 'better-sqlite3';
import { DattssError } from '../errors.js';
import { canonicalTags } from '../protocol/tags.js';
import type { MetricType } from '../protocol/metric-type.js';
import { chooseResolution, DEFAULT_MAX_POINTS, type RangeQuery, type SeriesSelector } from '../store/queries.js';
import { RESOLUTIONS, type Resolution } from '../store/resolution.js';
import { typesOfName } from '../store/series-list.js';

/**
 * Turns what a user typed — CLI arguments or HTTP query parameters, always
 * strings — into validated store queries, so both read surfaces accept the
 * same words and fail with the same messages (docs/http-api.md).
 */

export const METRIC_TYPES: readonly MetricType[] = ['counter', 'timer', 'gauge', 'set'];
export const MAX_POINTS_LIMIT = 10_000;
export const DEFAULT_SINCE = '1h';
/** Percentiles a timer query returns when none are asked for. */
export const DEFAULT_TIMER_PERCENTILES: readonly number[] = [50, 90, 99];

export interface SeriesParams {
  name?: string | undefined;
  type?: string | undefined;
  /** Exact canonical tags; '' selects the untagged series. */
  tags?: string | undefined;
  /** `k:v` filters: series carrying all of them, merged. */
  tag?: readonly string[] | undefined;
}

export interface RangeParams {
  since?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  resolution?: string | undefined;
  maxPoints?: string | undefined;
}

function invalid(message: string): DattssError {
  return new DattssError('DATTSS_QUERY_INVALID', message);
}

const DURATION_UNIT_SEC: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `90s`, `15m`, `3h`, `2d`, `1w` (a bare number is seconds) → seconds. */
export function parseDurationSec(text: string, what = 'since'): number {
  const match = /^(\d+(?:\.\d+)?)([smhdw]?)$/.exec(text.trim());
  const seconds = match === null ? NaN : Number(match[1]) * (DURATION_UNIT_SEC[match[2] || 's'] as number);
  if (!(seconds > 0)) throw invalid(`${what}: expected a duration like 90s, 15m, 3h, 2d or 1w, got ${JSON.stringify(text)}`);
  return Math.round(seconds);
}

/** Unix seconds, or an ISO 8601 date or date-time (UTC unless it carries an offset). */
export function parseInstantSec(text: string, what: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.floor(Number(trimmed));
  const ms = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? Date.parse(trimmed) : NaN;
  if (Number.isNaN(ms)) throw invalid(`${what}: expected Unix seconds or an ISO 8601 time like 2026-11-22T14:00:00Z, got ${JSON.stringify(text)}`);
  return Math.floor(ms / 1000);
}

export function parseMetricType(text: string): MetricType {
  const type = METRIC_TYPES.find((candidate) => candidate === text);
  if (type === undefined) throw invalid(`type: expected one of ${METRIC_TYPES.join(', ')}, got ${JSON.stringify(text)}`);
  return type;
}

/** `k:v` filters → the tags a series must carry; a key may appear once. */
export function parseTagFilters(filters: readonly string[]): Record<string, string> {
  const matchTags: Record<string, string> = {};
  for (const filter of filters) {
    const colon = filter.indexOf(':');
    const key = colon === -1 ? filter : filter.slice(0, colon);
    if (key === '') throw invalid(`tag: expected key:value, got ${JSON.stringify(filter)}`);
    if (key in matchTags) throw invalid(`tag: ${JSON.stringify(key)} given twice; a series carries one value per key`);
    matchTags[key] = colon === -1 ? '' : filter.slice(colon + 1);
  }
  return matchTags;
}

/** Comma-separated percents in (0, 100], e.g. `50,99,99.9`. */
export function parsePercentiles(text: string): number[] {
  const percentiles = text
    .split(',')
    .map((part) => part.trim().replace(/^p/i, ''))
    .filter((part) => part !== '')
    .map(Number);
  if (percentiles.length === 0 || percentiles.some((p) => !(p > 0 && p <= 100))) {
    throw invalid(`percentiles: expected numbers in (0, 100] separated by commas, like 50,90,99.9, got ${JSON.stringify(text)}`);
  }
  return percentiles;
}

export function parseLimit(text: string | undefined, fallback: number, max: number, what = 'limit'): number {
  if (text === undefined) return fallback;
  const limit = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!(limit >= 1 && limit <= max)) throw invalid(`${what}: expected an integer from 1 to ${max}, got ${JSON.stringify(text)}`);
  return limit;
}

/**
 * The selector for a name: the type is looked up when left out (an error
 * names the choices when the name has several), and an unknown name is
 * DATTSS_SERIES_NOT_FOUND.
 */
export function resolveSelector(db: Database, params: SeriesParams): SeriesSelector {
  const name = params.name?.trim() ?? '';
  if (name === '') throw invalid('name: a metric name is required');
  const types = typesOfName(db, name);
  if (types.length === 0) throw new DattssError('DATTSS_SERIES_NOT_FOUND', `no series named ${JSON.stringify(name)} is stored`);
  let type: MetricType;
  if (params.type !== undefined) {
    type = parseMetricType(params.type);
    if (!types.includes(type)) throw new DattssError('DATTSS_SERIES_NOT_FOUND', `${JSON.stringify(name)} is stored as ${types.join(' and ')}, not ${type}`);
  } else if (types.length === 1) {
    type = types[0] as MetricType;
  } else {
    throw invalid(`${JSON.stringify(name)} is stored as ${types.join(' and ')}; say which with type`);
  }
  const selector: SeriesSelector = { name, type };
  if (params.tags !== undefined) selector.tags = canonicalTagString(params.tags);
  else if (params.tag !== undefined && params.tag.length > 0) selector.matchTags = parseTagFilters(params.tag);
  return selector;
}

/** Accepts tags in any order (`b:2,a:1`) and gives the stored canonical form. */
function canonicalTagString(text: string): string {
  if (text.trim() === '') return '';
  return canonicalTags(
    text.split(',').map((tag) => {
      const colon = tag.indexOf(':');
      return colon === -1 ? { key: tag.trim(), value: '' } : { key: tag.slice(0, colon).trim(), value: tag.slice(colon + 1).trim() };
    }),
  );
}

export interface PlannedRange {
  fromSec: number;
  toSec: number;
  resolution: Resolution | 'auto';
  maxPoints: number;
}

/**
 * The time range and resolution. `from` wins over `since`; an explicit
 * resolution that would return more than `maxPoints` buckets is refused
 * rather than silently truncated.
 */
export function planRange(params: RangeParams, nowSec: number): PlannedRange {
  const toSec = params.to === undefined ? nowSec : parseInstantSec(params.to, 'to');
  const fromSec = params.from !== undefined ? parseInstantSec(params.from, 'from') : toSec - parseDurationSec(params.since ?? DEFAULT_SINCE);
  if (fromSec >= toSec) throw invalid(`the range is empty: from (${fromSec}) must be before to (${toSec})`);
  const maxPoints = parseLimit(params.maxPoints, DEFAULT_MAX_POINTS, MAX_POINTS_LIMIT, 'maxPoints');
  const resolution = params.resolution === undefined || params.resolution === 'auto' ? 'auto' : parseResolution(params.resolution);
  if (resolution !== 'auto') {
    const step = RESOLUTIONS[resolution].seconds;
    const buckets = Math.ceil(toSec / step) - Math.floor(fromSec / step);
    if (buckets > maxPoints) {
      throw invalid(`${buckets} buckets of ${resolution} exceed maxPoints ${maxPoints}; shorten the range, use a coarser resolution or resolution auto`);
    }
  }
  return { fromSec, toSec, resolution, maxPoints };
}

function parseResolution(text: string): Resolution {
  if (text in RESOLUTIONS) return text as Resolution;
  throw invalid(`resolution: expected auto, ${Object.keys(RESOLUTIONS).join(', ')}, got ${JSON.stringify(text)}`);
}

/** A complete range query, with the default timer percentiles when none were asked for. */
export function buildRangeQuery(selector: SeriesSelector, range: PlannedRange, percentiles: string | undefined): RangeQuery & { downsampled: boolean } {
  const chosen = chooseResolution(range);
  return {
    ...selector,
    fromSec: range.fromSec,
    toSec: range.toSec,
    resolution: chosen,
    maxPoints: range.maxPoints,
    percentiles: percentiles !== undefined ? parsePercentiles(percentiles) : selector.type === 'timer' ? DEFAULT_TIMER_PERCENTILES : [],
    // Auto resolution coarser than the stored minutes: the caller should know points were merged.
    downsampled: range.resolution === 'auto' && chosen !== '1m',
  };
}
