import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The single source of truth for configuration: type, default, bounds and
 * documentation of every option. The CLI flags (`--kebab-case`), the
 * environment variables (`DATTSS_SNAKE_CASE`), config/default.json and
 * docs/configuration.md all follow from it, and tests hold them to it.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigSchema = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address the UDP listener binds; an IPv6 address such as ::1 or :: makes it an IPv6 socket.',
    }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8125,
      description: 'UDP port for statsd lines; 0 binds an ephemeral port (logged in the "listening" line).',
    }),
    udpRecvBufferBytes: Type.Integer({
      minimum: 0,
      maximum: 2147483647,
      default: 8388608,
      description:
        'Receive buffer to request for the UDP socket (SO_RCVBUF), so bursts and flushes do not overflow it; the kernel caps it at net.core.rmem_max and the granted size is logged. 0 keeps the kernel default.',
    }),
    udpReader: Type.Union([Type.Literal('auto'), Type.Literal('batch'), Type.Literal('dgram')], {
      default: 'auto',
      description:
        "How UDP is read: 'batch' takes up to 64 datagrams a system call (recvmmsg) through dattss's native reader, built by npm install on Linux, and calls JavaScript once for them; 'dgram' is Node's own, a call per datagram, which takes fewer datagrams a second; 'auto' is batch where the reader is built, else dgram (docs/architecture.md#reading-udp).",
    }),
    udpQueueBytes: Type.Integer({
      minimum: 0,
      maximum: 1073741824,
      default: 33554432,
      description:
        "The batch UDP reader's queue, in bytes (0, or from 1 MiB): a thread of its own reads the socket into it as datagrams come, so that while the daemon is busy (a burst of new series, a collection) they wait here rather than overflow the kernel's buffer, whatever net.core.rmem_max allows. One per socket, resident only as far as it has filled. 0 reads the socket on the daemon's (or receive thread's) own thread. Node's dgram (udpReader) has no queue.",
    }),
    receiveThreads: Type.Integer({
      minimum: 0,
      maximum: 16,
      default: 0,
      description:
        "Receive UDP in this many worker threads, which parse and pre-aggregate and hand the daemon's thread one partial per series about once a second; 0 receives in the daemon's thread. Above 1 the threads share the port with SO_REUSEPORT, which needs the batch reader (udpReader) or Node 22.12 or later (docs/architecture.md#receive-threads).",
    }),
    tcp: Type.Boolean({
      default: true,
      description: 'Also accept newline-framed statsd lines over TCP, on the same address and port number as UDP.',
    }),
    tcpMaxConnections: Type.Integer({
      minimum: 1,
      maximum: 100000,
      default: 1000,
      description: 'Most simultaneous TCP ingest connections; more are closed at once and counted in tcp_connections_refused.',
    }),
    tcpIdleTimeoutSec: Type.Integer({
      minimum: 1,
      maximum: 86400,
      default: 300,
      description: 'A TCP ingest connection that sends nothing for this long is closed.',
    }),
    tcpMaxLineBytes: Type.Integer({
      minimum: 64,
      maximum: 16777216,
      default: 65536,
      description: 'Longest line accepted over TCP; a longer one is dropped and counted as a bad line, later lines still count.',
    }),
    admin: Type.Boolean({
      default: true,
      description: "Etsy statsd's management interface (TCP: stats, counters, health, ...).",
    }),
    adminHost: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address the admin interface binds.',
    }),
    adminPort: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8126,
      description: 'Port of the admin interface; 0 binds an ephemeral port (logged in the "listening" line).',
    }),
    http: Type.Boolean({
      default: true,
      description: 'The HTTP server: JSON read API, Prometheus /metrics and the web dashboard.',
    }),
    httpHost: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address the HTTP server binds.',
    }),
    httpPort: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8127,
      description: 'Port of the HTTP server; 0 binds an ephemeral port (logged in the "listening" line).',
    }),
    httpMaxBodyBytes: Type.Integer({
      minimum: 1024,
      maximum: 67108864,
      default: 1048576,
      description: 'Largest HTTP request body accepted; a larger one is refused with 413.',
    }),
    httpMaxConnections: Type.Integer({
      minimum: 1,
      maximum: 100000,
      default: 256,
      description: 'Most simultaneous HTTP connections; more are closed at once and counted in http_connections_refused.',
    }),
    httpIdleTimeoutSec: Type.Integer({
      minimum: 1,
      maximum: 86400,
      default: 60,
      description: 'An HTTP connection idle for this long, or a request not received in full within it, is closed.',
    }),
    token: Type.String({
      maxLength: 1000,
      default: '',
      secret: true,
      description:
        'Bearer token the HTTP API, /metrics and the admin interface require (at least 16 characters). Empty: no token, and those listeners may bind only loopback addresses unless insecure is set.',
    }),
    insecure: Type.Boolean({
      default: false,
      description: 'Allow the HTTP server and the admin interface on a non-loopback address without a token.',
    }),
    binocularsIntervalMinutes: Type.Integer({
      minimum: 1,
      maximum: 10080,
      default: 60,
      description: 'The reporting period POST /v1/metrics tells Binoculars clients to use (requestIntervalInMinutes).',
    }),
    db: Type.String({
      minLength: 1,
      default: './data/dattss.db',
      description: 'SQLite database file; its directory is created if missing.',
    }),
    dbBusyTimeoutMs: Type.Integer({
      minimum: 0,
      maximum: 600000,
      default: 5000,
      description: 'How long a write waits for a lock held by another connection before the flush fails.',
    }),
    flushBacklogMinutes: Type.Integer({
      minimum: 1,
      maximum: 10080,
      default: 60,
      description:
        'Minutes kept in memory while the database refuses writes (locked, read-only, full), retried with backoff and written when it recovers; beyond this the oldest are dropped and counted in backlog_dropped.',
    }),
    writerThread: Type.Boolean({
      default: true,
      description:
        'Write to SQLite from a worker thread, so that writing a large minute never holds up the socket reads; false writes from the main thread, in slices between reads.',
    }),
    logLevel: Type.Union(
      LOG_LEVELS.map((level) => Type.Literal(level)),
      { default: 'info', description: 'Lowest level logged: fatal, error, warn, info, debug, trace or silent.' },
    ),
    pretty: Type.Boolean({
      default: false,
      description: 'Human-readable logs instead of JSON lines (needs the pino-pretty dev dependency).',
    }),
    metricsPrefix: Type.String({
      maxLength: 100,
      default: 'dattss.',
      description: "Name prefix of the daemon's own metrics (dattss.packets_received, ...).",
    }),
    maxSeries: Type.Integer({
      minimum: 1,
      maximum: 100000000,
      default: 100000,
      description: 'Most live series kept in memory; samples that would create another are dropped and counted in series_dropped.',
    }),
    seriesIdleSec: Type.Integer({
      minimum: 60,
      maximum: 31536000,
      default: 600,
      description: 'A series with no sample for this long is evicted from memory (after its data is flushed).',
    }),
    sanitizeNames: Type.Boolean({
      default: true,
      description: "Etsy statsd's name sanitizer: whitespace becomes _, / becomes -, other characters outside [A-Za-z0-9_.-] are dropped.",
    }),
    gaugeSigns: Type.Union([Type.Literal('delta'), Type.Literal('absolute')], {
      default: 'delta',
      description:
        "What a gauge value written with + or - means: 'delta' (Etsy statsd) changes the current value by it, 'absolute' (DogStatsD) sets it.",
    }),
    dattssAuthKeys: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
      maxItems: 1000,
      default: [],
      secret: true,
      description:
        'Keys accepted in DaTtSs AUTH:PROCESS:STAT:VALUE datagrams (comma-separated in env and flags); a datagram with another key is a bad line. Empty: the AUTH part is ignored.',
    }),
    lateSampleWindowSec: Type.Integer({
      minimum: 0,
      maximum: 86400,
      default: 600,
      description:
        'A DogStatsD |T-stamped sample up to this old is merged into the minute it belongs to, even one already written; older ones, and ones more than 60 s in the future, are dropped and counted.',
    }),
    maxNameLength: Type.Integer({
      minimum: 1,
      maximum: 10000,
      default: 250,
      description: 'Longest accepted metric name (and set member), in bytes; longer lines are bad lines.',
    }),
    maxTagsPerLine: Type.Integer({
      minimum: 0,
      maximum: 1000,
      default: 32,
      description: 'Most tags accepted on one line; a line with more is a bad line.',
    }),
    maxTagLength: Type.Integer({
      minimum: 1,
      maximum: 10000,
      default: 200,
      description: 'Longest accepted tag (key:value), in bytes; a line with a longer one is a bad line.',
    }),
    maxSetMembers: Type.Integer({
      minimum: 1,
      maximum: 10000000,
      default: 100000,
      description: 'Most distinct members one set series takes in a minute; further new members are dropped and counted in set_members_dropped.',
    }),
    minuteRetentionDays: Type.Integer({
      minimum: 1,
      maximum: 3650,
      default: 8,
      description: 'Days of 1-minute rows kept (8: a full week in every timezone for the week view).',
    }),
    hourRetentionDays: Type.Integer({
      minimum: 1,
      maximum: 36500,
      default: 400,
      description: 'Days of 1-hour rows kept.',
    }),
    dayRetentionDays: Type.Integer({
      minimum: 0,
      maximum: 36500,
      default: 0,
      description: 'Days of 1-day rows kept; 0 keeps them forever.',
    }),
    badLineLogsPerMinute: Type.Integer({
      minimum: 0,
      maximum: 100000,
      default: 10,
      description: 'Most bad lines logged (at warn, with the line) per minute; the rest are only counted.',
    }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type ConfigKey = keyof Config;

export const CONFIG_KEYS = Object.keys(ConfigSchema.properties) as ConfigKey[];

export function optionSchema(key: ConfigKey): TSchema {
  return ConfigSchema.properties[key];
}

/** Options whose values are never printed: errors, the admin `config` command and logs hide them. */
export function isSecret(key: string): boolean {
  return (ConfigSchema.properties as Record<string, TSchema>)[key]?.secret === true;
}

/** The config with secret values replaced, for display. */
export function redactedConfig(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const hidden = isSecret(key) && (Array.isArray(value) ? value.length > 0 : value !== '');
    shown[key] = hidden ? '(hidden)' : value;
  }
  return shown;
}

