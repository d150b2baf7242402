import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { hint, loadConfig, type ConfigSources } from '../../src/config/load.js';
import {
  CONFIG_FILE_ENV,
  CONFIG_KEYS,
  configDefaults,
  describeExpected,
  envName,
  flagName,
  optionSchema,
  type Config,
  type ConfigKey,
} from '../../src/config/schema.js';
import { DattssError, ERROR_CODES } from '../../src/errors.js';

const ROOT = new URL('../../', import.meta.url);
const readText = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');

/** A fresh temp directory under os.tmpdir(), removed when the test ends. */
function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'dattss-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeJson(t: Test, content: unknown): string {
  const file = join(tempDir(t), 'dattss.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Runs loadConfig and returns the DattssError it throws (failing the test if it does not). */
function loadError(t: Test, sources: ConfigSources): DattssError & { problems?: string[] } {
  try {
    loadConfig(sources);
  } catch (error) {
    t.type(error, DattssError);
    return error as DattssError & { problems?: string[] };
  }
  t.fail('expected loadConfig to throw');
  return new DattssError('DATTSS_CONFIG_INVALID', 'did not throw');
}

/** A valid value other than the default, from the schema (so new keys are covered without edits here). */
function otherValue(key: ConfigKey): { value: string | number | boolean | string[]; text: string } {
  const schema = optionSchema(key);
  const fallback = schema.default as unknown;
  if (Array.isArray(schema.anyOf)) {
    const literal = (schema.anyOf as TSchema[]).map((s) => s.const as string).find((v) => v !== fallback) as string;
    return { value: literal, text: literal };
  }
  switch (schema.type) {
    case 'integer': {
      const value = schema.minimum === fallback ? (schema.minimum as number) + 1 : (schema.minimum as number);
      return { value, text: String(value) };
    }
    case 'boolean':
      return { value: !(fallback as boolean), text: String(!(fallback as boolean)) };
    case 'array':
      return { value: ['x-one', 'x-two'], text: 'x-one, x-two' };
    default: {
      // Cross-key rules: a token has at least 16 characters, and a listener off loopback needs one.
      const value = key === 'token' ? 'x-custom-token-0123456789' : key.endsWith('Host') ? '127.0.0.2' : 'x-custom';
      return { value, text: value };
    }
  }
}

/** A value outside the schema's bounds, as text (for env and flags). */
function invalidText(key: ConfigKey): string {
  const schema = optionSchema(key);
  if (Array.isArray(schema.anyOf)) return 'loud';
  switch (schema.type) {
    case 'integer':
      return String((schema.maximum as number) + 1);
    case 'boolean':
      return 'maybe';
    case 'array':
      return 'key,,'; // empty items are not keys
    default:
      return schema.maxLength !== undefined ? 'x'.repeat((schema.maxLength as number) + 1) : '';
  }
}

t.test('the generated values used below fit (or break) the schema', async (t) => {
  for (const key of CONFIG_KEYS) {
    t.ok(Value.Check(optionSchema(key), otherValue(key).value), `${key}: other value is valid`);
    t.not(otherValue(key).value, configDefaults()[key], `${key}: other value is not the default`);
  }
});

t.test('config/default.json is exactly configDefaults()', async (t) => {
  const text = readText('config/default.json');
  t.same(JSON.parse(text), configDefaults());
  t.equal(text, `${JSON.stringify(configDefaults(), null, 2)}\n`, 'byte-exact: 2-space JSON, schema key order, trailing newline');
  t.same(loadConfig({ file: new URL('config/default.json', ROOT).pathname }), configDefaults(), 'loads to the defaults');
});

t.test('every default satisfies its own schema', async (t) => {
  const defaults = configDefaults();
  t.same(Object.keys(defaults), CONFIG_KEYS);
  for (const key of CONFIG_KEYS) t.ok(Value.Check(optionSchema(key), defaults[key]), key);
  t.same(loadConfig(), defaults, 'no sources: the defaults');
  t.same(loadConfig({ env: {}, flags: {} }), defaults, 'empty sources: the defaults');
});

t.test('config/example.json loads without problems and annotates every option', async (t) => {
  const path = new URL('config/example.json', ROOT).pathname;
  const config = loadConfig({ file: path });
  t.equal(config.host, '127.0.0.1', 'keeps the listener on loopback');
  t.not(config.db, configDefaults().db, 'a custom database path');
  t.ok(config.maxSeries > configDefaults().maxSeries, 'a larger series cap');
  t.not(config.logLevel, configDefaults().logLevel, 'a production log level');

  const keys = Object.keys(JSON.parse(readText('config/example.json')) as Record<string, unknown>);
  const options = keys.filter((key) => !key.startsWith('//'));
  t.same([...options].sort(), [...CONFIG_KEYS].sort(), 'shows every option');
  for (const key of options) {
    const before = keys[keys.indexOf(key) - 1];
    t.ok(before?.startsWith('//'), `a // comment precedes ${key}`);
  }
});

t.test('every key has a working flag and env var', async (t) => {
  for (const key of CONFIG_KEYS) {
    t.match(flagName(key), /^--[a-z][a-z0-9-]*$/, `${key}: flag is kebab-case`);
    t.match(envName(key), /^DATTSS_[A-Z0-9_]+$/, `${key}: env var is DATTSS_SNAKE_CASE`);
    const { value, text } = otherValue(key);
    t.same(loadConfig({ env: { [envName(key)]: text } })[key], value, `${envName(key)}=${text}`);
    t.same(loadConfig({ flags: { [key]: text } })[key], value, `${flagName(key)} ${text}`);
    if (typeof value === 'boolean') t.equal(loadConfig({ flags: { [key]: value } })[key], value, `${flagName(key)} as a switch`);
    t.same(loadConfig({ file: writeJson(t, { [key]: value }) })[key], value, `"${key}" in a file`);
  }
  t.equal(new Set(CONFIG_KEYS.map(flagName)).size, CONFIG_KEYS.length, 'flags are distinct');
  t.equal(new Set(CONFIG_KEYS.map(envName)).size, CONFIG_KEYS.length, 'env vars are distinct');
  t.notOk(CONFIG_KEYS.map(envName).includes(CONFIG_FILE_ENV), 'no option collides with DATTSS_CONFIG');
  t.equal(flagName('maxSeries'), '--max-series');
  t.equal(flagName('udpRecvBufferBytes'), '--udp-recv-buffer-bytes');
  t.equal(envName('maxSeries'), 'DATTSS_MAX_SERIES');
  t.equal(envName('dbBusyTimeoutMs'), 'DATTSS_DB_BUSY_TIMEOUT_MS');
});

t.test('env and flag text is converted to the option type', async (t) => {
  const env = (name: string, text: string): Readonly<Config> => loadConfig({ env: { [name]: text } });
  t.equal(env('DATTSS_PORT', ' 9000 ').port, 9000, 'surrounding whitespace is trimmed');
  t.equal(env('DATTSS_PORT', '+9000').port, 9000, 'a leading + is allowed');
  for (const text of ['true', 'TRUE', '1', 'yes', 'Yes', 'on', ' on ']) t.equal(env('DATTSS_PRETTY', text).pretty, true, `pretty=${JSON.stringify(text)}`);
  for (const text of ['false', 'False', '0', 'no', 'off', 'OFF']) {
    t.equal(env('DATTSS_SANITIZE_NAMES', text).sanitizeNames, false, `sanitizeNames=${JSON.stringify(text)}`);
  }
  t.equal(env('DATTSS_METRICS_PREFIX', '').metricsPrefix, '', 'an empty prefix is a valid string');
  t.equal(env('DATTSS_DB', ' /var/lib/x.db ').db, '/var/lib/x.db', 'strings are trimmed like numbers and booleans (a stray space in a unit file is never meant)');
  t.throws(() => loadConfig({ flags: { host: ' ' } }), { code: 'DATTSS_CONFIG_INVALID' }, 'a blank host is empty once trimmed, and refused');
  t.same(loadConfig({ env: { DATTSS_PORT: undefined } }), configDefaults(), 'an undefined env var is ignored');
  t.same(loadConfig({ flags: { port: undefined } as unknown as NonNullable<ConfigSources['flags']> }), configDefaults(), 'an undefined flag is ignored (as commander leaves unset options)');
  t.same(loadConfig({ env: { PORT: '1', dattss_port: '2', HOME: '/root' } }), configDefaults(), 'only DATTSS_* variables are read');
});

t.test('precedence: defaults < file < env < flags', async (t) => {
  const file = writeJson(t, { port: 1001, maxSeries: 11, logLevel: 'debug', db: '/tmp/from-file.db' });
  const env = { DATTSS_PORT: '2002', DATTSS_MAX_SERIES: '22', DATTSS_PRETTY: 'yes' };
  const flags = { port: '3003', pretty: false };
  const config = loadConfig({ file, env, flags });
  t.equal(config.port, 3003, 'flag beats env and file');
  t.equal(config.pretty, false, 'a boolean flag beats env');
  t.equal(config.maxSeries, 22, 'env beats file');
  t.equal(config.logLevel, 'debug', 'file beats defaults');
  t.equal(config.db, '/tmp/from-file.db', 'file beats defaults');
  t.equal(config.host, configDefaults().host, 'untouched options keep their defaults');
  t.equal(loadConfig({ file, env }).port, 2002, 'without the flag, env wins');
  t.equal(loadConfig({ file }).port, 1001, 'without env, the file wins');
  t.equal(loadConfig({ file, flags: { port: '3003' } }).port, 3003, 'a flag beats the file directly');
});

t.test('the result is frozen', async (t) => {
  const config = loadConfig({ flags: { port: '0' } });
  t.ok(Object.isFrozen(config));
  t.throws(() => {
    (config as Config).port = 1;
  }, TypeError);
  t.equal(config.port, 0);
  t.not(loadConfig(), loadConfig(), 'each call returns its own object');
});

t.test('unknown file keys are rejected with a did-you-mean hint; // keys are comments', async (t) => {
  const file = writeJson(t, { '//': 'comment', '// port': 'another', prot: 9000, maxseries: 5, completelyUnrelatedThing: 1 });
  const error = loadError(t, { file });
  t.equal(error.code, 'DATTSS_CONFIG_INVALID');
  t.same(error.problems, [
    `unknown key "prot" in ${file} (did you mean "port"?)`,
    `unknown key "maxseries" in ${file} (did you mean "maxSeries"?)`,
    `unknown key "completelyUnrelatedThing" in ${file}`,
  ]);
  t.same(loadConfig({ file: writeJson(t, { '//': 1, '// x': { nested: true }, '//port': 9 }) }), configDefaults(), 'comment keys only: defaults');
  t.same(loadConfig({ file: writeJson(t, {}) }), configDefaults(), 'an empty object: defaults');
});

t.test('unknown DATTSS_* env vars are rejected with a hint; DATTSS_CONFIG is not an option nor an error', async (t) => {
  const error = loadError(t, { env: { DATTSS_PROT: '1', DATTSS_MAXSERIES: '5', DATTSS_CONFG: 'x.json' } });
  t.equal(error.code, 'DATTSS_CONFIG_INVALID');
  t.same(error.problems, [
    'unknown environment variable DATTSS_PROT (did you mean "DATTSS_PORT"?)',
    'unknown environment variable DATTSS_MAXSERIES (did you mean "DATTSS_MAX_SERIES"?)',
    'unknown environment variable DATTSS_CONFG (did you mean "DATTSS_CONFIG"?)',
  ]);
  t.same(loadConfig({ env: { [CONFIG_FILE_ENV]: '/does/not/exist.json' } }), configDefaults(), 'loadConfig ignores DATTSS_CONFIG');
  // The shared DATTSS_ prefix does not count toward closeness: no DATTSS_DB hint for DATTSS_DEBUG.
  t.same(loadError(t, { env: { DATTSS_DEBUG: '1', DATTSS_HOTS: 'x' } }).problems, [
    'unknown environment variable DATTSS_DEBUG',
    'unknown environment variable DATTSS_HOTS (did you mean "DATTSS_HOST"?)',
  ]);
});

t.test('bad values are rejected with a message naming the key and its source', async (t) => {
  const cases: { name: string; sources: ConfigSources; problem: string }[] = [
    { name: 'port 70000 (flag)', sources: { flags: { port: '70000' } }, problem: 'port (from --port): expected an integer from 0 to 65535, got 70000' },
    { name: 'port "abc" (env)', sources: { env: { DATTSS_PORT: 'abc' } }, problem: 'port (from DATTSS_PORT): expected an integer from 0 to 65535, got "abc"' },
    { name: 'port 1.5 (env)', sources: { env: { DATTSS_PORT: '1.5' } }, problem: 'port (from DATTSS_PORT): expected an integer from 0 to 65535, got "1.5"' },
    { name: 'port -1 (flag)', sources: { flags: { port: '-1' } }, problem: 'port (from --port): expected an integer from 0 to 65535, got -1' },
    { name: 'port "" (env)', sources: { env: { DATTSS_PORT: '' } }, problem: 'port (from DATTSS_PORT): expected an integer from 0 to 65535, got ""' },
    {
      name: 'logLevel "loud" (env)',
      sources: { env: { DATTSS_LOG_LEVEL: 'loud' } },
      problem: 'logLevel (from DATTSS_LOG_LEVEL): expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    },
    { name: 'maxSeries 0 (flag)', sources: { flags: { maxSeries: '0' } }, problem: 'maxSeries (from --max-series): expected an integer from 1 to 100000000, got 0' },
    { name: 'pretty "maybe" (env)', sources: { env: { DATTSS_PRETTY: 'maybe' } }, problem: 'pretty (from DATTSS_PRETTY): expected true or false, got "maybe"' },
    {
      name: 'sanitizeNames "maybe" (flag)',
      sources: { flags: { sanitizeNames: 'maybe' } },
      problem: 'sanitizeNames (from --sanitize-names): expected true or false, got "maybe"',
    },
    { name: 'host "" (flag)', sources: { flags: { host: '' } }, problem: 'host (from --host): expected a non-empty string, got ""' },
    {
      name: 'metricsPrefix too long (env)',
      sources: { env: { DATTSS_METRICS_PREFIX: 'p'.repeat(101) } },
      problem: `metricsPrefix (from DATTSS_METRICS_PREFIX): expected a string of at most 100 characters, got "${'p'.repeat(101)}"`,
    },
    {
      name: 'seriesIdleSec 59 (env)',
      sources: { env: { DATTSS_SERIES_IDLE_SEC: '59' } },
      problem: 'seriesIdleSec (from DATTSS_SERIES_IDLE_SEC): expected an integer from 60 to 31536000, got 59',
    },
  ];
  for (const { name, sources, problem } of cases) {
    const error = loadError(t, sources);
    t.equal(error.code, 'DATTSS_CONFIG_INVALID', name);
    t.same(error.problems, [problem], name);
    t.match(error.message, problem, `${name}: the message carries the problem`);
  }
});

t.test('bad values in a file are rejected with the file as source, and JSON types are not coerced', async (t) => {
  const file = writeJson(t, { port: '8125', maxSeries: 0, logLevel: 'loud', pretty: 'yes', sanitizeNames: 1, host: 42, seriesIdleSec: 600.5 });
  const error = loadError(t, { file });
  t.same(error.problems, [
    `host (from ${file}): expected a non-empty string, got 42`,
    `port (from ${file}): expected an integer from 0 to 65535, got "8125"`,
    `logLevel (from ${file}): expected one of fatal, error, warn, info, debug, trace, silent, got "loud"`,
    `pretty (from ${file}): expected true or false, got "yes"`,
    `maxSeries (from ${file}): expected an integer from 1 to 100000000, got 0`,
    `seriesIdleSec (from ${file}): expected an integer from 60 to 31536000, got 600.5`,
    `sanitizeNames (from ${file}): expected true or false, got 1`,
  ]);
  const nullFile = writeJson(t, { port: null });
  t.same(loadError(t, { file: nullFile }).problems, [`port (from ${nullFile}): expected an integer from 0 to 65535, got null`], 'null is not a default');
});

t.test('several problems from every source are reported at once, in one error', async (t) => {
  const file = writeJson(t, { prot: 1, maxSeries: 0 });
  const env = { DATTSS_LOG_LEVEL: 'loud', DATTSS_PROT: '2', DATTSS_PRETTY: 'maybe' };
  const flags = { port: '70000', db: '' };
  const error = loadError(t, { file, env, flags });
  t.equal(error.name, 'DattssError');
  t.equal(error.code, 'DATTSS_CONFIG_INVALID');
  t.same(error.problems, [
    `unknown key "prot" in ${file} (did you mean "port"?)`,
    'unknown environment variable DATTSS_PROT (did you mean "DATTSS_PORT"?)',
    'port (from --port): expected an integer from 0 to 65535, got 70000',
    'db (from --db): expected a non-empty string, got ""',
    'logLevel (from DATTSS_LOG_LEVEL): expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    'pretty (from DATTSS_PRETTY): expected true or false, got "maybe"',
    `maxSeries (from ${file}): expected an integer from 1 to 100000000, got 0`,
  ]);
  t.equal(error.message, `invalid configuration:\n  - ${(error.problems ?? []).join('\n  - ')}`, 'the message lists every problem, one a line');
});

t.test('every key rejects an out-of-bounds value from env and from flags, all at once', async (t) => {
  const env = Object.fromEntries(CONFIG_KEYS.map((key) => [envName(key), invalidText(key)]));
  const fromEnv = loadError(t, { env });
  t.equal(fromEnv.problems?.length, CONFIG_KEYS.length);
  CONFIG_KEYS.forEach((key, i) => t.match(fromEnv.problems?.[i], `${key} (from ${envName(key)}): expected ${describeExpected(key)}, got `, key));

  const flags = Object.fromEntries(CONFIG_KEYS.map((key) => [key, invalidText(key)]));
  const fromFlags = loadError(t, { flags });
  t.equal(fromFlags.problems?.length, CONFIG_KEYS.length);
  CONFIG_KEYS.forEach((key, i) => t.match(fromFlags.problems?.[i], `${key} (from ${flagName(key)}): expected ${describeExpected(key)}, got `, key));

  t.equal(loadConfig({ env, flags: Object.fromEntries(CONFIG_KEYS.map((key) => [key, otherValue(key).text])) }).port, otherValue('port').value,
    'valid flags override invalid env values, which are then not reported');
});

t.test('the HTTP server and admin interface off loopback need a token or --insecure', async (t) => {
  const exposed = loadError(t, { flags: { httpHost: '0.0.0.0', adminHost: '::' } });
  t.same(exposed.problems, [
    'httpHost: 0.0.0.0 is not a loopback address, and without a token anyone who reaches it can read every metric; set a token (--token or DATTSS_TOKEN) or pass --insecure to expose it anyway',
    'adminHost: :: is not a loopback address, and without a token anyone who reaches it can read every metric and delete series; set a token (--token or DATTSS_TOKEN) or pass --insecure to expose it anyway',
  ]);
  t.equal(loadConfig({ flags: { httpHost: '0.0.0.0', adminHost: '::', token: 'a'.repeat(16) } }).httpHost, '0.0.0.0', 'a token allows it');
  t.equal(loadConfig({ flags: { httpHost: '0.0.0.0', adminHost: '::', insecure: true } }).insecure, true, '--insecure allows it');
  t.equal(loadConfig({ flags: { httpHost: '0.0.0.0', http: false, adminHost: '10.0.0.1', admin: false } }).http, false, 'a listener that is off exposes nothing');
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
    t.equal(loadConfig({ flags: { httpHost: host } }).httpHost, host, `${host} is loopback`);
  }
  t.equal(loadConfig({ flags: { host: '0.0.0.0' } }).host, '0.0.0.0', 'ingest may listen anywhere: statsd over UDP has no authentication anyway');
  const short = loadError(t, { env: { DATTSS_TOKEN: 'hunter2' } });
  t.match(short.problems, [/^token: expected at least 16 characters, got 7/]);
  t.notMatch(short.message, 'hunter2', 'the token itself is never printed');
  const tooLong = loadError(t, { flags: { token: 's'.repeat(1001) } });
  t.match(tooLong.problems, ['token (from --token): expected a string of at most 1000 characters, got (hidden)']);
});

t.test('udpQueueBytes is 0 (no queue) or at least 1 MiB', async (t) => {
  t.same(loadError(t, { flags: { udpQueueBytes: '1048575' } }).problems, ['udpQueueBytes: expected 0 (no queue) or at least 1048576 (1 MiB), got 1048575']);
  t.equal(loadConfig({ flags: { udpQueueBytes: '1048576' } }).udpQueueBytes, 1048576);
  t.equal(loadConfig({ env: { DATTSS_UDP_QUEUE_BYTES: '0' } }).udpQueueBytes, 0);
});

t.test('an unreadable file, invalid JSON and a non-object give DATTSS_CONFIG_FILE', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'missing.json');
  const cases: { name: string; file: string; message: RegExp }[] = [
    { name: 'missing file', file: missing, message: /^cannot read the config file .*missing\.json: ENOENT/ },
    { name: 'a directory', file: dir, message: /^cannot read the config file .*: EISDIR/ },
    { name: 'invalid JSON', file: writeJson(t, '{"port": 1,'), message: /is not valid JSON/ },
    { name: 'empty file', file: writeJson(t, ''), message: /is not valid JSON/ },
    { name: 'JSON with comments', file: writeJson(t, '{\n  // port\n  "port": 1\n}'), message: /is not valid JSON/ },
    { name: 'a JSON array', file: writeJson(t, '[{"port": 1}]'), message: /must hold a JSON object of options$/ },
    { name: 'JSON null', file: writeJson(t, 'null'), message: /must hold a JSON object of options$/ },
    { name: 'a JSON string', file: writeJson(t, '"port"'), message: /must hold a JSON object of options$/ },
    { name: 'a JSON number', file: writeJson(t, '8125'), message: /must hold a JSON object of options$/ },
  ];
  for (const { name, file, message } of cases) {
    const error = loadError(t, { file, env: { DATTSS_PROT: '1' } });
    t.equal(error.code, 'DATTSS_CONFIG_FILE', name);
    t.match(error.message, message, name);
    t.ok(error.message.includes(file), `${name}: names the file`);
    t.equal(error.problems, undefined, `${name}: no problems list, the file is the problem`);
  }
  const error = loadError(t, { file: missing });
  t.match(error.cause, { code: 'ENOENT' }, 'the fs error is the cause');

  // Permissions do not stop root, so this case only runs as another user.
  const locked = writeJson(t, { port: 1 });
  chmodSync(locked, 0o000);
  if (process.getuid?.() === 0) {
    t.equal(loadConfig({ file: locked }).port, 1, 'root reads a mode-000 file (the EACCES case needs a non-root user)');
  } else {
    const denied = loadError(t, { file: locked });
    t.equal(denied.code, 'DATTSS_CONFIG_FILE', 'mode 000');
    t.match(denied.message, /^cannot read the config file .*: EACCES/, 'mode 000');
  }
  t.type(loadError(t, { file: writeJson(t, '{') }).cause, SyntaxError, 'the JSON error is the cause');
});

