import { performance } from 'node:perf_hooks';
import { liveView, type LiveSeries } from './aggregate/moving-average.js';
import { Registry } from './aggregate/registry.js';
import type { Config } from './config/schema.js';
import { DattssError } from './errors.js';
import { systemClock, type Clock } from './flush/clock.js';
import { Flusher } from './flush/flusher.js';
import { AlignedScheduler } from './flush/scheduler.js';
import { BadLineLog } from './ingest/bad-line-log.js';
import { LineParser, parserOptionsOf, type ParseSink } from './ingest/parser.js';
import { warmUpHotPath } from './ingest/warm-up.js';
import { UdpListener, type UdpAddress } from './ingest/udp.js';
import { batchReaderMissing } from './ingest/udp-socket.js';
import { KernelUdpDrops } from './ingest/udp-drops.js';
import type { Batch } from './ingest/receive-protocol.js';
import { mergeBatch, ReceiveThreads } from './ingest/receive-threads.js';
import { TcpListener } from './ingest/tcp.js';
import { AdminServer, type AdminBackend } from './api/admin.js';
import { HttpServer, type HttpBackend, type LiveQuery, type ReadStatus } from './api/http.js';
import { nameMatcher } from './api/name-match.js';
import { deleteSeries, dumpSeries } from './api/registry-views.js';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from './log.js';
import type { DogEvent, ServiceCheck } from './protocol/events.js';
import { minuteStart, PARTIAL_INTERVAL_MS } from './protocol/metric-type.js';
import { SelfMetrics } from './self-metrics.js';
import { WriterClient } from './store/writer-client.js';

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Longest a retention slice may run on one 5-second tick. */
const PRUNE_BUDGET_MS = 20;
/** Datagrams libuv reads from a UDP socket per event-loop turn at most (uv__udp_io). */
const UDP_READS_PER_TURN = 32;
/** Turns a slice of the minute flush waits for the socket at most. */
const MAX_FLUSH_WAIT_TURNS = 100;
/** With `port: 0`, how many ephemeral UDP numbers to try before giving up on finding one free for TCP too. */
const EPHEMERAL_PORT_ATTEMPTS = 10;
/** Events (and, apart, service checks) held for the next tick at most; more are dropped and counted. */
const MAX_PENDING_NOTES = 10_000;

export interface DaemonOptions {
  /** Defaults to the system clock; tests pass a fake one. */
  clock?: Clock;
  /** Defaults to a pino logger built from `config.logLevel` and `config.pretty`. */
  logger?: Logger;
}

export interface DaemonAddresses {
  udp: UdpAddress;
  /** Absent when TCP ingest is off. */
  tcp?: AddressInfo;
  /** Absent when the admin interface is off. */
  admin?: AddressInfo;
  /** Absent when the HTTP server is off. */
  http?: AddressInfo;
}

export type Health = 'up' | 'down';

export type LiveFilter = LiveQuery;

export interface DaemonStats {
  packetsReceived: number;
  linesReceived: number;
  badLines: number;
  seriesDropped: number;
  seriesLive: number;
  flushErrors: number;
  lastFlushDurationMs: number;
}

export interface Daemon {
  readonly config: Readonly<Config>;
  /** Opens the store and binds the listeners; resolves with the bound addresses. */
  start(): Promise<DaemonAddresses>;
  /**
   * Stops receiving, writes everything received (the unfinished minute
   * merged into its row) and closes the store.
   */
  stop(): Promise<void>;
  /** Current values and 1-minute moving averages of the live series, sorted by name and tags. */
  live(filter?: LiveFilter): LiveSeries[];
  stats(): DaemonStats;
  /** 'down' after the admin command `health down`, until `health up`. */
  health(): Health;
  /** Health as the read side reports it: also 'degraded' while minutes wait for the database. */
  status(): ReadStatus;
  /**
   * Resolves when the minutes ended so far are in the database, or wait for
   * a retry: a minute of many series is summarized and written across
   * event-loop turns (docs/architecture.md#storage).
   */
  written(): Promise<void>;
}

