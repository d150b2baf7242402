import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Partial } from '../aggregate/partial.js';
import { canonicalTags } from '../protocol/tags.js';
import { SecretSet } from '../secrets.js';
import { partialFromDattss, type DattssKind } from './dattss-partials.js';
import type { Sample } from './parser.js';

/**
 * HTTP ingest for the clients dattss descends from: DaTtSs's `PUT /agg`
 * (5-second partials) and Binoculars' `POST /v1/metrics` (telemetry
 * reports). A body is validated whole before anything is applied, so a bad
 * item refuses the request with a 400 naming it and nothing is half-merged.
 */
export interface HttpIngestSink {
  sample(sample: Sample): void;
  /** Merges a partial into the current interval of its series. */
  partial(name: string, tags: string, partial: Partial): void;
}

export interface HttpIngestOptions {
  sink: HttpIngestSink;
  /** DaTtSs auth keys; when empty, `PUT /agg` needs none. */
  authKeys: readonly string[];
  maxNameLength: number;
  maxTagsPerLine: number;
  maxTagLength: number;
  /** What `POST /v1/metrics` tells Binoculars clients about their reporting period. */
  binocularsIntervalMinutes: number;
  /** Start of the current 5-second interval, ms (a DaTtSs gauge's last value is stamped with it). */
  intervalStartMs(): number;
  counters: { itemsReceived: number; requestsRejected: number };
}

const Finite = Type.Number();
const DattssPartialSchema = Type.Object({
  pth: Type.Optional(Type.String()),
  nam: Type.Optional(Type.String()),
  sum: Finite,
  cnt: Type.Integer({ minimum: 1 }),
  min: Type.Optional(Finite),
  max: Type.Optional(Finite),
  lst: Type.Optional(Finite),
  fst: Type.Optional(Finite),
  bot: Type.Optional(Finite),
  top: Type.Optional(Finite),
});
const AggBodySchema = Type.Object({
  /** DaTtSs v1: the process name, which becomes the tag `process`. */
  nam: Type.Optional(Type.String()),
  prt: Type.Object({
    c: Type.Optional(Type.Array(DattssPartialSchema)),
    ms: Type.Optional(Type.Array(DattssPartialSchema)),
    g: Type.Optional(Type.Array(DattssPartialSchema)),
  }),
});
const BinocularsBodySchema = Type.Object({
  metrics: Type.Array(
    Type.Object({
      name: Type.String({ minLength: 1 }),
      tags: Type.Optional(Type.Record(Type.String(), Type.String())),
      fields: Type.Record(Type.String(), Type.Union([Finite, Type.Boolean()])),
    }),
  ),
});

/** DaTtSs's own path rule, plus `!` which its client allows. */
const DATTSS_NAME = /^[A-Za-z0-9\-_.:!]+$/;
const DATTSS_KINDS: readonly DattssKind[] = ['c', 'ms', 'g'];

export function registerIngestRoutes(parent: FastifyInstance, options: HttpIngestOptions): void {
  void parent.register(async (app) => ingestRoutes(app, options));
}

function ingestRoutes(app: FastifyInstance, options: HttpIngestOptions): void {
  const { sink, counters } = options;
  const authKeys = new SecretSet(options.authKeys);
  // Bodies fastify itself refuses (not JSON, too large) count as rejected too; the server's handler answers them.
  app.setErrorHandler((error) => {
    counters.requestsRejected++;
    throw error;
  });

  app.put('/agg', async (request, reply) => {
    const auth = (request.query as Record<string, unknown>).auth;
    if (authKeys.required && !authKeys.matches(typeof auth === 'string' ? auth : undefined)) {
      return refuse(reply, 401, 'DATTSS_AUTH_FAILED', 'auth: missing or unknown key; pass ?auth=<one of dattssAuthKeys>');
    }
    const body = checked(AggBodySchema, request.body);
    if (typeof body === 'string') return refuse(reply, 400, 'DATTSS_INGEST_INVALID', body);
    const tags = body.nam === undefined ? '' : canonicalTags([{ key: 'process', value: body.nam }]);
    const items: [string, Partial][] = [];
    for (const kind of DATTSS_KINDS) {
      for (const [index, item] of (body.prt[kind] ?? []).entries()) {
        const where = `prt.${kind}[${index}]`;
        const name = item.pth ?? item.nam;
        const problem =
          name === undefined
            ? 'has neither pth nor nam'
            : name.length > options.maxNameLength || !DATTSS_NAME.test(name)
              ? `name ${JSON.stringify(name)} must be 1 to ${options.maxNameLength} characters of A-Z a-z 0-9 - _ . : !`
              : item.min !== undefined && item.max !== undefined && item.min > item.max
                ? 'min is above max'
                : kind === 'ms' && (item.min ?? item.sum) < 0
                  ? 'a timer cannot be negative'
                  : undefined;
        if (problem !== undefined) return refuse(reply, 400, 'DATTSS_INGEST_INVALID', `${where}: ${problem}`);
        items.push([name as string, partialFromDattss(kind, item, options.intervalStartMs())]);
      }
    }
    for (const [name, partial] of items) sink.partial(name, tags, partial);
    counters.itemsReceived += items.length;
    return { ok: true };
  });

  app.post('/v1/metrics', async (request, reply) => {
    const body = checked(BinocularsBodySchema, request.body);
    if (typeof body === 'string') return refuse(reply, 400, 'DATTSS_INGEST_INVALID', body);
    const samples: Sample[] = [];
    for (const [index, metric] of body.metrics.entries()) {
      const tagList = Object.entries(metric.tags ?? {}).map(([key, value]) => ({ key, value }));
      const problem =
        tagList.length > options.maxTagsPerLine
          ? `${tagList.length} tags, more than maxTagsPerLine ${options.maxTagsPerLine}`
          : tagList.find((tag) => tag.key === '' || tag.key.length + tag.value.length + 1 > options.maxTagLength) !== undefined
            ? `a tag is empty or longer than maxTagLength ${options.maxTagLength}`
            : Object.keys(metric.fields).find((field) => field === '' || metric.name.length + field.length + 1 > options.maxNameLength) !== undefined
              ? `a field name is empty, or name.field is longer than maxNameLength ${options.maxNameLength}`
              : undefined;
      if (problem !== undefined) return refuse(reply, 400, 'DATTSS_INGEST_INVALID', `metrics[${index}]: ${problem}`);
      const tags = canonicalTags(tagList);
      for (const [field, value] of Object.entries(metric.fields)) {
        samples.push(gaugeSample(`${metric.name}.${field}`, tags, typeof value === 'boolean' ? Number(value) : value));
      }
    }
    for (const sample of samples) sink.sample(sample);
    counters.itemsReceived += samples.length;
    return { requestIntervalInMinutes: options.binocularsIntervalMinutes };
  });

  function refuse(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
    counters.requestsRejected++;
    return reply.code(status).send({ error: { code, message } });
  }
}

/** The body as its schema's type, or the first problem as `path: message`. */
function checked<S extends TSchema>(schema: S, body: unknown): Static<S> | string {
  if (Value.Check(schema, body)) return body;
  const error = Value.Errors(schema, body).First();
  const path = (error?.path ?? '').replace(/^\//, '').replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  return `${path === '' ? 'body' : path}: ${error?.message ?? 'does not match the expected shape'}`;
}

function gaugeSample(name: string, tags: string, value: number): Sample {
  return { type: 'gauge', name, tags, value, rate: 1, gaugeDelta: false, member: '', timestampSec: NaN };
}