/** Every option's default, from the schema. */
export function configDefaults(): Config {
  const defaults: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) defaults[key] = optionSchema(key).default;
  return defaults as Config;
}

/** `maxSeries` → `--max-series`. */
export function flagName(key: ConfigKey): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** `maxSeries` → `DATTSS_MAX_SERIES`. */
export function envName(key: ConfigKey): string {
  return `DATTSS_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** The environment variable naming the config file; not an option itself. */
export const CONFIG_FILE_ENV = 'DATTSS_CONFIG';

/** The expected value in words, for error messages and --help. */
export function describeExpected(key: ConfigKey): string {
  const schema = optionSchema(key);
  if (schema.type === 'array') return 'a list of strings (comma-separated in env and flags)';
  if (Array.isArray(schema.anyOf)) return `one of ${(schema.anyOf as TSchema[]).map((s) => String(s.const)).join(', ')}`;
  switch (schema.type) {
    case 'integer':
      return `an integer from ${schema.minimum as number} to ${schema.maximum as number}`;
    case 'boolean':
      return 'true or false';
    default: {
      const min = (schema.minLength as number | undefined) ?? 0;
      const max = schema.maxLength as number | undefined;
      if (max !== undefined) return `a string of at most ${max} characters`;
      return min > 0 ? 'a non-empty string' : 'a string';
    }
  }
}
