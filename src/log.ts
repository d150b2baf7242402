import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { DattssError } from './errors.js';
import { createRequire } from 'node:module';

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;

export interface LogOptions {
  level: LogLevel;
  /** Human-readable output through pino-pretty (a dev dependency). */
  pretty: boolean;
}

/** JSON lines on stdout (pino); components use `logger.child({ component })`. */
export function createLogger(options: LogOptions, destination?: NodeJS.WritableStream): Logger {
  if (!options.pretty) {
    return pino({ level: options.level, base: { pid: process.pid } }, destination ?? pino.destination({ sync: true }));
  }
  let pretty: (options: object) => NodeJS.WritableStream;
  try {
    pretty = createRequire(import.meta.url)('pino-pretty') as typeof pretty;
  } catch (cause) {
    throw new DattssError(
      'DATTSS_PRETTY_UNAVAILABLE',
      '--pretty needs the pino-pretty package, a dev dependency: run `npm install` in the dattss checkout, or pipe the JSON logs into `npx pino-pretty`',
      { cause },
    );
  }
  return pino({ level: options.level }, pretty({ colorize: false, sync: true, destination: destination ?? 1 }));
}
