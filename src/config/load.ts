import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { DattssError } from '../errors.js';
import { batchReaderMissing, readerFor } from '../ingest/udp-socket.js';
import {
  CONFIG_FILE_ENV,
  CONFIG_KEYS,
  configDefaults,
  describeExpected,
  envName,
  flagName,
  isSecret,
  optionSchema,
  type Config,
  type ConfigKey,
} from './schema.js';

export interface ConfigSources {
  /** Path of a JSON config file, if any. */
  file?: string | undefined;
  /** The environment; only `DATTSS_*` variables are read. */
  env?: Record<string, string | undefined>;
  /** Command-line values by config key (strings as typed, booleans for switches). */
  flags?: Partial<Record<ConfigKey, string | boolean>>;
}

/**
 * Builds the configuration: defaults < file < `DATTSS_*` env < flags. Every
 * problem in every source is collected and thrown at once as one
 * DATTSS_CONFIG_INVALID error (its `problems` list one line each, naming the
 * key and where the value came from). The result is frozen.
 */
export function loadConfig(sources: ConfigSources = {}): Readonly<Config> {
  const problems: string[] = [];
  const merged: Record<string, unknown> = configDefaults();
  const origin = new Map<string, string>();

  if (sources.file !== undefined) {
    for (const [key, value] of Object.entries(readConfigFile(sources.file))) {
      if (key.startsWith('//')) continue; // comment keys, as in config/example.json
      if (!isKey(key)) {
        problems.push(`unknown key "${key}" in ${sources.file}${hint(key, CONFIG_KEYS)}`);
        continue;
      }
      merged[key] = value;
      origin.set(key, `${sources.file}`);
    }
  }

  const envNames = new Map(CONFIG_KEYS.map((key) => [envName(key), key]));
  for (const [name, text] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith('DATTSS_') || name === CONFIG_FILE_ENV || text === undefined) continue;
    const key = envNames.get(name);
    if (key === undefined) {
      problems.push(`unknown environment variable ${name}${envHint(name, [...envNames.keys(), CONFIG_FILE_ENV])}`);
      continue;
    }
    applyText(key, text, name);
  }

  for (const [key, value] of Object.entries(sources.flags ?? {}) as [ConfigKey, string | boolean | undefined][]) {
    if (value === undefined) continue;
    if (typeof value === 'boolean') {
      merged[key] = value;
      origin.set(key, flagName(key));
    } else {
      applyText(key, value, flagName(key));
    }
  }

  for (const key of CONFIG_KEYS) {
    if (!Value.Check(optionSchema(key), merged[key])) {
      const got = isSecret(key) ? '(hidden)' : JSON.stringify(merged[key]);
      problems.push(`${key}${from(key)}: expected ${describeExpected(key)}, got ${got}`);
    }
  }
  if (problems.length === 0) {
    problems.push(...valueProblems(merged as Config), ...exposureProblems(merged as Config), ...runtimeProblems(merged as Config, process.versions.node));
  }
  if (problems.length > 0) {
    const error = new DattssError('DATTSS_CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    throw Object.assign(error, { problems });
  }
  return Object.freeze(merged as Config);

  function from(key: string): string {
    const source = origin.get(key);
    return source === undefined ? '' : ` (from ${source})`;
  }

  /** Converts text from the environment or a flag to the option's type. */
  function applyText(key: ConfigKey, text: string, source: string): void {
    origin.set(key, source);
    const schema = optionSchema(key);
    const trimmed = text.trim();
    if (schema.type === 'integer') {
      merged[key] = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : text;
    } else if (schema.type === 'array') {
      merged[key] = trimmed === '' ? [] : trimmed.split(',').map((item) => item.trim());
    } else if (schema.type === 'boolean') {
      const lower = trimmed.toLowerCase();
      merged[key] = ['true', '1', 'yes', 'on'].includes(lower) ? true : ['false', '0', 'no', 'off'].includes(lower) ? false : text;
    } else {
      merged[key] = trimmed;
    }
  }
}

/** Shortest token accepted: long enough that guessing it over the network is hopeless. */
const MIN_TOKEN_LENGTH = 16;

