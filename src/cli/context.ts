import { existsSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { Option } from 'commander';
import { loadConfig } from '../config/load.js';
import { CONFIG_FILE_ENV, type Config, type ConfigKey } from '../config/schema.js';
import { DattssError } from '../errors.js';
import { systemClock } from '../flush/clock.js';
import { loadMigrations } from '../store/migrate.js';
import { openReadOnly } from '../store/queries.js';

/**
 * What the operator commands share with `dattss serve`: the same config file,
 * `DATTSS_*` variables and defaults, so `dattss query` reads the database the
 * daemon writes without being told where it is.
 */

export interface ConfigOptions {
  config?: string;
}

export function configOption(): Option {
  return new Option('-c, --config <file>', `JSON config file, as for serve (env: ${CONFIG_FILE_ENV})`);
}

/** `--tag`, as every command that picks a series by name takes it (see resolveSelector). */
export function tagOption(): Option {
  return new Option('--tag <k:v>', 'only series carrying this tag (repeatable); their values are merged').argParser(collect);
}

/** `--type`, for a name that several types share. */
export function typeOption(): Option {
  return new Option('--type <type>', 'counter, timer, gauge or set; needed only when the name has several');
}

export function dbOption(): Option {
  return new Option('--db <path>', 'SQLite database to read (env: DATTSS_DB; default: the config\'s db, ./data/dattss.db)');
}

/** The daemon's configuration with these command-line values on top (precedence as for serve). */
export function cliConfig(options: ConfigOptions, flags: Partial<Record<ConfigKey, string | undefined>>): Readonly<Config> {
  const file = (options.config ?? process.env[CONFIG_FILE_ENV]) || undefined;
  const defined = Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined)) as Partial<Record<ConfigKey, string>>;
  return loadConfig({ file, env: process.env, flags: defined });
}

/** Opens the database read-only, so it is safe beside a running daemon; a missing file is named plainly. */
export function openDatabase(options: ConfigOptions & { db?: string }): Database {
  const path = cliConfig(options, { db: options.db }).db;
  if (!existsSync(path)) throw new DattssError('DATTSS_STORE_OPEN', `no database at ${path} — is the daemon running with --db ${path}?`);
  const db = openReadOnly(path);
  let hasSeries: boolean;
  try {
    hasSeries = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'series'").get() !== undefined;
  } catch (cause) {
    // better-sqlite3 opens any file lazily; the first read finds out it is not SQLite.
    db.close();
    throw new DattssError('DATTSS_STORE_OPEN', `cannot open ${path} for reading: ${(cause as Error).message}`, { cause });
  }
  if (!hasSeries) {
    db.close();
    throw new DattssError('DATTSS_STORE_OPEN', `${path} is not a dattss database (it has no series table)`);
  }
  // The read side reads the newest schema's tables; only the daemon upgrades a file.
  const version = db.pragma('user_version', { simple: true }) as number;
  const latest = loadMigrations().length;
  if (version !== latest) {
    db.close();
    throw new DattssError(
      'DATTSS_STORE_OPEN',
      version < latest
        ? `${path} has schema version ${version}, older than this dattss reads (${latest}); start the daemon on it once (dattss serve --db ${path}) to upgrade it`
        : `${path} has schema version ${version}, newer than this dattss knows (${latest}); upgrade dattss`,
    );
  }
  return db;
}

/** Now, in Unix seconds, from the same clock the daemon uses. */
export function nowSec(): number {
  return Math.floor(systemClock.now() / 1000);
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * A transient "working…" line on stderr while a long read runs, shown only
 * on a terminal so that pipes and logs stay clean: `update` rewrites it,
 * `done` erases it.
 */
export function statusLine(text: string): { update(text: string): void; done(): void } {
  if (process.stderr.isTTY !== true) return { update: () => {}, done: () => {} };
  process.stderr.write(`${text}…`);
  return {
    update: (next) => process.stderr.write(`\r\x1b[K${next}…`),
    done: () => process.stderr.write('\r\x1b[K'),
  };
}
