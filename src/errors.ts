/**
 * Every error dattss raises on purpose carries a stable `code`, listed with its
 * remedy in docs/errors.md (fastify's lib/errors.js is the model).
 */
export const ERROR_CODES = {
  DATTSS_CONFIG_INVALID: 'The configuration has invalid or unknown keys',
  DATTSS_CONFIG_FILE: 'The configuration file cannot be read or is not JSON',
  DATTSS_LISTEN_FAILED: 'A listener could not bind its address',
  DATTSS_STORE_OPEN: 'The SQLite database cannot be opened or migrated',
  DATTSS_STORE_WRITE: 'A minute flush could not be written to SQLite',
  DATTSS_PRETTY_UNAVAILABLE: 'Pretty logs were requested but pino-pretty is not installed',
  DATTSS_QUERY_INVALID: 'A store query has invalid arguments',
  DATTSS_SERIES_NOT_FOUND: 'A query names a series the database does not hold',
  DATTSS_INGEST_INVALID: 'An HTTP ingest body does not have the expected shape',
  DATTSS_AUTH_FAILED: 'An HTTP ingest request has a missing or unknown auth key',
  DATTSS_HTTP_NOT_FOUND: 'No HTTP route matches the method and path',
  DATTSS_HTTP_INTERNAL: 'An HTTP handler failed unexpectedly',
  DATTSS_DAEMON_STATE: 'A daemon method was called in the wrong lifecycle state',
  DATTSS_CLIENT_OPTIONS: 'The client SDK was given an invalid option',
  DATTSS_CLIENT_INVALID: 'The client SDK refused a sample with a bad name, value or tag',
  DATTSS_CLIENT_DROPPED: 'The client SDK dropped samples over its memory bounds or the MTU',
  DATTSS_CLIENT_SEND: 'The client SDK could not send a datagram',
  DATTSS_CLI_USAGE: 'A command-line argument of a CLI command is invalid',
  DATTSS_DAEMON_UNREACHABLE: "The CLI could not reach the daemon's HTTP API, or the daemon refused the request",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class DattssError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DattssError';
    this.code = code;
  }
}
