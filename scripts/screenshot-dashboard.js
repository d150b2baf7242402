// Writes docs/dashboard.png (desktop) and docs/dashboard-phone.png (390 px
// wide): the dashboard of a daemon fed over UDP with six hours of made-up
// traffic today and three earlier days for the week average. Takes about
// a minute and a half (the live feed fills a minute before the pictures).
//
//   npm run build && node scripts/screenshot-dashboard.js
//
// Needs the dev dependency playwright-core and /usr/bin/chromium (or
// CHROMIUM=/path). Samples carry DogStatsD timestamps (|T), which a daemon
// takes up to lateSampleWindowSec (here a day) in the past; each earlier day
// is sent to a daemon whose clock is set to the end of that day.
import { mkdtempSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';
import { pino } from 'pino';
import { createDaemon, loadConfig, systemClock } from '../dist/index.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const DAY_SEC = 86_400;
const HISTORY_SEC = 6 * 3600;
const DEADLINE_MS = 60_000;
const SERIES = [
  { name: 'api.latency', type: 'timer', tags: 'env:prod' },
  { name: 'api.requests', type: 'counter', tags: 'env:prod' },
  { name: 'queue.depth', type: 'gauge', tags: '' },
  { name: 'users.active', type: 'set', tags: '' },
];

/** Deterministic noise (mulberry32), so the picture changes only when the code does. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Busy afternoons, quiet nights: 0 at 04:00 UTC, 1 at 16:00. */
function dayShape(tsSec) {
  return 0.5 - 0.5 * Math.cos((2 * Math.PI * ((tsSec % DAY_SEC) - 4 * 3600)) / DAY_SEC);
}

/**
 * `seconds` worth of traffic at `tsSec` (a minute, or one second of the live
 * feed), stamped with |T when `stamped`.
 */
function trafficLines(tsSec, rand, seconds = 60, stamped = true) {
  const load = dayShape(tsSec);
  const stamp = stamped ? `|T${tsSec}` : '';
  const share = seconds / 60;
  const requests = Math.round((300 + 900 * load + 80 * rand()) * share);
  const spike = tsSec % 5400 < 240 ? 2.5 : 1; // a slow deploy every hour and a half
  const latencies = Array.from({ length: Math.max(1, Math.round(24 * share)) }, () => Math.round((18 + 30 * load) * spike * Math.exp(0.45 * (rand() + rand() + rand() - 1.5)) * 10) / 10);
  const users = Array.from({ length: Math.max(1, Math.round((40 + 120 * load) * share)) }, () => `u${Math.floor(rand() * 5000)}`);
  return [
    `api.requests:${requests}|c|#env:prod${stamp}`,
    `api.latency:${latencies.join(':')}|ms|#env:prod${stamp}`,
    `queue.depth:${Math.round(20 + 60 * load * rand())}|g${stamp}`,
    `users.active:${users.join(':')}|s${stamp}`,
  ];
}

async function sendLines(port, lines) {
  const socket = createSocket('udp4');
  try {
    for (let i = 0; i < lines.length; i += 4) {
      const datagram = Buffer.from(lines.slice(i, i + 4).join('\n'));
      await new Promise((resolve, reject) => socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
      // Loopback drops what the daemon has not read yet when the socket buffer fills.
      if (i % 400 === 0) await sleep(2);
    }
  } finally {
    socket.close();
  }
}

async function startDaemon(dbPath, clock) {
  const config = loadConfig({ flags: {} });
  const overrides = { host: '127.0.0.1', port: 0, adminPort: 0, httpPort: 0, db: dbPath, lateSampleWindowSec: DAY_SEC };
  const daemon = createDaemon(Object.freeze({ ...config, ...overrides }), { clock, logger: pino({ level: 'silent' }) });
  return { daemon, addresses: await daemon.start() };
}

/** Waits until the daemon has written every request counted in [fromSec, toSec): late samples merge on its 5-second tick. */
async function waitForRequests(http, fromSec, toSec, expected) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const url = `http://127.0.0.1:${http.port}/api/query?name=api.requests&from=${fromSec}&to=${toSec}&resolution=1m&maxPoints=10000`;
    const response = await fetch(url);
    const body = response.ok ? await response.json() : { points: [] };
    const stored = body.points.reduce((sum, point) => sum + point.value, 0);
    if (stored === expected) return;
    if (Date.now() > deadline) throw new Error(`only ${stored} of ${expected} requests stored for ${new Date(fromSec * 1000).toISOString()}`);
    await sleep(500);
  }
}

