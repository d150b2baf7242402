import { memoryUsage } from 'node:process';
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
  /** Partial-aggregate lines merged (client SDK partials over UDP and TCP). */
  partialsReceived = 0;
  flushErrors = 0;
  tcpConnectionsRefused = 0;
  eventsReceived = 0;
  serviceChecksReceived = 0;
  /** Events and service checks dropped because too many were waiting to be written. */
  notesDropped = 0;
  /** HTTP ingest: DaTtSs partials and Binoculars fields merged, requests refused (bad auth, a bad item). */
  readonly http = { itemsReceived: 0, requestsRejected: 0, connectionsRefused: 0 };
  lastFlushDurationMs = 0;
  /**
   * Reads the kernel's count of datagrams dropped at the daemon's UDP
   * sockets (ingest/udp-drops.ts), once they are bound; undefined where the
   * platform cannot tell, and then the counter is left out.
   */
  kernelUdpDrops: (() => number | undefined) | undefined = undefined;
  /** Bytes waiting in the UDP readers' queues (udpQueueBytes), once they are bound. */
  udpQueuedBytes: () => number = () => 0;
  readonly #reported = new Map<string, number>();

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** Unexpected failures of an HTTP handler or an admin command (each logged with its context). */
  internalErrors = 0;
  /** Batches dropped from the write backlog when it was full. */
  backlogDropped = 0;
  /** Batches waiting in the write backlog now. */
  flushBacklog = 0;

  /** Every cumulative counter, with the one-line help docs/metrics.md expands on. */
  counters(registry: Registry): SelfMetric[] {
    const udpDrops = this.kernelUdpDrops?.();
    return [
      { name: 'packets_received', value: this.packetsReceived, help: 'Datagrams and TCP chunks received.' },
      { name: 'lines_received', value: this.linesReceived, help: 'Metric lines received, good and bad.' },
      { name: 'bad_lines', value: this.badLines, help: 'Lines that did not parse, or were too long.' },
      ...(udpDrops === undefined ? [] : [{ name: 'udp_drops', value: udpDrops, help: 'Datagrams the kernel dropped because the UDP receive buffer was full.' }]),
      { name: 'partials_received', value: this.partialsReceived, help: 'Partial-aggregate lines merged (client SDK partials).' },
      { name: 'series_dropped', value: registry.seriesDropped, help: 'Samples of new series refused at maxSeries.' },
      { name: 'late_samples', value: registry.lateSamples, help: 'Timestamped samples merged into an earlier minute.' },
      { name: 'set_members_dropped', value: registry.setMembersDropped, help: 'New set members refused at maxSetMembers per series and minute.' },
      { name: 'late_dropped', value: registry.lateDropped, help: 'Timestamped samples too old or too far ahead.' },
      { name: 'events_received', value: this.eventsReceived, help: 'DogStatsD events received.' },
      { name: 'service_checks_received', value: this.serviceChecksReceived, help: 'DogStatsD service checks received.' },
      { name: 'notes_dropped', value: this.notesDropped, help: 'Events and service checks dropped while too many waited.' },
      { name: 'flush_errors', value: this.flushErrors, help: 'Writes to SQLite that failed, retries included.' },
      { name: 'backlog_dropped', value: this.backlogDropped, help: 'Unwritten batches dropped because the write backlog was full.' },
      { name: 'http_items_received', value: this.http.itemsReceived, help: 'DaTtSs partials and Binoculars fields received over HTTP.' },
      { name: 'http_requests_rejected', value: this.http.requestsRejected, help: 'HTTP ingest requests refused for bad auth or a bad item.' },
      { name: 'http_connections_refused', value: this.http.connectionsRefused, help: 'HTTP connections closed at httpMaxConnections.' },
      { name: 'internal_errors', value: this.internalErrors, help: 'Unexpected failures of an HTTP handler or admin command.' },
      { name: 'tcp_connections_refused', value: this.tcpConnectionsRefused, help: 'TCP connections closed at tcpMaxConnections.' },
    ];
  }

  /** Gauges: values now, not totals. */
  gauges(registry: Registry): SelfMetric[] {
    return [
      { name: 'series_live', value: registry.size, help: 'Series held in memory.' },
      { name: 'udp_queue_bytes', value: this.udpQueuedBytes(), help: 'Bytes of datagrams waiting in the UDP readers\' queues (udpQueueBytes).' },
      { name: 'flush_backlog', value: this.flushBacklog, help: 'Batches waiting to be written while the database fails.' },
      { name: 'flush_duration_ms', value: this.lastFlushDurationMs, help: 'Duration of the latest minute flush, in ms.' },
      { name: 'rss_bytes', value: memoryUsage.rss(), help: 'Resident memory of the daemon process, every thread included, in bytes.' },
      { name: 'heap_used_bytes', value: memoryUsage().heapUsed, help: "The daemon's main thread's JavaScript heap in use, in bytes (receive and writer threads have their own)." },
    ];
  }

  /** Rows for the minute starting at `minuteStartMs`: increases since the last call. */
  drainMinute(minuteStartMs: number, registry: Registry): MinuteAggregate[] {
    const tsSec = Math.floor(minuteStartMs / 1000);
    const rows: MinuteAggregate[] = [];
    for (const { name, value } of this.counters(registry)) {
      const partial = new CounterPartial();
      partial.add(value - (this.#reported.get(name) ?? 0), 1);
      this.#reported.set(name, value);
      rows.push(aggregateOf(partial, this.#prefix + name, '', tsSec) as MinuteAggregate);
    }
    for (const { name, value } of this.gauges(registry)) {
      const partial = new GaugePartial();
      partial.add(value, minuteStartMs);
      rows.push(aggregateOf(partial, this.#prefix + name, '', tsSec) as MinuteAggregate);
    }
    return rows;
  }
}

export interface SelfMetric {
  /** Without the prefix: `packets_received`. */
  name: string;
  value: number;
  help: string;
}
