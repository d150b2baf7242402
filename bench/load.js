// The load suite: the same statsd load against dattss and Etsy statsd 0.9.0,
// alternating, each trial against a freshly started daemon. A trial sends a
// known number of lines at a fixed rate, waits until the daemon has counted
// what it will count, and measures loss two ways: the daemon's own
// lines-received counter against lines sent, and the kernel's drop counter
// for its socket. The search raises the rate until loss reaches 0.1%.
import { readFileSync } from 'node:fs';
import { cpuSeconds, peakRssBytes, udpDrops } from './lib/proc.js';
import { send } from './lib/sender.js';
import { startBareReceiver, startDattss, startEtsy } from './lib/targets.js';

export const MAX_LOSS = 0.001;
/**
 * A trial passes only if the daemon had nearly caught up when the sender
 * stopped: what it took afterwards (from its socket buffer and its queue,
 * udpQueueBytes) under this many seconds of the load. Otherwise a queue of
 * 32 MiB could hide, over a 5-second trial, a daemon falling behind by a
 * tenth of the rate.
 */
export const MAX_BACKLOG_SECONDS = 0.25;
/**
 * Whether the backlog criterion can judge a target: receive threads hold
 * the lines they parsed until a hand-over (a second or more, up to the
 * 5-second tick at 100k series), which the daemon's count cannot tell from
 * a backlog, so for `dattss+N` only the loss counts.
 */
export const backlogJudged = (target) => !/^dattss\+\d+$/.test(target);
/**
 * `dattss+N`: dattss receiving in N threads (`--receive-threads N`); `dattss/dgram`: dattss
 * reading with Node's dgram (`--udp-reader dgram`); `node`, `node/batch`: the bare receiver on
 * Node's dgram or on the batch reader.
 */
function start(name, dattssArgs) {
  if (name === 'etsy') return startEtsy();
  if (name === 'node') return startBareReceiver();
  if (name === 'node/batch') return startBareReceiver('batch');
  if (name === 'dattss/dgram') return startDattss(['--udp-reader', 'dgram', ...dattssArgs]);
  const threads = /^dattss\+(\d+)$/.exec(name)?.[1];
  return startDattss([...(threads === undefined ? [] : ['--receive-threads', threads]), ...dattssArgs]);
}

