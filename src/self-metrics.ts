import { CounterPartial, GaugePartial } from './aggregate/partial.js';
import type { Registry } from './aggregate/registry.js';
import { aggregateOf, type MinuteAggregate } from './aggregate/summarize.js';

/**
 * The daemon's own counters, cumulative since start. At each minute flush the
 * increase since the previous flush is written as counter rows named
 * `<prefix>packets_received` and so on, beside gauges for the live series
 * count and the previous flush's duration (docs/metrics.md lists them all).
 */
export class SelfMetrics {
  readonly #prefix: string;
  packetsReceived = 0;
  linesReceived = 0;
  badLines = 0;
  flushErrors = 0;
  tcpConnectionsRefused = 0;
  eventsReceived = 0;
  serviceChecksReceived = 0;
  /** Events and service checks dropped because too many were waiting to be written. */
  notesDropped = 0;
  lastFlushDurationMs = 0;
  readonly #reported = new Map<string, number>();

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Rows for the minute starting at `minuteStartMs`: increases since the last call. */
  drainMinute(minuteStartMs: number, registry: Registry): MinuteAggregate[] {
    const tsSec = Math.floor(minuteStartMs / 1000);
    const counters: [string, number][] = [
      ['packets_received', this.packetsReceived],
      ['lines_received', this.linesReceived],
      ['bad_lines', this.badLines],
      ['series_dropped', registry.seriesDropped],
      ['late_samples', registry.lateSamples],
      ['late_dropped', registry.lateDropped],
      ['events_received', this.eventsReceived],
      ['service_checks_received', this.serviceChecksReceived],
      ['notes_dropped', this.notesDropped],
      ['flush_errors', this.flushErrors],
      ['tcp_connections_refused', this.tcpConnectionsRefused],
    ];
    const rows: MinuteAggregate[] = [];
    for (const [name, total] of counters) {
      const partial = new CounterPartial();
      partial.add(total - (this.#reported.get(name) ?? 0), 1);
      this.#reported.set(name, total);
      rows.push(aggregateOf(partial, this.#prefix + name, '', tsSec) as MinuteAggregate);
    }
    const gauges: [string, number][] = [
      ['series_live', registry.size],
      ['flush_duration_ms', this.lastFlushDurationMs],
    ];
    for (const [name, value] of gauges) {
      const partial = new GaugePartial();
      partial.add(value, minuteStartMs);
      rows.push(aggregateOf(partial, this.#prefix + name, '', tsSec) as MinuteAggregate);
    }
    return rows;
  }
}
