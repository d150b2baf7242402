import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig } from '../config/load.js';
import { CONFIG_FILE_ENV, CONFIG_KEYS, describeExpected, envName, flagName, optionSchema, type ConfigKey } from '../config/schema.js';
import { DattssError } from '../errors.js';
import { liveCommand } from './commands/live.js';
import { queryCommand } from './commands/query.js';
import { sendCommand } from './commands/send.js';
import { seriesCommand } from './commands/series.js';
import { weekCommand } from './commands/week.js';

/** Errors in what the user typed exit 2, as commander's own usage errors do; everything else exits 1. */
const USAGE_ERRORS: ReadonlySet<string> = new Set(['DATTSS_CLI_USAGE', 'DATTSS_QUERY_INVALID']);

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The `dattss` command. The only module that exits the process or handles signals. */
export async function main(argv: string[] = process.argv): Promise<void> {
  const program = new Command('dattss')
    .description(
      'A statsd-compatible metrics aggregation daemon: statsd lines over UDP, 5-second partials, ' +
        '1-minute moving averages, and exact, mergeable 1-minute aggregates in SQLite.',
    )
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError()
    .addHelpText('after', '\nRun `dattss <command> --help` for its options (`dattss serve --help` for every daemon option). Docs: README.md and docs/ in the package.');

  const serve = program
    .command('serve')
    .description('run the daemon (UDP 127.0.0.1:8125 and ./data/dattss.db by default) until SIGTERM or SIGINT')
    .option('-c, --config <file>', `JSON config file (env: ${CONFIG_FILE_ENV}); precedence: defaults < file < env < flags`)
    .addHelpText('after', '\nEvery option is documented in docs/configuration.md.')
    .action(async (options: Record<string, string | boolean | undefined>) => {
      await serveCommand(options);
    });
  for (const key of CONFIG_KEYS) addConfigOption(serve, key);

  for (const command of [queryCommand(), seriesCommand(), liveCommand(interrupted), weekCommand(), sendCommand()]) {
    // One line naming the problem, not the whole help, for a mistyped operator command.
    program.addCommand(command.exitOverride().showHelpAfterError(false));
  }

  try {
    await program.parseAsync(argv);
  } catch (error) {
    exitOnCliError(error);
  }
}

/** An AbortSignal raised by Ctrl-C, for a command that runs until the operator stops it. */
function interrupted(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  return controller.signal;
}

function exitOnCliError(error: unknown): never {
  // commander has printed its message (or the help) already.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof DattssError) {
    process.stderr.write(`dattss: ${error.message} [${error.code}]\n`);
    process.exit(USAGE_ERRORS.has(error.code) ? 2 : 1);
  }
  process.stderr.write(`dattss: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
}

function addConfigOption(command: Command, key: ConfigKey): void {
  const schema = optionSchema(key);
  const flag = flagName(key);
  const details = `(env: ${envName(key)}; default: ${JSON.stringify(schema.default)})`;
  if (schema.type === 'boolean') {
    command.addOption(new Option(flag, `${schema.description as string} ${details}`));
    command.addOption(new Option(`--no-${flag.slice(2)}`, `turn ${flag} off`));
    return;
  }
  const placeholder =
    schema.type === 'integer' ? '<n>' : schema.type === 'array' ? '<list>' : describeExpected(key).startsWith('one of') ? '<choice>' : '<value>';
  command.addOption(new Option(`${flag} ${placeholder}`, `${schema.description as string} ${details}`));
}

async function serveCommand(options: Record<string, string | boolean | undefined>): Promise<void> {
  const flags: Partial<Record<ConfigKey, string | boolean>> = {};
  for (const key of CONFIG_KEYS) {
    const value = options[key];
    if (value !== undefined) flags[key] = value;
  }
  // An empty DATTSS_CONFIG= (or --config '') means no file, as an unset variable does.
  const file = ((options.config as string | undefined) ?? process.env[CONFIG_FILE_ENV]) || undefined;
  let daemon;
  try {
    // Loaded here, not at the top: the read commands start in a third of the time without fastify and pino.
    const [{ createDaemon }, { createLogger }] = await Promise.all([import('../daemon.js'), import('../log.js')]);
    const config = loadConfig({ file, env: process.env, flags });
    daemon = createDaemon(config, { logger: createLogger({ level: config.logLevel, pretty: config.pretty }) });
    await daemon.start();
  } catch (error) {
    fail(error);
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write(`dattss: ${signal} again while stopping; exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    daemon.stop().then(
      () => process.exit(0),
      (error: unknown) => fail(error),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

function fail(error: unknown): never {
  if (error instanceof DattssError) {
    process.stderr.write(`dattss: ${error.message} [${error.code}]\n`);
  } else {
    process.stderr.write(`dattss: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
}
