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
  lastFlushDurationMs = 0;
  #reported = { packets: 0, lines: 0, bad: 0, dropped: 0, flushErrors: 0, tcpRefused: 0 };

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Rows for the minute starting at `minuteStartMs`: increases since the last call. */
  drainMinute(minuteStartMs: number, registry: Registry): MinuteAggregate[] {
    const tsSec = Math.floor(minuteStartMs / 1000);
    const now = {
      packets: this.packetsReceived,
      lines: this.linesReceived,
      bad: this.badLines,
      dropped: registry.seriesDropped,
      flushErrors: this.flushErrors,
      tcpRefused: this.tcpConnectionsRefused,
    };
    const rows: MinuteAggregate[] = [];
    const counter = (name: string, increase: number): void => {
      const partial = new CounterPartial();
      partial.add(increase, 1);
      rows.push(aggregateOf(partial, this.#prefix + name, '', tsSec) as MinuteAggregate);
    };
    const gauge = (name: string, value: number): void => {
      const partial = new GaugePartial();
      partial.add(value, minuteStartMs);
      rows.push(aggregateOf(partial, this.#prefix + name, '', tsSec) as MinuteAggregate);
    };
    counter('packets_received', now.packets - this.#reported.packets);
    counter('lines_received', now.lines - this.#reported.lines);
    counter('bad_lines', now.bad - this.#reported.bad);
    counter('series_dropped', now.dropped - this.#reported.dropped);
    counter('flush_errors', now.flushErrors - this.#reported.flushErrors);
    counter('tcp_connections_refused', now.tcpRefused - this.#reported.tcpRefused);
    gauge('series_live', registry.size);
    gauge('flush_duration_ms', this.lastFlushDurationMs);
    this.#reported = now;
    return rows;
  }
}