t.test('hint()', async (t) => {
  t.equal(hint('prot', CONFIG_KEYS), ' (did you mean "port"?)', 'a transposition');
  t.equal(hint('posrt', CONFIG_KEYS), ' (did you mean "port"?)', 'an insertion');
  t.equal(hint('MAXSERIES', CONFIG_KEYS), ' (did you mean "maxSeries"?)', 'case-insensitive');
  t.equal(hint('logLevl', CONFIG_KEYS), ' (did you mean "logLevel"?)', 'a deletion');
  t.equal(hint('maxSeriess', ['maxSeries', 'seriesIdleSec']), ' (did you mean "maxSeries"?)');
  t.equal(hint('completelyUnrelatedThing', CONFIG_KEYS), '', 'no near miss: no hint');
  t.equal(hint('xyz', CONFIG_KEYS), '', 'short and far: no hint');
  t.equal(hint('port', []), '', 'no candidates: no hint');
  t.equal(hint('abcd', ['abxy']), ' (did you mean "abxy"?)', 'distance 2 is always close enough');
  t.equal(hint('abcd', ['axyz']), '', 'distance 3 is too far for a short word');
  t.equal(hint('badLineLogsPerMin', CONFIG_KEYS), ' (did you mean "badLineLogsPerMinute"?)', 'longer words allow len/4 edits');
  t.equal(hint('dbBusy', ['db', 'dbBusyTimeoutMs']), '', 'neither within reach');
  t.equal(hint('a', ['b', 'c']), ' (did you mean "b"?)', 'the first of equally near candidates');
});

