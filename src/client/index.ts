import { DattssClient, type ClientOptions } from './client.js';

/**
 * The dattss client SDK (`import { dattss } from 'dattss/client'`), documented
 * in docs/client.md. It imports only protocol/, the pure partial classes of
 * aggregate/, errors.ts and Node builtins, never the daemon.
 */
export function dattss(options: ClientOptions = {}): DattssClient {
  return new DattssClient(options);
}

export { DattssClient, type ClientOptions, type ClientStats, type Tags } from './client.js';
export type { ClientClock } from './clock.js';
export { DattssError, type ErrorCode } from '../errors.js';
