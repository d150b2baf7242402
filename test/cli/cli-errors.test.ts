import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import t from 'tap';
import { failed, ok, runCli, twoMinutes } from '../helpers/cli.js';
import { tempDir } from '../helpers/daemon.js';
import { loadMigrations, migrate } from '../../src/store/migrate.js';

// The read commands' error paths and help, run as the real binary.

t.test('errors: one line, no stack, exit 2 for what was typed wrong and 1 for the rest', async (t) => {
  const { dbPath } = await twoMinutes(t);
  const missing = join(tempDir(t), 'nothing.db');
  failed(
    t,
    await runCli(t, ['query', 'hits', '--db', missing]),
    1,
    `dattss: no database at ${missing} — is the daemon running with --db ${missing}? [DATTSS_STORE_OPEN]`,
    'missing db',
  );
  failed(
    t,
    await runCli(t, ['series'], { env: { DATTSS_DB: missing } }),
    1,
    `dattss: no database at ${missing} — is the daemon running with --db ${missing}? [DATTSS_STORE_OPEN]`,
    'DATTSS_DB is the default',
  );
  failed(t, await runCli(t, ['week', 'hits']), 1, /^dattss: no database at \.\/data\/dattss\.db — /, 'the config default');
  failed(
    t,
    await runCli(t, ['query', 'hits', '--db', dbPath, '--since', '3x']),
    2,
    'dattss: since: expected a duration like 90s, 15m, 3h, 2d or 1w, got "3x" [DATTSS_QUERY_INVALID]',
    'bad duration',
  );
  failed(t, await runCli(t, ['query', 'hitz', '--db', dbPath]), 1, 'dattss: no series named "hitz" is stored [DATTSS_SERIES_NOT_FOUND]', 'unknown series');
  failed(t, await runCli(t, ['query', 'hits', '--db', dbPath, '--type', 'timer']), 1, /is stored as counter, not timer/, 'wrong type');
  failed(
    t,
    await runCli(t, ['query', 'hits', '--db', dbPath, '--format', 'xml']),
    2,
    "error: option '--format <format>' argument 'xml' is invalid. Allowed choices are table, json, csv.",
    'bad --format',
  );
  failed(t, await runCli(t, ['series', '--db', dbPath, '--json', '--format', 'csv']), 2, 'dattss: --json contradicts --format csv; give one of them [DATTSS_CLI_USAGE]', '--json and --format');
  failed(t, await runCli(t, ['query', 'hits', '--db', dbPath, '--stat', 'median']), 2, /^dattss: --stat: expected value, count, .* got "median" \[DATTSS_CLI_USAGE\]\n$/, 'bad --stat');
  failed(t, await runCli(t, ['query', 'hits', '--db', dbPath, '--stat', 'p101']), 2, /--stat: .* got "p101"/, 'percentile over 100');
  failed(t, await runCli(t, ['query', 'hits', '--db', dbPath, '--from', 'yesterday']), 2, /^dattss: from: expected Unix seconds or an ISO 8601 time/, 'bad --from');
  failed(t, await runCli(t, ['query', 'hits', '--db', dbPath, '--resolution', '5m']), 2, /argument '5m' is invalid. Allowed choices are auto, 1m, 1h, 1d\./, 'bad --resolution');
  const misspelt = await runCli(t, ['query', 'hits', '--db', dbPath, '--sinse', '3h']);
  t.equal(misspelt.status, 2, 'misspelt option: exit status 2');
  t.equal(misspelt.stderr, "error: unknown option '--sinse'\n(Did you mean --since?)\n", 'misspelt option: a did-you-mean hint');
  failed(t, await runCli(t, ['query']), 2, "error: missing required argument 'name'", 'no name');
  failed(t, await runCli(t, ['series', '--db', dbPath, '--limit', '0']), 2, /^dattss: limit: expected an integer from 1 to 100000, got "0"/, 'bad --limit');
  const empty = join(tempDir(t), 'empty.db');
  new BetterSqlite3(empty).close();
  failed(t, await runCli(t, ['series', '--db', empty]), 1, `dattss: ${empty} is not a dattss database (it has no series table) [DATTSS_STORE_OPEN]`, 'not dattss');
  const older = join(tempDir(t), 'older.db');
  const olderDb = new BetterSqlite3(older);
  migrate(olderDb, loadMigrations().slice(0, 4));
  olderDb.close();
  const latest = loadMigrations().length;
  failed(
    t,
    await runCli(t, ['query', 'hits', '--db', older]),
    1,
    `dattss: ${older} has schema version 4, older than this dattss reads (${latest}); start the daemon on it once (dattss serve --db ${older}) to upgrade it [DATTSS_STORE_OPEN]`,
    'an older schema',
  );
  const newer = join(tempDir(t), 'newer.db');
  const newerDb = new BetterSqlite3(newer);
  migrate(newerDb);
  newerDb.pragma(`user_version = ${latest + 1}`);
  newerDb.close();
  failed(t, await runCli(t, ['series', '--db', newer]), 1, `dattss: ${newer} has schema version ${latest + 1}, newer than this dattss knows (${latest}); upgrade dattss [DATTSS_STORE_OPEN]`, 'a newer schema');
  failed(t, await runCli(t, ['series', '--db', join(import.meta.dirname, 'read-commands.test.ts')]), 1, /^dattss: cannot open .* for reading: file is not a database \[DATTSS_STORE_OPEN\]\n$/, 'not sqlite');
});

t.test('--help of every command lists its options and exits 0', async (t) => {
  const expected: Record<string, string[]> = {
    query: ['--tag <k:v>', '--type <type>', '--since <duration>', '--from <time>', '--to <time>', '--resolution <resolution>', '--stat <stats>', '--format <format>', '--json', '--utc', '--db <path>', '--config <file>'],
    series: ['--type <type>', '--limit <n>', '--format <format>', '--json', '--utc', '--db <path>'],
    live: ['--url <url>', '--http-host <host>', '--http-port <n>', '--token <token>', '--interval <seconds>', '--once', '--format <format>', '--json'],
    week: ['--tag <k:v>', '--bucket <minutes>', '--tz <zone>', '--format <format>', '--json', '--utc', '--db <path>'],
    send: ['--agg <name value...>', '--host <host>', '--port <n>', '--json'],
  };
  for (const [command, flags] of Object.entries(expected)) {
    const run = await runCli(t, [command, '--help']);
    ok(t, run, `${command} --help`);
    t.match(run.stdout, new RegExp(`^Usage: dattss ${command} \\[options\\]`), command);
    for (const flag of flags) t.ok(run.stdout.includes(flag), `${command} --help lists ${flag}`);
    t.match(run.stdout, /\nExamples:\n/, `${command} --help has examples`);
  }
});

t.test('dattss --help lists the operator commands; an unknown command exits 2', async (t) => {
  const run = await runCli(t, ['--help']);
  ok(t, run, '--help');
  for (const usage of ['query [options] <name>', 'series [options] [glob]', 'live [options] [glob]', 'week [options] <name>', 'send [options] [lines...]']) {
    t.match(run.stdout, new RegExp(`\\n  ${usage.replace(/[[\]().]/g, '\\$&')}\\s`), usage);
  }
  const unknown = await runCli(t, ['qurey']);
  t.equal(unknown.status, 2, 'unknown command: exit status 2');
  t.match(unknown.stderr, /^error: unknown command 'qurey'\n\(Did you mean query\?\)/);
});