/** The text under `### heading` up to the next heading of level 1-3. */
function section(markdown: string, heading: string): string | undefined {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start === -1) return undefined;
  const end = lines.findIndex((line, i) => i > start && /^#{1,3} /.test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

t.test('docs/configuration.md documents every option', async (t) => {
  const doc = readText('docs/configuration.md');
  const headings = [...doc.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
  t.same(headings, CONFIG_KEYS, 'one ### heading per option, in schema order, and no others');
  for (const key of CONFIG_KEYS) {
    const text = section(doc, `### ${key}`) ?? '';
    t.ok(text.includes(`\`${flagName(key)}`), `${key}: names the flag ${flagName(key)}`);
    t.ok(text.includes(`\`${envName(key)}\``), `${key}: names the env var ${envName(key)}`);
    t.ok(text.includes(describeExpected(key)), `${key}: states the bounds (${describeExpected(key)})`);
    const fallback = configDefaults()[key];
    const shown = Array.isArray(fallback) || fallback === '' ? JSON.stringify(fallback) : String(fallback);
    t.ok(text.includes(`\`${shown}\``), `${key}: states the default`);
  }
  t.ok(doc.includes(CONFIG_FILE_ENV), 'documents DATTSS_CONFIG');
  t.match(doc, /defaults < file < env < flags|defaults < config file < `DATTSS_\*` environment < flags/, 'states the precedence');
  for (const word of ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off']) t.ok(doc.includes(`\`${word}\``), `boolean env value ${word}`);
  t.ok(doc.includes('did you mean'), 'mentions the did-you-mean hint');
  t.ok(doc.includes('DATTSS_CONFIG_INVALID') && doc.includes('DATTSS_CONFIG_FILE'), 'names the config error codes');
});

t.test('docs/errors.md has a heading for every error code', async (t) => {
  const doc = readText('docs/errors.md');
  const headings = [...doc.matchAll(/^## (DATTSS_[A-Z_]+)$/gm)].map((m) => m[1]);
  t.same(headings, Object.keys(ERROR_CODES), 'one ## heading per code, in ERROR_CODES order, and no others');
  for (const code of Object.keys(ERROR_CODES)) {
    t.ok((section(doc, `## ${code}`) ?? '').trim().length > 100, `${code}: has an explanation`);
  }
});
