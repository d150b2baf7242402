import { Registry, type RegistryOptions } from '../aggregate/registry.js';
import { LineParser, type ParserOptions, type ParseSink } from './parser.js';

/** Lines of each shape the hot path meets, untagged and tagged. */
const SHAPES = ['c:1|c', 't:12.5|ms', 'g:42|g', 'g:+1|g', 's:m|s', 'c:1|c|@0.5', 'c:1|c|#env:prod,host:a', 't:3|ms|#env:prod'];
/** About 100 ms of work on the development machine. */
const ROUNDS = 4000;
const SERIES_PER_SHAPE = 50;
/** Distinct series the warm-up packets visit. */
export const WARM_UP_SERIES = SHAPES.length * SERIES_PER_SHAPE;

/**
 * Runs the parser and registry over synthetic packets, on throwaway
 * instances, before the daemon binds its socket. A fresh process parses its
 * first tens of thousands of lines in V8's interpreter at a fraction of full
 * speed; under load that first second overflowed the socket buffer (the load
 * suite saw thousands of drops in the first trial against a new daemon and
 * none after). Optimized code is shared by all instances of the classes, so
 * the real ones start warm. Nothing here touches the daemon's state.
 */
export function warmUpHotPath(parserOptions: ParserOptions, registryOptions: RegistryOptions, nowMs: number): void {
  const parser = new LineParser(parserOptions);
  const registry = new Registry({ ...registryOptions, maxSeries: WARM_UP_SERIES }, nowMs);
  const sink: ParseSink = {
    sample: (sample, keyId) => registry.add(sample, keyId),
    partial: () => undefined,
    event: () => undefined,
    serviceCheck: () => undefined,
    badLine: () => undefined,
  };
  feedWarmUpPackets((packet) => parser.parse(packet, sink));
}

/** Hands the warm-up packets to `parse` (a receive thread warms its own parser and buffer with them). */
export function feedWarmUpPackets(parse: (packet: Buffer) => void): void {
  const lines: string[] = [];
  for (let i = 0; i < SERIES_PER_SHAPE; i++) for (const shape of SHAPES) lines.push(`warm${i}.${shape}`);
  const single = lines.map((line) => Buffer.from(line));
  const batch = Buffer.from(lines.slice(0, 40).join('\n'));
  for (let round = 0; round < ROUNDS; round++) {
    parse(single[round % single.length] as Buffer);
    if (round % 8 === 0) parse(batch);
  }
}