/** The smallest udpQueueBytes but 0: a smaller queue holds too few of the largest datagrams to be worth a thread. */
export const MIN_UDP_QUEUE_BYTES = 1 << 20;

/** Values the schema's ranges let through that are still wrong. */
function valueProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.udpQueueBytes !== 0 && config.udpQueueBytes < MIN_UDP_QUEUE_BYTES) {
    problems.push(`udpQueueBytes: expected 0 (no queue) or at least ${MIN_UDP_QUEUE_BYTES} (1 MiB), got ${config.udpQueueBytes}`);
  }
  return problems;
}

/**
 * The read side and the admin interface can delete series and show every
 * metric: off loopback they need a token, unless the operator says
 * `--insecure` on purpose (docs/security.md).
 */
function exposureProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.token !== '' && config.token.length < MIN_TOKEN_LENGTH) {
    problems.push(`token: expected at least ${MIN_TOKEN_LENGTH} characters, got ${config.token.length} (generate one with \`openssl rand -hex 24\`)`);
  }
  if (config.token !== '' || config.insecure) return problems;
  const exposed: [boolean, ConfigKey][] = [
    [config.http, 'httpHost'],
    [config.admin, 'adminHost'],
  ];
  for (const [enabled, key] of exposed) {
    if (enabled && !isLoopback(config[key] as string)) {
      problems.push(
        `${key}: ${config[key] as string} is not a loopback address, and without a token anyone who reaches it can read every metric` +
          `${key === 'adminHost' ? ' and delete series' : ''}; set a token (--token or DATTSS_TOKEN) or pass --insecure to expose it anyway`,
      );
    }
  }
  return problems;
}

/** Options the running Node, or this build, cannot honour. `batchMissing`: why the batch UDP reader is not here (ingest/udp-socket.ts). */
export function runtimeProblems(config: Config, nodeVersion: string, batchMissing: string | undefined = batchReaderMissing()): string[] {
  const problems: string[] = [];
  if (config.udpReader === 'batch' && batchMissing !== undefined) {
    problems.push(`udpReader: batch needs dattss's native UDP reader, which is not available: ${batchMissing}; use auto or dgram`);
  }
  // The batch reader sets SO_REUSEPORT itself; dgram learnt it in Node 22.12.
  if (config.receiveThreads > 1 && readerFor(config.udpReader, config.host, batchMissing) === 'dgram' && !reusePortSupported(nodeVersion)) {
    problems.push(
      `receiveThreads: ${config.receiveThreads} threads share the port with SO_REUSEPORT, which Node's dgram has from Node 22.12 (this is Node ${nodeVersion}) ` +
        `and the batch UDP reader on any Node${batchMissing === undefined ? ` (udpReader is ${config.udpReader})` : `, but it is not available: ${batchMissing}`}; ` +
        "use 1 to receive in one thread, or 0 in the daemon's own",
    );
  }
  return problems;
}

/** dgram's `reusePort` came in Node 22.12 and 23.1. */
export function reusePortSupported(nodeVersion: string): boolean {
  const [major = 0, minor = 0] = nodeVersion.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and the name localhost. */
export function isLoopback(host: string): boolean {
  const address = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/^::ffff:/, '');
  return address === 'localhost' || address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/** Compares names without the common `DATTSS_` prefix, which would make every short name look close. */
function envHint(given: string, candidates: readonly string[]): string {
  const prefix = 'DATTSS_';
  const suggestion = hint(given.slice(prefix.length), candidates.map((name) => name.slice(prefix.length)));
  return suggestion.replace('"', `"${prefix}`);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new DattssError('DATTSS_CONFIG_FILE', `cannot read the config file ${file}: ${(cause as Error).message}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new DattssError('DATTSS_CONFIG_FILE', `the config file ${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DattssError('DATTSS_CONFIG_FILE', `the config file ${file} must hold a JSON object of options`);
  }
  return parsed as Record<string, unknown>;
}

function isKey(key: string): key is ConfigKey {
  return (CONFIG_KEYS as string[]).includes(key);
}

/** ` (did you mean "port"?)` for a near miss, else ''. */
export function hint(given: string, candidates: readonly string[]): string {
  let best = '';
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(given.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(given.length / 4)) ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