/** The composition root: builds every component from the config and wires them. */
export function createDaemon(config: Readonly<Config>, options: DaemonOptions = {}): Daemon {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ level: config.logLevel, pretty: config.pretty });
  const selfMetrics = new SelfMetrics(config.metricsPrefix);
  const registryOptions = { maxSeries: config.maxSeries, lateWindowMs: config.lateSampleWindowSec * 1000, maxSetMembers: config.maxSetMembers };
  const registry = new Registry(registryOptions, clock.now());
  const parserOptions = parserOptionsOf(config);
  const parser = new LineParser(parserOptions);
  const badLineLog = new BadLineLog(logger.child({ component: 'parser' }), config.badLineLogsPerMinute);
  // Events and service checks wait here for the next tick, which writes them in one transaction.
  let pendingEvents: DogEvent[] = [];
  let pendingChecks: ServiceCheck[] = [];
  const sink: ParseSink = {
    sample: (sample, keyId) => registry.add(sample, keyId),
    event: (event) => {
      selfMetrics.eventsReceived++;
      if (pendingEvents.length >= MAX_PENDING_NOTES) return void selfMetrics.notesDropped++;
      pendingEvents.push({ ...event, tsSec: stampedSec(event.tsSec) });
    },
    serviceCheck: (check) => {
      selfMetrics.serviceChecksReceived++;
      if (pendingChecks.length >= MAX_PENDING_NOTES) return void selfMetrics.notesDropped++;
      pendingChecks.push({ ...check, tsSec: stampedSec(check.tsSec) });
    },
    partial: (record) => {
      selfMetrics.partialsReceived++;
      registry.addPartial(record.name, record.tags, record.partial, record.gaugeOffsets);
    },
    badLine: (reason, buf, start, end) => {
      selfMetrics.badLines++;
      badLineLog.report(reason, buf, start, end);
    },
  };
  let lastPacketMs: number | undefined;
  /** The kernel's drop count at the last warning (warnOfKernelDrops). */
  let dropsWarned = 0;
  /** A UDP datagram `packet[start, end)`, or a run of whole lines from a TCP connection. */
  const onPacket = (packet: Buffer, start = 0, end = packet.length): void => {
    selfMetrics.packetsReceived++;
    lastPacketMs = clock.now();
    selfMetrics.linesReceived += parser.parse(packet, sink, start, end);
  };
  const receivers =
    config.receiveThreads > 0
      ? new ReceiveThreads({
          count: config.receiveThreads,
          data: {
            host: config.host,
            port: config.port,
            recvBufferBytes: config.udpRecvBufferBytes,
            reader: config.udpReader,
            queueBytes: config.udpQueueBytes,
            parser: parserOptions,
            maxSeries: config.maxSeries,
            maxSetMembers: config.maxSetMembers,
          },
          onBatch: applyBatch,
          onInternalError: () => selfMetrics.internalErrors++,
          logger: logger.child({ component: 'udp' }),
        })
      : undefined;
  const udp =
    receivers ??
    new UdpListener({
      host: config.host,
      port: config.port,
      recvBufferBytes: config.udpRecvBufferBytes,
      reader: config.udpReader,
      queueBytes: config.udpQueueBytes,
      onDatagram: onPacket,
      logger: logger.child({ component: 'udp' }),
    });

  const tcp = config.tcp
    ? new TcpListener({
        host: config.host,
        maxConnections: config.tcpMaxConnections,
        idleTimeoutMs: config.tcpIdleTimeoutSec * 1000,
        maxLineBytes: config.tcpMaxLineBytes,
        onPacket,
        onLineTooLong: () => {
          selfMetrics.badLines++;
          logger.warn({ component: 'tcp', maxLineBytes: config.tcpMaxLineBytes }, 'line too long; dropped');
        },
        onLineCut: () => {
          selfMetrics.badLines++;
          logger.debug({ component: 'tcp' }, 'connection closed in the middle of a line; the line is dropped');
        },
        onConnectionRefused: () => selfMetrics.tcpConnectionsRefused++,
        logger: logger.child({ component: 'tcp' }),
      })
    : undefined;
  let health: Health = 'up';
  let startedMs = clock.now();
  const admin = config.admin
    ? new AdminServer({
        host: config.adminHost,
        port: config.adminPort,
        maxConnections: config.tcpMaxConnections,
        onInternalError: () => selfMetrics.internalErrors++,
        token: config.token,
        backend: adminBackend(),
        logger: logger.child({ component: 'admin' }),
      })
    : undefined;

  const http = config.http
    ? new HttpServer({
        host: config.httpHost,
        port: config.httpPort,
        maxBodyBytes: config.httpMaxBodyBytes,
        maxConnections: config.httpMaxConnections,
        idleTimeoutMs: config.httpIdleTimeoutSec * 1000,
        onConnectionRefused: () => selfMetrics.http.connectionsRefused++,
        onInternalError: () => selfMetrics.internalErrors++,
        token: config.token,
        dbPath: config.db,
        backend: httpBackend(),
        ingest: {
          sink: { sample: (sample) => registry.add(sample), partial: (name, tags, partial) => registry.addPartial(name, tags, partial) },
          authKeys: config.dattssAuthKeys,
          maxNameLength: config.maxNameLength,
          maxTagsPerLine: config.maxTagsPerLine,
          maxTagLength: config.maxTagLength,
          binocularsIntervalMinutes: config.binocularsIntervalMinutes,
          intervalStartMs: () => registry.currentIntervalMs,
          counters: selfMetrics.http,
        },
        logger: logger.child({ component: 'http' }),
      })
    : undefined;

  let writer: WriterClient | undefined;
  let flusher: Flusher | undefined;
  let scheduler: AlignedScheduler | undefined;
  let state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  // With receive threads, each tick first collects their batches; ticks run in order.
  let ticking = Promise.resolve();

  return {
    config,

    async start() {
      if (state !== 'new') throw new DattssError('DATTSS_DAEMON_STATE', `start() called on a ${state} daemon`);
      state = 'starting';
      let activeWriter: WriterClient;
      try {
        activeWriter = await WriterClient.start({
          store: {
            path: config.db,
            busyTimeoutMs: config.dbBusyTimeoutMs,
            retention: { minuteDays: config.minuteRetentionDays, hourDays: config.hourRetentionDays, dayDays: config.dayRetentionDays },
          },
          thread: config.writerThread,
          maxBatches: config.flushBacklogMinutes,
          pruneBudgetMs: PRUNE_BUDGET_MS,
          logger,
          counters: selfMetrics,
          defer: deferFlushWork,
        });
      } catch (error) {
        state = 'stopped';
        throw error;
      }
      writer = activeWriter;
      const activeFlusher = new Flusher({
        registry,
        sink: activeWriter,
        selfMetrics,
        logger: logger.child({ component: 'flush' }),
        seriesIdleMs: config.seriesIdleSec * 1000,
        elapsedMs: () => performance.now(),
        defer: deferFlushWork,
        timers: clock,
      });
      flusher = activeFlusher;
      let minute = minuteStart(clock.now());
      const tick = (nowMs: number): void => {
        activeFlusher.tick(nowMs);
        writeNotes(activeWriter);
        // After the minute's rows, so the thread prunes after writing them, as the daemon did
        // before it had a writer thread. With the -shm file made immutable (the read-only
        // fault test), a write failing straight after a successful write crashed SQLite with
        // SIGBUS; with a prune in between, it failed cleanly.
        activeWriter.tick(nowMs);
        if (minuteStart(nowMs) !== minute) {
          minute = minuteStart(nowMs);
          badLineLog.rollover();
          warnOfKernelDrops();
        }
      };
      scheduler = new AlignedScheduler(clock, PARTIAL_INTERVAL_MS, (nowMs) => {
        if (receivers === undefined) return tick(nowMs);
        ticking = ticking.then(() => receivers.flush()).then(() => tick(nowMs));
      });
      warmUpHotPath(parserOptions, registryOptions, clock.now());
      const addresses: DaemonAddresses = { udp: { address: '', port: 0, family: '', recvBufferBytes: 0, reader: 'dgram' } };
      try {
        await startUdpAndTcp(addresses);
        if (admin !== undefined) addresses.admin = await admin.start();
        if (http !== undefined) addresses.http = await http.start();
      } catch (error) {
        await Promise.all([udp.stop(), tcp?.stop(), admin?.stop(), http?.stop()]);
        await activeWriter.close(clock.now());
        state = 'stopped';
        throw error;
      }
      const kernelDrops = new KernelUdpDrops(addresses.udp.port);
      selfMetrics.kernelUdpDrops = () => kernelDrops.read();
      selfMetrics.udpQueuedBytes = () => udp.queuedBytes();
      startedMs = clock.now();
      scheduler.start();
      state = 'running';
      const { udp: udpAddress, tcp: tcpAddress, admin: adminAddress, http: httpAddress } = addresses;
      logger.info(
        {
          udp: { address: udpAddress.address, port: udpAddress.port, family: udpAddress.family },
          recvBufferBytes: { requested: config.udpRecvBufferBytes, granted: udpAddress.recvBufferBytes },
          udpReader: udpAddress.reader,
          // Node's dgram reads without one.
          udpQueueBytes: udpAddress.reader === 'batch' ? config.udpQueueBytes : 0,
          receiveThreads: config.receiveThreads,
          tcp: tcpAddress === undefined ? null : { address: tcpAddress.address, port: tcpAddress.port },
          admin: adminAddress === undefined ? null : { address: adminAddress.address, port: adminAddress.port },
          http: httpAddress === undefined ? null : { address: httpAddress.address, port: httpAddress.port },
          db: config.db,
        },
        'listening',
      );
      if (udpAddress.recvBufferBytes < config.udpRecvBufferBytes) {
        // Linux caps the request at net.core.rmem_max without an error (and reports twice what it kept).
        logger.warn(
          { component: 'udp', requested: config.udpRecvBufferBytes, granted: udpAddress.recvBufferBytes },
          'the kernel granted a smaller UDP receive buffer than udpRecvBufferBytes asks: bursts may overflow it; raise net.core.rmem_max',
        );
      }
      const missing = batchReaderMissing();
      if (config.udpReader === 'auto' && udpAddress.reader === 'dgram' && missing !== undefined) {
        // Expected off Linux; on Linux a failed build costs throughput unnoticed unless said.
        logger[process.platform === 'linux' ? 'warn' : 'info']({ why: missing }, "UDP is read with Node's dgram: the batch reader is not available");
      }
      return addresses;
    },

    async stop() {
      if (state !== 'running') return;
      state = 'stopped';
      await Promise.all([udp.stop(), tcp?.stop(), admin?.stop(), http?.stop()]);
      scheduler?.stop();
      await ticking;
      flusher?.close(clock.now());
      if (writer !== undefined) {
        writeNotes(writer);
        await writer.close(clock.now());
      }
      logger.info(stats(), 'stopped');
    },

    live,
    stats,

    health: () => health,

    status,

    async written() {
      await ticking;
      await flusher?.idle();
      await writer?.idle();
    },
  };

  function live(filter: LiveFilter = {}): LiveSeries[] {
    const matches = filter.search === undefined ? undefined : nameMatcher(filter.search);
    const chosen = [];
    for (const series of registry.series(filter.type)) {
      if (filter.name !== undefined && series.name !== filter.name) continue;
      if (matches !== undefined && !matches(series.name)) continue;
      chosen.push(series);
    }
    chosen.sort((a, b) => compare(a.name, b.name) || compare(a.tags, b.tags) || compare(a.type, b.type));
    // Views are computed only for what is returned: merging a minute of partials is the costly part.
    return chosen.slice(0, filter.limit ?? chosen.length).map((series) => liveView(series, registry.currentIntervalMs));
  }

  /**
   * Runs the next slice of a large minute flush once the socket has been read
   * dry. libuv reads at most 32 datagrams per event-loop turn, so while turns
   * keep bringing that many the flush waits (a 10 ms slice per turn would
   * otherwise leave the socket about 3,000 datagrams a second and overflow
   * it under load); after MAX_FLUSH_WAIT_TURNS turns it runs anyway, so a
   * daemon loaded beyond its capacity still writes its minutes.
   */
  function deferFlushWork(next: () => void): void {
    // Receive threads read the socket beside this thread's work.
    if (receivers !== undefined) return void setImmediate(next);
    let seen = selfMetrics.packetsReceived;
    let waited = 0;
    const whenQuiet = (): void => {
      const received = selfMetrics.packetsReceived - seen;
      seen = selfMetrics.packetsReceived;
      if (received >= UDP_READS_PER_TURN && waited++ < MAX_FLUSH_WAIT_TURNS) return void setImmediate(whenQuiet);
      next();
    };
    setImmediate(whenQuiet);
  }

  /**
   * TCP takes the UDP port number, so that `--port 0` gives both one
   * ephemeral number. The kernel picks the UDP number without knowing that
   * some TCP socket may hold it, so with port 0 a taken number is picked again.
   */
  async function startUdpAndTcp(addresses: DaemonAddresses): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      addresses.udp = await udp.start();
      if (tcp === undefined) return;
      try {
        addresses.tcp = await tcp.start(addresses.udp.port);
        return;
      } catch (error) {
        const inUse = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
        if (config.port !== 0 || !inUse || attempt === EPHEMERAL_PORT_ATTEMPTS) throw error;
        await udp.stop();
      }
    }
  }

  function status(): ReadStatus {
    if (health === 'down') return 'down';
    // A receive thread that died is being replaced: the others take its share, or with one thread nothing is received.
    const receiving = receivers === undefined || state !== 'running' || receivers.listening === config.receiveThreads;
    return writer?.failing === true || !receiving ? 'degraded' : 'up';
  }

  function httpBackend(): HttpBackend {
    const uptimeSec = (): number => Math.floor((clock.now() - startedMs) / 1000);
    return {
      nowMs: () => clock.now(),
      live,
      status: () => ({
        status: status(),
        uptimeSec: uptimeSec(),
        flushErrors: selfMetrics.flushErrors,
        lastFlushDurationMs: selfMetrics.lastFlushDurationMs,
        seriesLive: registry.size,
        // The dashboard tells the daemon's own series from the user's by this prefix.
        metricsPrefix: config.metricsPrefix,
      }),
      prometheus: () => ({
        counters: selfMetrics.counters(registry),
        gauges: selfMetrics.gauges(registry),
        uptimeSec: uptimeSec(),
        healthy: status() === 'up',
      }),
    };
  }

  function adminBackend(): AdminBackend {
    return {
      uptimeSec: () => Math.floor((clock.now() - startedMs) / 1000),
      lastMessageAgeSec: () => Math.floor((clock.now() - (lastPacketMs ?? startedMs)) / 1000),
      statsLines: () => [
        ['messages.bad_lines_seen', selfMetrics.badLines],
        ['messages.packets_received_total', selfMetrics.packetsReceived],
        ['messages.metrics_received_total', selfMetrics.linesReceived],
        ['messages.bad_lines_total', selfMetrics.badLines],
        ['messages.series_live', registry.size],
        ['flush.last_duration_ms', Math.round(selfMetrics.lastFlushDurationMs * 1000) / 1000],
      ],
      dump: (kind) => dumpSeries(registry, kind),
      delete: (kind, name) => deleteSeries(registry, kind, name),
      health: () => health,
      setHealth: (value) => {
        if (value !== health) logger.warn({ health: value }, 'health changed by the admin interface');
        health = value;
      },
      config: () => config,
    };
  }

  function applyBatch(batch: Batch): void {
    if (batch.packets > 0) lastPacketMs = clock.now();
    mergeBatch(batch, {
      sink,
      received: (packets, lines, unquotedBadLines) => {
        selfMetrics.packetsReceived += packets;
        selfMetrics.linesReceived += lines;
        selfMetrics.badLines += unquotedBadLines;
      },
      merge: (name, tags, partial, gaugeOffsets) => registry.addPartial(name, tags, partial, gaugeOffsets),
    });
  }

  /**
   * Once a minute, when the kernel dropped datagrams since the last warning:
   * lines lost before the daemon could count them, which an operator can
   * prevent with a larger buffer or more receive threads.
   */
  function warnOfKernelDrops(): void {
    const drops = selfMetrics.kernelUdpDrops?.();
    if (drops === undefined || drops <= dropsWarned) return;
    logger.warn(
      { component: 'udp', dropped: drops - dropsWarned, recvBufferBytes: config.udpRecvBufferBytes, udpQueueBytes: config.udpQueueBytes, receiveThreads: config.receiveThreads },
      'the kernel dropped datagrams that found the UDP receive buffer full: raise udpQueueBytes or udpRecvBufferBytes (and net.core.rmem_max) for bursts, receiveThreads for sustained load',
    );
    dropsWarned = drops;
  }

  /** An event's or check's own `d:` time, or now when it had none. */
  function stampedSec(tsSec: number): number {
    return Number.isNaN(tsSec) ? Math.floor(clock.now() / 1000) : tsSec;
  }

  function writeNotes(activeWriter: WriterClient): void {
    activeWriter.writeEventsAndChecks(pendingEvents, pendingChecks);
    pendingEvents = [];
    pendingChecks = [];
  }

  function stats(): DaemonStats {
    return {
      packetsReceived: selfMetrics.packetsReceived,
      linesReceived: selfMetrics.linesReceived,
      badLines: selfMetrics.badLines,
      seriesDropped: registry.seriesDropped,
      seriesLive: registry.size,
      flushErrors: selfMetrics.flushErrors,
      lastFlushDurationMs: selfMetrics.lastFlushDurationMs,
    };
  }
}