function requestsIn(lines) {
  return lines.filter((line) => line.startsWith('api.requests:')).reduce((sum, line) => sum + Number(line.slice('api.requests:'.length).split('|')[0]), 0);
}

/** A daemon whose clock reads 23:59:30 of that day takes the whole day; stopping it writes the last minute. */
async function feedEarlierDay(dbPath, dayStartSec, rand) {
  const offsetMs = (dayStartSec + DAY_SEC) * 1000 - 30_000 - Date.now();
  const { daemon, addresses } = await startDaemon(dbPath, { ...systemClock, now: () => Date.now() + offsetMs });
  try {
    const lines = [];
    for (let ts = dayStartSec; ts < dayStartSec + DAY_SEC - 60; ts += 60) lines.push(...trafficLines(ts, rand));
    await sendLines(addresses.udp.port, lines);
    await waitForRequests(addresses.http, dayStartSec, dayStartSec + DAY_SEC, requestsIn(lines));
    await sendLines(addresses.udp.port, trafficLines(dayStartSec + DAY_SEC - 60, rand));
  } finally {
    await daemon.stop();
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'dattss-screenshot-'));
  const dbPath = join(dir, 'dattss.db');
  const rand = random(20261130);
  const todaySec = Math.floor(Date.now() / 1000 / DAY_SEC) * DAY_SEC;
  let browser;
  let running;
  let feeding = true;
  let feeder;
  try {
    for (const daysBack of [3, 2, 1]) await feedEarlierDay(dbPath, todaySec - daysBack * DAY_SEC, rand);

    running = await startDaemon(dbPath, systemClock);
    const { udp, http } = running.addresses;
    // Live traffic from now on, one second at a time, for the live numbers and the minutes to come.
    const feederStartMs = Date.now();
    feeder = (async () => {
      while (feeding) {
        await sendLines(udp.port, trafficLines(Math.floor(Date.now() / 1000), rand, 1, false));
        await sleep(1000);
      }
    })();
    // Today's history up to the minute now running (yesterday's part of the six hours came with yesterday).
    const minuteNowSec = Math.floor(Date.now() / 60_000) * 60;
    const lines = [];
    for (let ts = Math.max(minuteNowSec - HISTORY_SEC, todaySec); ts < minuteNowSec; ts += 60) lines.push(...trafficLines(ts, rand));
    await sendLines(udp.port, lines);
    await waitForRequests(http, todaySec, minuteNowSec, requestsIn(lines));
    // The live moving average covers the last minute: let the feed fill one.
    await sleep(Math.max(0, feederStartMs + 65_000 - Date.now()));

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const url = `http://127.0.0.1:${http.port}/?refresh=1000#range=6h&series=${encodeURIComponent(JSON.stringify(SERIES))}`;
    for (const [file, viewport] of [
      ['docs/dashboard.png', { width: 1400, height: 1000 }],
      ['docs/dashboard-phone.png', { width: 390, height: 844 }],
    ]) {
      const page = await browser.newPage({ viewport, timezoneId: 'UTC', deviceScaleFactor: viewport.width < 600 ? 2 : 1 });
      page.on('request', (request) => {
        if (!request.url().startsWith(`http://127.0.0.1:${http.port}/`) && !request.url().startsWith('data:')) throw new Error(`request off loopback: ${request.url()}`);
      });
      await page.goto(url);
      await page.waitForFunction((count) => {
        const cards = window.dattss?.cards ?? [];
        return cards.length === count && cards.every((card) => card.history?.points.length > 0 && card.weekPlot !== undefined);
      }, SERIES.length);
      await page.screenshot({ path: file, fullPage: viewport.width >= 600 });
      console.log(`wrote ${file}`);
      await page.close();
    }
  } finally {
    feeding = false;
    await feeder;
    await browser?.close();
    await running?.daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
