export { createDaemon } from './daemon.js';
export type { Daemon, DaemonAddresses, DaemonOptions, DaemonStats, LiveFilter } from './daemon.js';
export type { LiveSeries, MovingAverage } from './aggregate/moving-average.js';
export type { MinuteAggregate } from './aggregate/summarize.js';
export { loadConfig, type ConfigSources } from './config/load.js';
export { ConfigSchema, configDefaults, type Config } from './config/schema.js';
export { systemClock, type Clock, type TimerHandle } from './flush/clock.js';
export { DattssError, ERROR_CODES, type ErrorCode } from './errors.js';
export type { MetricType } from './protocol/metric-type.js';
