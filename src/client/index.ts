import { DattssClient } from './client.js';
import type { ClientOptions } from './options.js';

/**
 * The dattss client SDK (`import { dattss } from 'dattss/client'`), documented
 * in docs/client.md. It imports only protocol/, the pure partial classes of
 * aggregate/, errors.ts and Node builtins, never the daemon.
 */
export function dattss(options: ClientOptions = {}): DattssClient {
  return new DattssClient(options);
}

export { DattssClient, type ClientStats } from './client.js';
export type { ClientOptions, Tags } from './options.js';
export type { ClientClock } from './clock.js';
export { DattssError, type ErrorCode } from '../errors.js';
