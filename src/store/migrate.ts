import { readdirSync, readFileSync } from 'node:fs';
import type { Database } from 'better-sqlite3';
import { DattssError } from '../errors.js';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

interface Migration {
  version: number;
  file: string;
  sql: string;
}

/** The numbered `NNN-name.sql` files next to this module, in order. */
export function loadMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => /^\d{3}-[a-z0-9-]+\.sql$/.test(file))
    .sort()
    .map((file, index) => {
      const version = Number(file.slice(0, 3));
      if (version !== index + 1) throw new Error(`migration ${file} is out of sequence (expected ${index + 1})`);
      return { version, file, sql: readFileSync(new URL(file, MIGRATIONS_DIR), 'utf8') };
    });
}

/**
 * Brings the schema to the newest version, each migration in its own
 * transaction, tracked by `PRAGMA user_version`. Refuses a database written by
 * a newer dattss rather than guess at its schema.
 */
export function migrate(db: Database, migrations: Migration[] = loadMigrations()): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.length;
  if (current > latest) {
    throw new DattssError(
      'DATTSS_STORE_OPEN',
      `${db.name} has schema version ${current}, newer than this dattss knows (${latest}); upgrade dattss or use another --db`,
    );
  }
  for (const migration of migrations.slice(current)) {
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
  return latest;
}
