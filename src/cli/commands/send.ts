import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { Command } from 'commander';
import type { Config } from '../../config/schema.js';
import { DattssError } from '../../errors.js';
import { LineParser, parserOptionsOf, type BadLineReason } from '../../ingest/parser.js';
import { cliConfig, configOption, type ConfigOptions } from '../context.js';
import { renderJson } from '../format.js';

interface SendOptions extends ConfigOptions {
  host?: string;
  port?: string;
  agg?: string[];
  json?: boolean;
}

/** Largest datagram sent: an Ethernet MTU of 1500 less IPv6/IPv4 and UDP headers, as statsd clients use. */
export const MAX_DATAGRAM_BYTES = 1432;

const BAD_LINE_HINTS: Readonly<Record<BadLineReason, string>> = {
  missing_value: 'no ":" between name and value',
  missing_type: 'no "|type" after the value',
  unknown_type: 'the type is not one of c, ms, h, d, g, s',
  bad_value: 'the value is not a number',
  negative_timer: 'a timer value is negative',
  bad_rate: 'the sample rate is not in (0, 1]',
  bad_timestamp: 'the |T timestamp is not Unix seconds',
  empty_name: 'the name is empty',
  name_too_long: 'the name is longer than maxNameLength',
  invalid_utf8: 'the line is not UTF-8',
  too_many_tags: 'more tags than maxTagsPerLine',
  tag_too_long: 'a tag is longer than maxTagLength',
  bad_event: 'a malformed _e{…} event',
  bad_service_check: 'a malformed _sc service check',
  auth_failed: "the AUTH key is not one of the daemon's dattssAuthKeys",
  bad_partial: 'a malformed _p1 partial-aggregate line (see docs/protocol.md)',
};

export function sendCommand(): Command {
  return new Command('send')
    .description('send statsd lines to a daemon over UDP, checked first with the daemon\'s own parser')
    .argument('[lines...]', 'statsd lines, e.g. "hits:1|c" "api.latency:153|ms"; - reads lines from stdin')
    .option('--agg <name value...>', 'a DaTtSs value, repeatable: --agg api.latency 153ms, --agg hits 1c, --agg queue 23g, --agg queue +3g; a negative delta as --agg queue=-2g')
    .option('--host <host>', "the daemon's UDP host (env: DATTSS_HOST; default 127.0.0.1)")
    .option('--port <n>', "the daemon's UDP port (env: DATTSS_PORT; default 8125)")
    .option('--json', 'print the summary as JSON')
    .addOption(configOption())
    .addHelpText(
      'after',
      "\nExamples:\n  dattss send 'hits:1|c' 'api.latency:153|ms|#env:prod'\n  dattss send --agg api.latency 153ms --agg queue.depth +3g --agg queue.depth=-2g\n  printf 'a:1|c\\nb:2|g\\n' | dattss send -",
    )
    .action(async (args: string[], options: SendOptions) => {
      const config = cliConfig(options, { host: options.host, port: options.port });
      const { lines: extraLines, aggLines } = splitAgg(options.agg ?? []);
      const lines: string[] = [];
      for (const arg of [...args, ...extraLines]) lines.push(...(arg === '-' ? await stdinLines() : splitLines(arg)));
      lines.push(...aggLines);
      if (lines.length === 0) throw new DattssError('DATTSS_CLI_USAGE', 'nothing to send: give statsd lines, --agg <name> <value>, or - to read stdin');
      checkLines(lines, config);
      const datagrams = packDatagrams(lines);
      await sendDatagrams(datagrams, config.host, config.port);
      const summary = { lines: lines.length, datagrams: datagrams.length, bytes: datagrams.reduce((sum, d) => sum + d.length, 0), host: config.host, port: config.port };
      process.stdout.write(
        options.json === true
          ? renderJson(summary)
          : `sent ${plural(summary.lines, 'line')} in ${plural(summary.datagrams, 'datagram')} (${summary.bytes} bytes) to ${config.host}:${config.port}\n`,
      );
    });
}

/**
 * `--agg` is variadic, so it takes name/value pairs; an item holding a ':' (or
 * '-') after them is a statsd line that commander put there, not a name.
 * `name=value` is one item: commander reads a lone `-2g` as an option.
 */