/** Waits until the received count stops moving (three equal readings 200 ms apart, at most 20 s). */
async function settledCount(target) {
  let last = -1;
  let stable = 0;
  const deadline = Date.now() + 20_000;
  while (stable < 3 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = await target.received();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/** Lines per second of the warm-up, well below what either daemon takes: it must lose nothing. */
const WARM_UP_RATE = 100_000;
/** How long a sustained trial first runs its load, uncounted: past a fresh daemon's first seconds. */
export const SUSTAIN_SECONDS = 3;
/** The sustaining load's series at most: enough to warm every path, without doubling a large shape's series. */
const SUSTAIN_SERIES = 10_000;
const DEFAULT_MAX_SERIES = JSON.parse(readFileSync(new URL('../config/default.json', import.meta.url), 'utf8')).maxSeries;

/**
 * One trial: a fresh daemon, `seconds` of load at `rate` lines/s. With
 * `warm`, every series first gets one line at WARM_UP_RATE, so that the
 * trial measures a daemon that already knows its series instead of one
 * creating them all in its first second. With `sustained` (which implies
 * `warm`), the daemon first takes SUSTAIN_SECONDS of the load at `rate` on
 * series of their own (`sustain.*`, not counted, and not in the exactness
 * check), so that the trial measures it past its first seconds under load:
 * code not yet optimized, first hand-overs and heaps still growing.
 */
export async function trial(senderBinary, { target: name, rate, perDatagram, series, seconds, warm = false, sustained = false }) {
  const sustainSeries = Math.min(series, SUSTAIN_SERIES);
  // The sustaining series come on top of the trial's: room for both under dattss's series cap,
  // whose default is the largest shape's count, or series past it would be dropped.
  const maxSeries = Math.max(DEFAULT_MAX_SERIES, series + sustainSeries);
  const target = await start(name, sustained ? ['--max-series', String(maxSeries)] : []);
  try {
    if (sustained) {
      await send(senderBinary, { port: target.port, lines: Math.round(rate * SUSTAIN_SECONDS), perDatagram, series: sustainSeries, rate, maxSeconds: SUSTAIN_SECONDS * 3, prefix: 'sustain' });
    }
    const warmUp =
      warm || sustained
        ? await send(senderBinary, { port: target.port, lines: series, perDatagram, series, rate: WARM_UP_RATE, maxSeconds: (series / WARM_UP_RATE) * 3 + 5 })
        : undefined;
    if (warmUp !== undefined) await settledCount(target);
    const dropsBefore = udpDrops(target.port);
    const ownDropsBefore = await target.drops?.();
    const receivedBefore = await target.received();
    const cpuBefore = cpuSeconds(target.pid);
    const sent = await send(senderBinary, { port: target.port, lines: Math.round(rate * seconds), perDatagram, series, rate, maxSeconds: seconds * 3 });
    const receivedWhenSent = await target.received();
    const settled = await settledCount(target);
    const received = settled - receivedBefore;
    const result = {
      target: name,
      rate,
      perDatagram,
      series,
      sentLines: sent.lines,
      sentRate: sent.lines / sent.seconds,
      received,
      loss: 1 - received / sent.lines,
      // Lines the daemon took after the sender stopped, in seconds of the load.
      backlogSeconds: (settled - receivedWhenSent) / (sent.lines / sent.seconds),
      kernelDrops: udpDrops(target.port) - dropsBefore,
      // dattss's own count of them (dattss_udp_drops_total), which should agree.
      ownDrops: ownDropsBefore === undefined ? undefined : (await target.drops()) - ownDropsBefore,
      cpuMicrosPerLine: ((cpuSeconds(target.pid) - cpuBefore) / Math.max(received, 1)) * 1e6,
      peakRssBytes: peakRssBytes(target.pid),
      sent,
    };
    await target.stop();
    if (target.dbPath !== undefined && result.loss === 0) result.exact = await storedTotalsMatch(target.dbPath, warmUp === undefined ? [sent] : [warmUp, sent]);
    return result;
  } finally {
    await target.stop();
    target.cleanup();
  }
}

/** With no loss, the stored minute rows must hold exactly what was sent (by every send of the trial). */
async function storedTotalsMatch(dbPath, sends) {
  const total = (field) => sends.reduce((sum, sent) => sum + sent[field], 0);
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(dbPath, { readonly: true });
  try {
    const totals = db
      .prepare(
        `SELECT sum(CASE WHEN type = 'counter' THEN sum END) AS counterSum,
                sum(CASE WHEN type = 'timer' THEN count END) AS timerCount,
                sum(CASE WHEN type = 'timer' THEN sum END) AS timerSum
         FROM metrics_1m WHERE name LIKE 'bench.%'`,
      )
      .get();
    return totals.counterSum === total('counterSum') && totals.timerCount === total('timerCount') && totals.timerSum === total('timerSum');
  } finally {
    db.close();
  }
}

/**
 * The highest rate (from a geometric ladder) at which a target loses less
 * than 0.1% and keeps up (MAX_BACKLOG_SECONDS, where backlogJudged): it climbs from `fromRate` and
 * stops at the first failing step, or, when `fromRate` itself fails, steps
 * down until a rate passes, so that a slow target (or a slow hour) still gets
 * a figure. Returns that trial and all steps; `best.atLadderTop` when no step
 * failed, so the target may take more; no best when every step failed.
 */
export async function maxRate(senderBinary, { target, perDatagram, series, seconds, fromRate, factor, maxSteps, log, warm, sustained }) {
  let best;
  let descending = false;
  const steps = [];
  let rate = fromRate;
  for (let step = 0; step < maxSteps; step++) {
    const result = await trial(senderBinary, { target, rate, perDatagram, series, seconds, warm, sustained });
    steps.push(result);
    log(result);
    const passed = result.loss < MAX_LOSS && (!backlogJudged(target) || result.backlogSeconds <= MAX_BACKLOG_SECONDS);
    if (passed) best = result;
    if (descending ? passed : !passed && step > 0) break;
    // The first step failed: down from here.
    if (!passed) descending = true;
    rate = Math.round(descending ? rate / factor : rate * factor);
  }
  if (best !== undefined) best.atLadderTop = best === steps.at(-1) && !descending;
  return { best, steps };
}
