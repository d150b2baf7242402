import type { Database } from 'better-sqlite3';
import type { MetricType } from '../protocol/metric-type.js';

/** A stored series as the read side lists it. */
export interface StoredSeries {
  name: string;
  type: MetricType;
  /** Canonical tags, `k:v,k2:v2`; '' for none. */
  tags: string;
  /** Unix seconds of the first and the latest minute written. */
  firstSeen: number;
  lastSeen: number;
}

export interface SeriesListQuery {
  /** A glob (`*`, `?`) or, without either, a case-insensitive substring of the name. */
  search?: string;
  type?: MetricType;
  limit: number;
}

export interface SeriesListing {
  /** Series matching, before the limit. */
  total: number;
  truncated: boolean;
  /** Most recently seen first, then by name and tags. */
  series: StoredSeries[];
}

/**
 * Lists stored series. A substring search scans the series table, which
 * stays in the low milliseconds at tens of thousands of series; the name
 * index serves exact and prefix-globbed names.
 */
export function listSeries(db: Database, query: SeriesListQuery): SeriesListing {
  const conditions: string[] = [];
  const parameters: (string | number)[] = [];
  const search = query.search ?? '';
  if (search !== '') {
    if (/[*?]/.test(search)) {
      conditions.push('name GLOB ?');
      parameters.push(escapeGlob(search));
    } else {
      conditions.push('instr(lower(name), lower(?)) > 0');
      parameters.push(search);
    }
  }
  if (query.type !== undefined) {
    conditions.push('type = ?');
    parameters.push(query.type);
  }
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  const { total } = db.prepare<(string | number)[], { total: number }>(`SELECT count(*) AS total FROM series ${where}`).get(...parameters)!;
  const series = db
    .prepare<(string | number)[], StoredSeries>(
      `SELECT name, type, tags, first_seen AS firstSeen, last_seen AS lastSeen FROM series ${where}
       ORDER BY last_seen DESC, name, tags, type LIMIT ?`,
    )
    .all(...parameters, query.limit);
  return { total, truncated: total > series.length, series };
}

/** The types stored under a name, for callers that leave the type out. */
export function typesOfName(db: Database, name: string): MetricType[] {
  return db
    .prepare<[string], { type: MetricType }>('SELECT DISTINCT type FROM series WHERE name = ? ORDER BY type')
    .all(name)
    .map((row) => row.type);
}

/** The user's `*` and `?` are wildcards; SQLite's `[` character classes are taken literally. */
function escapeGlob(pattern: string): string {
  return pattern.replace(/\[/g, '[[]');
}
