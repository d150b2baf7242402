import type { AddressInfo } from 'node:net';
import type { Database } from 'better-sqlite3';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { LiveSeries } from '../aggregate/moving-average.js';
import { DattssError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MetricType } from '../protocol/metric-type.js';
import { registerIngestRoutes, type HttpIngestOptions } from '../ingest/http-ingest.js';
import { SecretSet } from '../secrets.js';
import { openReadOnly } from '../store/queries.js';
import { fileIdentity } from '../store/reopening-store.js';
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE, type PrometheusSnapshot } from './prometheus.js';
import { registerReadRoutes } from './read-routes.js';
import { loadDashboardFiles } from './static-files.js';

export type ReadStatus = 'up' | 'down' | 'degraded';

export interface LiveQuery {
  type?: MetricType;
  /** Exact name. */
  name?: string;
  /** Glob or case-insensitive substring of the name. */
  search?: string;
  limit?: number;
}

/** What the HTTP server asks of the daemon; it never reaches into the pipeline itself. */
export interface HttpBackend {
  nowMs(): number;
  live(query: LiveQuery): LiveSeries[];
  status(): { status: ReadStatus; uptimeSec: number; flushErrors: number; lastFlushDurationMs: number; seriesLive: number; metricsPrefix: string };
  prometheus(): PrometheusSnapshot;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  maxBodyBytes: number;
  maxConnections: number;
  /** Idle keep-alive connections, and requests not received in full, are closed after this. */
  idleTimeoutMs: number;
  onConnectionRefused(): void;
  /** Called when a handler fails unexpectedly (counted in internal_errors). */
  onInternalError(): void;
  /** When set, `/api/*` and `/metrics` need `Authorization: Bearer <token>`. */
  token: string;
  /** The daemon's database, read through a separate read-only connection. */
  dbPath: string;
  backend: HttpBackend;
  /** The ingest endpoints `PUT /agg` and `POST /v1/metrics`. */
  ingest: HttpIngestOptions;
  logger: Logger;
}

/** HTTP status of each error code a handler can raise on purpose. */
const STATUS_OF: Partial<Record<DattssError['code'], number>> = {
  DATTSS_QUERY_INVALID: 400,
  DATTSS_SERIES_NOT_FOUND: 404,
  DATTSS_STORE_OPEN: 503,
};

/**
 * The HTTP server (fastify): JSON read API, `/metrics` for Prometheus, the
 * dashboard and the DaTtSs and Binoculars ingest endpoints. Every error answers `{"error": {"code", "message"}}`; an
 * unexpected one is logged with the request and answered 500, and never
 * reaches the rest of the daemon.
 */
export class HttpServer {
  readonly #options: HttpServerOptions;
  #app: FastifyInstance | undefined;
  #db: Database | undefined;
  #dbIdentity: string | undefined;

  constructor(options: HttpServerOptions) {
    this.#options = options;
  }

  async start(): Promise<AddressInfo> {
    const { host, port, maxBodyBytes, backend, logger } = this.#options;
    const db = this.#readDb();
    // Fastify's own logger stays off: the daemon logs its listening line and handler failures itself.
    const app = Fastify({
      bodyLimit: maxBodyBytes,
      connectionTimeout: this.#options.idleTimeoutMs,
      keepAliveTimeout: this.#options.idleTimeoutMs,
      requestTimeout: this.#options.idleTimeoutMs,
      // While the daemon stops, a request already on a kept-alive connection is answered as
      // usual: fastify's own 503 would tell the dashboard "down or degraded" with a body that
      // is not the health endpoint's.
      return503OnClosing: false,
    });
    app.server.maxConnections = this.#options.maxConnections;
    app.server.on('drop', () => this.#options.onConnectionRefused());
    this.#app = app;

    app.setErrorHandler((error: FastifyError, request, reply) => {
      if (error instanceof DattssError) {
        return reply.code(STATUS_OF[error.code] ?? 500).send({ error: { code: error.code, message: error.message } });
      }
      const status = error.statusCode ?? 500;
      if (status >= 500) {
        this.#options.onInternalError();
        logger.error({ err: error, method: request.method, url: request.url }, 'HTTP handler failed');
      }
      return reply.code(status).send({ error: { code: error.code ?? 'DATTSS_HTTP_INTERNAL', message: status >= 500 ? 'internal error; see the daemon log' : error.message } });
    });
    app.setNotFoundHandler((request, reply) =>
      reply.code(404).send({ error: { code: 'DATTSS_HTTP_NOT_FOUND', message: `no route for ${request.method} ${request.url.split('?')[0]}; see docs/http-api.md` } }),
    );

    const token = new SecretSet([this.#options.token]);
    if (token.required) {
      // The dashboard's files are public code; the data behind them is not. Ingest has its own keys, as UDP has none.
      app.addHook('onRequest', async (request, reply) => {
        const path = request.url.split('?')[0] as string;
        if (!path.startsWith('/api/') && path !== '/metrics') return;
        const header = request.headers.authorization;
        const given = header?.startsWith('Bearer ') === true ? header.slice('Bearer '.length) : undefined;
        if (token.matches(given)) return;
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="dattss"')
          .send({ error: { code: 'DATTSS_AUTH_FAILED', message: 'this daemon needs Authorization: Bearer <token> (the token option)' } });
      });
    }
    registerReadRoutes(app, { db: () => this.#readDb(), backend });
    registerIngestRoutes(app, this.#options.ingest);
    app.get('/metrics', async (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(formatPrometheus(backend.prometheus())));
    for (const [path, file] of loadDashboardFiles()) {
      app.get(path, async (request, reply) => {
        if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
        return reply.type(file.contentType).header('etag', file.etag).header('cache-control', 'no-cache').send(file.body);
      });
    }

    try {
      await app.listen({ host, port });
    } catch (cause) {
      db.close();
      throw new DattssError('DATTSS_LISTEN_FAILED', `HTTP cannot listen on ${host}:${port}: ${(cause as Error).message}`, { cause });
    }
    return app.server.address() as AddressInfo;
  }

  /** The read-only connection, reopened when the file was deleted or replaced (the writer reopens it too). */
  #readDb(): Database {
    const identity = fileIdentity(this.#options.dbPath);
    if (this.#db === undefined || identity !== this.#dbIdentity) {
      this.#db?.close();
      this.#db = openReadOnly(this.#options.dbPath);
      this.#dbIdentity = identity;
    }
    return this.#db;
  }

  async stop(): Promise<void> {
    await this.#app?.close();
    this.#db?.close();
    this.#app = undefined;
    this.#db = undefined;
  }
}