function splitAgg(items: readonly string[]): { lines: string[]; aggLines: string[] } {
  const lines: string[] = [];
  const aggLines: string[] = [];
  for (let index = 0; index < items.length; index++) {
    const name = items[index] as string;
    if (name === '-' || name.includes(':')) {
      lines.push(name);
      continue;
    }
    const equals = name.indexOf('=');
    if (equals > 0) {
      aggLines.push(aggLine(name.slice(0, equals), name.slice(equals + 1)));
      continue;
    }
    const value = items[index + 1];
    if (value === undefined) throw new DattssError('DATTSS_CLI_USAGE', `--agg ${name}: a value is missing, like 153ms, 1c or 23g`);
    aggLines.push(aggLine(name, value));
    index++;
  }
  return { lines, aggLines };
}

/** DaTtSs's `dts.agg(name, '153ms')` value → a statsd line: `153ms` → `name:153|ms`, `+3g` → `name:+3|g`. */
export function aggLine(name: string, value: string): string {
  const match = /^([+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?)(ms|c|g)$/i.exec(value.trim());
  if (match === null) throw new DattssError('DATTSS_CLI_USAGE', `--agg ${name}: expected a value like 153ms, 1c, 23g, +3g or -2g, got ${JSON.stringify(value)}`);
  const [, number, unit] = match as unknown as [string, string, string];
  const type = unit.toLowerCase();
  if (type !== 'g' && number.startsWith('+')) return `${name}:${number.slice(1)}|${type}`;
  return `${name}:${number}|${type}`;
}

function splitLines(text: string): string[] {
  return text.split('\n').map((line) => line.replace(/\r$/, '')).filter((line) => line !== '');
}

async function stdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return splitLines(Buffer.concat(chunks).toString('utf8'));
}

/** Each line through the daemon's parser, with its options from the config: a typo fails here, not silently in the daemon. */
function checkLines(lines: readonly string[], config: Readonly<Config>): void {
  const parser = new LineParser(parserOptionsOf(config));
  let bad: BadLineReason | undefined;
  const sink = { sample: () => {}, partial: () => {}, event: () => {}, serviceCheck: () => {}, badLine: (reason: BadLineReason) => (bad ??= reason) };
  lines.forEach((line, index) => {
    parser.parse(Buffer.from(line), sink);
    if (bad !== undefined) {
      throw new DattssError('DATTSS_CLI_USAGE', `line ${index + 1} ${JSON.stringify(line)} is not a valid metric line: ${BAD_LINE_HINTS[bad]} (${bad}); nothing was sent`);
    }
    const bytes = Buffer.byteLength(line);
    if (bytes > MAX_DATAGRAM_BYTES) {
      throw new DattssError('DATTSS_CLI_USAGE', `line ${index + 1} is ${bytes} bytes, more than a ${MAX_DATAGRAM_BYTES}-byte datagram holds; nothing was sent`);
    }
  });
}

/** Lines joined by newlines into as few datagrams of at most MAX_DATAGRAM_BYTES as their order allows. */
export function packDatagrams(lines: readonly string[]): Buffer[] {
  const datagrams: Buffer[] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const line of lines) {
    const lineBytes = Buffer.byteLength(line);
    if (current.length > 0 && bytes + 1 + lineBytes > MAX_DATAGRAM_BYTES) {
      datagrams.push(Buffer.from(current.join('\n')));
      current = [];
      bytes = 0;
    }
    bytes += (current.length > 0 ? 1 : 0) + lineBytes;
    current.push(line);
  }
  if (current.length > 0) datagrams.push(Buffer.from(current.join('\n')));
  return datagrams;
}

async function sendDatagrams(datagrams: readonly Buffer[], host: string, port: number): Promise<void> {
  const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  try {
    for (const datagram of datagrams) {
      await new Promise<void>((resolve, reject) => socket.send(datagram, port, host, (error) => (error ? reject(error) : resolve())));
    }
  } catch (cause) {
    throw new DattssError('DATTSS_DAEMON_UNREACHABLE', `cannot send to ${host}:${port}: ${(cause as Error).message}`, { cause });
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
