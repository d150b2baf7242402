import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { BIN, envWithoutDattss } from '../helpers/child-daemon.js';
import { CONFIG_KEYS, describeExpected, envName, flagName, optionSchema, type ConfigKey } from '../../src/config/schema.js';

// The real CLI (bin/dattss.js → dist/), so `npm run build` must have run.
const ROOT = new URL('../../', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'dattss-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Runs `dattss ...args` to completion. The environment is the test's minus
 * every DATTSS_* variable, plus `env`. The cwd is a temp directory so that a
 * daemon that wrongly starts cannot touch ./data of the checkout; the timeout
 * SIGKILLs it so nothing is left running.
 */
function dattss(t: Test, args: string[], env: Record<string, string> = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: tempDir(t),
    env: { ...envWithoutDattss(), ...env },
    encoding: 'utf8',
    timeout: 5000,
    killSignal: 'SIGKILL',
  });
  if (result.error !== undefined) t.fail(`spawn failed: ${result.error.message}`);
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Did not start: exited by itself, non-zero, nothing on stdout (the "listening" log line goes there). */
function refused(t: Test, run: Run, what: string): void {
  t.equal(run.signal, null, `${what}: exited by itself (not killed by the timeout)`);
  t.equal(run.status, 1, `${what}: exit status 1`);
  t.equal(run.stdout, '', `${what}: no log output, the daemon did not start`);
}

t.test('dattss --help lists the serve command and exits 0', async (t) => {
  const run = dattss(t, ['--help']);
  t.equal(run.status, 0);
  t.match(run.stdout, /^Usage: dattss \[options\] \[command\]/);
  t.match(run.stdout, /\n\s+serve \[options\]\s/);
  t.match(run.stdout, /--version/);
  t.match(run.stdout, /dattss serve --help/, 'points at serve --help for the options');
  t.equal(run.stderr, '');
});

t.test('dattss serve --help lists every option and exits 0', async (t) => {
  const run = dattss(t, ['serve', '--help']);
  t.equal(run.status, 0);
  t.equal(run.stderr, '');
  t.match(run.stdout, /^Usage: dattss serve \[options\]/);
  t.match(run.stdout, /-c, --config <file>/);
  t.match(run.stdout, /DATTSS_CONFIG/);
  // commander wraps the descriptions; compare with whitespace collapsed.
  const flat = run.stdout.replace(/\s+/g, ' ');
  for (const key of CONFIG_KEYS) {
    const flag = flagName(key);
    t.match(run.stdout, new RegExp(`^\\s+${flag}(?: <[a-z]+>)?\\s`, 'm'), `${flag} is listed`);
    t.ok(flat.includes(envName(key)), `${key}: its env var ${envName(key)} is shown`);
    t.ok(flat.includes(`default: ${JSON.stringify(optionSchema(key).default)})`), `${key}: its default is shown`);
    if (optionSchema(key).type === 'boolean') t.match(run.stdout, new RegExp(`^\\s+--no-${flag.slice(2)}\\s`, 'm'), `--no-${flag.slice(2)} is listed`);
  }
  t.ok(flat.includes('docs/configuration.md'), 'points at the docs');
});

t.test('dattss help serve is the same help', async (t) => {
  const run = dattss(t, ['help', 'serve']);
  t.equal(run.status, 0);
  t.equal(run.stdout, dattss(t, ['serve', '--help']).stdout);
});

t.test('dattss --version prints the package version', async (t) => {
  for (const flag of ['--version', '-V']) {
    const run = dattss(t, [flag]);
    t.equal(run.status, 0, flag);
    t.equal(run.stdout, `${VERSION}\n`, flag);
  }
});

t.test('dattss serve --port 70000 --max-series 0 refuses to start and names both problems', async (t) => {
  const run = dattss(t, ['serve', '--port', '70000', '--max-series', '0']);
  refused(t, run, 'two bad flags');
  t.equal(
    run.stderr,
    'dattss: invalid configuration:\n' +
      '  - port (from --port): expected an integer from 0 to 65535, got 70000\n' +
      '  - maxSeries (from --max-series): expected an integer from 1 to 100000000, got 0 [DATTSS_CONFIG_INVALID]\n',
  );
});

