import type { AddressInfo, Socket } from 'node:net';
import { inspect } from 'node:util';
import { redactedConfig } from '../config/schema.js';
import { SecretSet } from '../secrets.js';
import { TcpServer } from '../tcp-server.js';
import type { Logger } from '../log.js';

/** What the admin interface reads and changes; the daemon provides it. */
export interface AdminBackend {
  uptimeSec(): number;
  /** Seconds since the last packet, or since start when none came yet (as Etsy). */
  lastMessageAgeSec(): number;
  /** Lines after Etsy's two, e.g. ['messages.bad_lines_seen', 3]. */
  statsLines(): [string, number][];
  dump(kind: DumpKind): Record<string, unknown>;
  /** Deletes the series of that kind whose key equals `name` or, for `prefix.*`, starts with `prefix.`; returns the keys deleted. */
  delete(kind: DumpKind, name: string): string[];
  health(): 'up' | 'down';
  setHealth(health: 'up' | 'down'): void;
  config(): Readonly<Record<string, unknown>>;
}

export type DumpKind = 'counter' | 'timer' | 'gauge';

export interface AdminServerOptions {
  host: string;
  port: number;
  maxConnections: number;
  /** Called when a command fails unexpectedly (counted in internal_errors). */
  onInternalError(): void;
  /** When set, a connection must send `auth <token>` before any other command. */
  token: string;
  backend: AdminBackend;
  logger: Logger;
}

const HELP = 'Commands: stats, counters, timers, gauges, delcounters, deltimers, delgauges, health, config, quit\n\n';
const DELETE_COMMANDS: Record<string, DumpKind> = { delcounters: 'counter', deltimers: 'timer', delgauges: 'gauge' };
const DUMP_COMMANDS: Record<string, DumpKind> = { counters: 'counter', timers: 'timer', gauges: 'gauge' };

/**
 * The management port of Etsy statsd, with its commands and output format
 * (docs/admin.md). Unlike Etsy, a chunk may hold several newline-separated
 * commands; a chunk without a newline is still one command, as Etsy reads it.
 */
export class AdminServer {
  readonly #options: AdminServerOptions;
  readonly #server: TcpServer;
  readonly #token: SecretSet;

  constructor(options: AdminServerOptions) {
    this.#options = options;
    this.#token = new SecretSet([options.token]);
    this.#server = new TcpServer({
      purpose: 'the admin interface',
      maxConnections: options.maxConnections,
      onConnection: (socket) => this.#accept(socket),
      logger: options.logger,
    });
  }

  start(): Promise<AddressInfo> {
    return this.#server.listen(this.#options.port, this.#options.host);
  }

  stop(): Promise<void> {
    return this.#server.close();
  }

  #accept(socket: Socket): void {
    socket.setEncoding('utf8');
    socket.on('error', (error) => this.#options.logger.debug({ err: error }, 'admin connection error'));
    let authorized = !this.#token.required;
    socket.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        const command = line.trim();
        if (command === '') continue;
        if (!authorized) {
          const [name, given] = command.split(/\s+/, 2);
          if (name === 'quit') return void socket.end();
          if (name !== 'auth') {
            socket.write('ERROR auth required: send "auth <token>" first\n');
            continue;
          }
          authorized = this.#token.matches(given);
          if (!authorized) {
            // One guess per connection: a wrong token closes it.
            this.#options.logger.warn({ remote: socket.remoteAddress }, 'admin connection with a wrong token closed');
            return void socket.end('ERROR bad token\n');
          }
          socket.write('OK\n');
          continue;
        }
        try {
          const reply = this.#run(command);
          if (reply === null) {
            socket.end();
            return;
          }
          socket.write(reply);
        } catch (error) {
          // A command must never take the daemon down; the client gets ERROR.
          this.#options.onInternalError();
          this.#options.logger.error({ err: error, command }, 'admin command failed');
          socket.write('ERROR\n');
        }
      }
    });
  }

  /** The reply to one command; null for quit. */
  #run(command: string): string | null {
    const backend = this.#options.backend;
    const [name = '', ...params] = command.split(/\s+/);
    switch (name) {
      case 'help':
        return HELP;
      case 'quit':
        return null;
      case 'health':
        if (params[0] === 'up' || params[0] === 'down') backend.setHealth(params[0]);
        return `health: ${backend.health()}\n`;
      case 'config':
        return `\n${configLines(redactedConfig(backend.config()))}`;
      case 'stats': {
        const lines = [
          `uptime: ${backend.uptimeSec()}`,
          `messages.last_msg_seen: ${backend.lastMessageAgeSec()}`,
          ...backend.statsLines().map(([key, value]) => `${key}: ${value}`),
        ];
        return `${lines.join('\n')}\nEND\n\n`;
      }
      default: {
        const dumpKind = DUMP_COMMANDS[name];
        if (dumpKind !== undefined) return `${inspect(backend.dump(dumpKind), { maxArrayLength: 100 })}\nEND\n\n`;
        const deleteKind = DELETE_COMMANDS[name];
        if (deleteKind !== undefined) {
          let out = '';
          for (const param of params) {
            const deleted = backend.delete(deleteKind, param);
            out += deleted.length === 0 ? `metric ${param} not found\n` : deleted.map((key) => `deleted: ${key}\n`).join('');
          }
          return `${out}END\n\n`;
        }
        return 'ERROR\n';
      }
    }
  }
}

/** Etsy's `config` layout: `key: value`, and `key > sub: value` one level deep. */
function configLines(config: Readonly<Record<string, unknown>>): string {
  let out = '';
  for (const [key, value] of Object.entries(config)) {
    if (value !== null && typeof value === 'object') {
      for (const [sub, subValue] of Object.entries(value)) out += `${key} > ${sub}: ${String(subValue)}\n`;
    } else {
      out += `${key}: ${String(value)}\n`;
    }
  }
  return out;
}
