import type { Database } from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { DattssError } from '../errors.js';
import { queryRange } from '../store/queries.js';
import { listSeries } from '../store/series-list.js';
import { weekView } from '../store/week.js';
import type { HttpBackend, LiveQuery } from './http.js';
import { buildRangeQuery, parseLimit, parseMetricType, planRange, resolveSelector } from './read-params.js';

type Query = Record<string, string | string[] | undefined>;

const SERIES_PARAMS = ['name', 'type', 'tags', 'tag'];
const RANGE_PARAMS = ['since', 'from', 'to', 'resolution', 'maxPoints'];
const LIST_LIMIT_MAX = 1000;
const LIST_LIMIT_DEFAULT = 100;

/** The JSON read endpoints of docs/http-api.md. */
export function registerReadRoutes(app: FastifyInstance, context: { db: () => Database; backend: HttpBackend }): void {
  const { backend } = context;
  const nowSec = (): number => Math.floor(backend.nowMs() / 1000);

  app.get('/api/health', async (_request, reply) => {
    const status = backend.status();
    return reply.code(status.status === 'up' ? 200 : 503).send(status);
  });

  app.get('/api/series', async (request) => {
    const query = checked(request.query as Query, ['search', 'type', 'limit']);
    const type = one(query, 'type');
    return listSeries(context.db(), {
      ...optional('search', one(query, 'search')),
      ...optional('type', type === undefined ? undefined : parseMetricType(type)),
      limit: parseLimit(one(query, 'limit'), LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX),
    });
  });

  app.get('/api/query', async (request) => {
    const query = checked(request.query as Query, [...SERIES_PARAMS, ...RANGE_PARAMS, 'percentiles']);
    const db = context.db();
    const selector = resolveSelector(db, seriesParams(query));
    const range = planRange(
      { since: one(query, 'since'), from: one(query, 'from'), to: one(query, 'to'), resolution: one(query, 'resolution'), maxPoints: one(query, 'maxPoints') },
      nowSec(),
    );
    const { downsampled, ...rangeQuery } = buildRangeQuery(selector, range, one(query, 'percentiles'));
    const result = queryRange(db, rangeQuery);
    return { name: selector.name, type: selector.type, ...optional('tags', selector.tags), resolution: result.resolution, downsampled, fromSec: result.fromSec, toSec: result.toSec, series: result.series, points: result.points };
  });

  app.get('/api/live', async (request) => {
    const query = checked(request.query as Query, ['name', 'search', 'type', 'limit']);
    const limit = parseLimit(one(query, 'limit'), LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX);
    const type = one(query, 'type');
    const live: LiveQuery = { limit: limit + 1 };
    if (type !== undefined) live.type = parseMetricType(type);
    const name = one(query, 'name');
    if (name !== undefined) live.name = name;
    const search = one(query, 'search');
    if (search !== undefined) live.search = search;
    const series = backend.live(live);
    return { nowMs: backend.nowMs(), truncated: series.length > limit, series: series.slice(0, limit) };
  });

  app.get('/api/week', async (request) => {
    const query = checked(request.query as Query, [...SERIES_PARAMS, 'bucketMinutes', 'tz']);
    const db = context.db();
    const selector = resolveSelector(db, seriesParams(query));
    const bucketMinutes = parseLimit(one(query, 'bucketMinutes'), 15, 60, 'bucketMinutes');
    const view = weekView(db, { ...selector, nowSec: nowSec(), bucketMinutes, timeZone: one(query, 'tz') ?? 'UTC' });
    return { name: selector.name, type: selector.type, ...view };
  });
}

function seriesParams(query: Query): { name?: string; type?: string; tags?: string; tag: string[] } {
  return { ...optional('name', one(query, 'name')), ...optional('type', one(query, 'type')), ...optional('tags', one(query, 'tags')), tag: many(query, 'tag') };
}

/** A misspelt parameter is an error, not silently ignored: `sinse=3h` would otherwise query the last hour. */
function checked(query: Query, allowed: readonly string[]): Query {
  for (const key of Object.keys(query)) {
    if (!allowed.includes(key)) {
      throw new DattssError('DATTSS_QUERY_INVALID', `unknown parameter ${JSON.stringify(key)}; this endpoint takes ${allowed.join(', ')}`);
    }
  }
  return query;
}

function one(query: Query, key: string): string | undefined {
  const value = query[key];
  if (Array.isArray(value)) throw new DattssError('DATTSS_QUERY_INVALID', `${key} given ${value.length} times; give it once`);
  return value;
}

function many(query: Query, key: string): string[] {
  const value = query[key];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** `{ key: value }` when the value is defined, else nothing: exactOptionalPropertyTypes forbids explicit undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