t.test('an invalid value for every option, through flags and env, is reported at once', async (t) => {
  const invalid = (key: ConfigKey): string => {
    const schema = optionSchema(key);
    if (Array.isArray(schema.anyOf)) return 'loud';
    if (schema.type === 'array') return 'key,,'; // empty items are not keys
    if (schema.type === 'integer') return String((schema.maximum as number) + 1);
    if (schema.type === 'boolean') return 'maybe';
    return schema.maxLength !== undefined ? 'x'.repeat((schema.maxLength as number) + 1) : '';
  };
  // Switches take no value on the command line, so booleans go through env.
  const args = CONFIG_KEYS.filter((key) => optionSchema(key).type !== 'boolean').map((key) => `${flagName(key)}=${invalid(key)}`);
  const env = Object.fromEntries(CONFIG_KEYS.filter((key) => optionSchema(key).type === 'boolean').map((key) => [envName(key), invalid(key)]));
  const run = dattss(t, ['serve', ...args], env);
  refused(t, run, 'every option invalid');
  t.match(run.stderr, /^dattss: invalid configuration:\n/);
  t.match(run.stderr, / \[DATTSS_CONFIG_INVALID\]\n$/);
  const lines = run.stderr.split('\n').filter((line) => line.startsWith('  - '));
  t.equal(lines.length, CONFIG_KEYS.length, 'one line per option');
  CONFIG_KEYS.forEach((key, i) => {
    const source = optionSchema(key).type === 'boolean' ? envName(key) : flagName(key);
    t.match(lines[i], `  - ${key} (from ${source}): expected ${describeExpected(key)}, got `, key);
  });
});

t.test('DATTSS_PROT=1 dattss serve refuses to start with a did-you-mean', async (t) => {
  const run = dattss(t, ['serve', '--port', '0'], { DATTSS_PROT: '1' });
  refused(t, run, 'misspelled env var');
  t.equal(run.stderr, 'dattss: invalid configuration:\n  - unknown environment variable DATTSS_PROT (did you mean "DATTSS_PORT"?) [DATTSS_CONFIG_INVALID]\n');
});

t.test('a bad env value names the variable', async (t) => {
  const run = dattss(t, ['serve'], { DATTSS_PORT: 'abc', DATTSS_LOG_LEVEL: 'loud' });
  refused(t, run, 'bad env values');
  t.match(run.stderr, 'port (from DATTSS_PORT): expected an integer from 0 to 65535, got "abc"');
  t.match(run.stderr, 'logLevel (from DATTSS_LOG_LEVEL): expected one of fatal, error, warn, info, debug, trace, silent, got "loud"');
});

t.test('a config file that cannot be read refuses to start with DATTSS_CONFIG_FILE', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'missing.json');
  for (const args of [
    ['serve', '--config', missing],
    ['serve', '-c', missing],
    ['serve', '--config', dir],
  ]) {
    const run = dattss(t, args);
    refused(t, run, args.join(' '));
    t.match(run.stderr, /^dattss: cannot read the config file .+ \[DATTSS_CONFIG_FILE\]\n$/, args.join(' '));
    t.ok(run.stderr.includes(args[2] as string), `${args.join(' ')}: names the file`);
  }
  const run = dattss(t, ['serve'], { DATTSS_CONFIG: missing });
  refused(t, run, 'DATTSS_CONFIG=missing');
  t.match(run.stderr, /^dattss: cannot read the config file .*missing\.json: ENOENT.* \[DATTSS_CONFIG_FILE\]\n$/, 'DATTSS_CONFIG names the file');
});

t.test('the example config passes validation in the CLI (checked by breaking one flag)', async (t) => {
  // A valid config would start the daemon; one bad flag proves the file itself produced no problem.
  const run = dattss(t, ['serve', '--config', join(ROOT, 'config', 'example.json'), '--max-series', '0']);
  refused(t, run, 'example.json + bad flag');
  t.equal(
    run.stderr,
    'dattss: invalid configuration:\n  - maxSeries (from --max-series): expected an integer from 1 to 100000000, got 0 [DATTSS_CONFIG_INVALID]\n',
  );
});

t.test('the refused runs created no database', async (t) => {
  const dir = tempDir(t);
  const db = join(dir, 'sub', 'dattss.db');
  const run = dattss(t, ['serve', '--db', db, '--port', '70000']);
  refused(t, run, 'bad port with a db path');
  t.notOk(existsSync(join(dir, 'sub')), 'validation happens before anything touches the disk');
});
