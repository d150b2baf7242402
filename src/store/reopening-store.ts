import { statSync } from 'node:fs';
import type { MinuteAggregate } from '../aggregate/summarize.js';
import type { Logger } from '../log.js';
import type { DogEvent, ServiceCheck } from '../protocol/events.js';
import { SqliteStore, type SettlePacing, type SqliteStoreOptions } from './sqlite-store.js';

/** Device and inode of a file, or undefined when it does not exist. */
export function fileIdentity(path: string): string | undefined {
  const stats = statSync(path, { throwIfNoEntry: false });
  return stats === undefined ? undefined : `${stats.dev}:${stats.ino}`;
}

/**
 * The store, reopened when its file is deleted or replaced underneath (an
 * operator cleaning up, a restore). SQLite would go on writing into the
 * unlinked file, and every row would vanish with it; instead each write
 * first checks that the path still names the file that is open (a stat,
 * microseconds), and if not opens a new database there, with its schema.
 * Should that fail, the write fails and the write backlog keeps the minute.
 */
export class ReopeningStore {
  readonly #options: SqliteStoreOptions;
  readonly #logger: Logger;
  #store: SqliteStore;
  #identity: string | undefined;

  constructor(options: SqliteStoreOptions, logger: Logger) {
    this.#options = options;
    this.#logger = logger;
    this.#store = new SqliteStore(options);
    this.#identity = this.#fileIdentity();
  }

  writeMinute(rows: MinuteAggregate[]): void {
    this.#current().writeMinute(rows);
  }

  writeEventsAndChecks(events: DogEvent[], checks: ServiceCheck[]): void {
    this.#current().writeEventsAndChecks(events, checks);
  }

  prune(nowSec: number, budgetMs: number): number {
    return this.#current().prune(nowSec, budgetMs);
  }

  settle(nowSec: number, pacing: SettlePacing): number {
    return this.#current().settle(nowSec, pacing);
  }

  close(): void {
    this.#store.close();
  }

  #current(): SqliteStore {
    const identity = this.#fileIdentity();
    if (identity !== this.#identity) {
      this.#store.close();
      // Throws while the path cannot be opened; the write backlog logs that once and retries.
      this.#store = new SqliteStore(this.#options);
      this.#identity = this.#fileIdentity();
      this.#logger.error(
        { db: this.#options.path },
        identity === undefined ? 'the database file was deleted; created a new one' : 'the database file was replaced; opened the new one',
      );
    }
    return this.#store;
  }

  #fileIdentity(): string | undefined {
    return this.#options.path === ':memory:' ? 'memory' : fileIdentity(this.#options.path);
  }
}
