import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import type { Config } from '../../src/config/schema.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { sendAndSettle, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

// The dashboard in a real browser (Debian's chromium, headless) against an
// in-process daemon fed over UDP. The page refreshes every 300 ms
// (`?refresh=300`); every wait is for a DOM or chart condition, never a sleep.
const CHROMIUM = '/usr/bin/chromium';
const REFRESH = '?refresh=300';

// 2026-01-05T10:22:02Z once the fed daemon has flushed two minutes.
const M0_SEC = Date.UTC(2026, 0, 5, 10, 20, 0) / 1000;
const M1_SEC = M0_SEC + 60;
const M2_SEC = M0_SEC + 120;
// 10:21 the day before: within a day of the daemon's clock, so a late sample it still takes.
const YESTERDAY_SEC = M0_SEC - 86_400 + 60;
const TOKEN = 'a-token-for-the-browser-test';

if (!existsSync(CHROMIUM) && process.env.REQUIRE_BROWSER_TESTS !== '1') {
  t.plan(0, `no ${CHROMIUM} (apt-get install chromium); set REQUIRE_BROWSER_TESTS=1 to fail instead`);
} else {
  // About 10 s alone; a browser among the rest of the suite on 2 cores needs room beyond the 60 s default.
  t.setTimeout(120_000);
  await browserTests();
}

interface Session {
  page: Page;
  /** Every URL the page asked for. */
  requests: string[];
  /** Uncaught errors and console errors in the page. */
  errors: string[];
  /** `404 /api/query`: every answer of 400 and up. */
  failures: string[];
  /** Asserts that nothing left loopback and nothing failed in the page but the `expected` answers; call last. */
  checkClean(expected?: RegExp): void;
}

async function browserTests(): Promise<void> {
  // One browser for the file; each subtest gets its own context (fresh session storage).
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());

  t.test('an empty database says how to send a first metric, until one arrives', async (t) => {
    const clock = new FakeClock(M0_SEC * 1000 + 2_000);
    const running = await startDaemon(t, clock);
    clock.advance(60_000); // the daemon's own series are stored now; the user has sent nothing
    const session = await open(t, browser, running, `/${REFRESH}`);
    const { page } = session;
    await page.locator('#empty').waitFor({ state: 'visible' });
    const text = await page.locator('#empty').innerText();
    t.match(text, 'echo "hits:1|c" | nc -u -w0 127.0.0.1 8125');
    t.match(text, 'dattss send "hits:1|c"');
    t.equal(await page.locator('.card').count(), 0);

    await sendAndSettle(running.daemon, running.addresses.udp.port, ['hits:1|c']);
    await page.locator('#empty').waitFor({ state: 'hidden' });
    const result = page.locator('#results .result[data-name="hits"]');
    await result.waitFor({ state: 'visible' });
    await result.click();
    const card = page.locator('.card[data-name="hits"]');
    await card.locator('.message').waitFor({ state: 'visible' });
    t.match(await card.locator('.message').innerText(), /Not stored yet/, 'a series only in memory says so');
    t.equal(await card.locator('[data-stat=current] dd').innerText(), '1', 'and shows its live value');
    // The series is not stored yet: its history and week answer 404, shown as "Not stored yet".
    session.checkClean(/^404 \/api\/(query|week)$/);
  });

  t.test('charts show what was sent, update live, and the week plot renders', async (t) => {
    const { running, clock } = await fedDaemon(t);
    const series = [
      { name: 'hits', type: 'counter', tags: 'env:prod' },
      { name: 'api.latency', type: 'timer', tags: '' },
    ];
    const session = await open(t, browser, running, `/${REFRESH}#range=1h&series=${encodeURIComponent(JSON.stringify(series))}`);
    const { page } = session;
    await page.waitForFunction(() => document.querySelectorAll('.card .uplot').length === 4);

    const hits = await plotOf(page, 0, 'historyPlot');
    t.same(hits.labels, ['time', 'per minute', '1-min moving avg (live)']);
    t.equal(valueAt(hits.data, 1, M0_SEC), 3 / 60, 'minute 0: 3 hits as a rate per second');
    t.equal(valueAt(hits.data, 1, M1_SEC), 12 / 60, 'minute 1: 12 hits');
    t.equal(valueAt(hits.data, 1, M0_SEC - 60), 0, 'a minute without hits is zero');
    const minutes = (hits.data[0] ?? []).filter((x): x is number => typeof x === 'number' && x % 60 === 0);
    t.equal(minutes.at(-1), M1_SEC, 'up to the last flushed minute');
    t.ok(minutes.length >= 59 && minutes.every((x, i) => i === 0 || x - (minutes[i - 1] ?? 0) === 60), `an hour of minutes without holes (${minutes.length})`);
    const card = page.locator('.card[data-name="hits"]');
    t.equal(await card.locator('[data-stat=average] dd').innerText(), '0.2 /s', 'moving average of the last minute, with its unit');
    t.equal(await card.locator('[data-stat=current] dd').innerText(), '5', 'this 5-second interval so far');
    t.equal(await card.locator('[data-stat=total] dd').innerText(), '12', 'hits in the last minute');

    const latency = await plotOf(page, 1, 'historyPlot');
    t.same(latency.labels, ['time', 'mean', 'p50', 'p90', 'p99', '1-min moving avg (live)']);
    t.equal(latency.bands, 2, 'p50–p90 and p90–p99 bands');
    t.equal(valueAt(latency.data, 1, M0_SEC), 50.5, 'mean of 1..100 ms');
    for (const [column, expected] of [[2, 50], [3, 90], [4, 99]] as const) {
      t.ok(Math.abs((valueAt(latency.data, column, M0_SEC) ?? NaN) - expected) <= expected * 0.02, `${latency.labels[column]} of 1..100 ms within the sketch's error`);
    }
    t.equal(valueAt(latency.data, 1, M1_SEC), 200);
    t.match(await page.locator('.card[data-name="api.latency"] [data-stat=p99] dd').innerText(), /^\d+(\.\d+)? ms$/, 'timer values in ms');

    const week = await plotOf(page, 0, 'weekPlot');
    t.same(week.labels, ['time', 'today', 'week average']);
    t.equal(week.data[0]?.length, 96, 'one point per 15 minutes of the day');
    t.equal(valueAt(week.data, 1, (10 * 60 + 15) * 60), null, "today's 10:15–10:30 total is not in yet: left out, not drawn as a drop");
    t.equal(valueAt(week.data, 2, (10 * 60 + 15) * 60), 30 / 900, "yesterday's 30 hits at 10:21 make the 10:15 week average");
    t.equal(valueAt(week.data, 1, 10 * 3600), null, 'no hits today at 10:00');
    const latencyWeek = await plotOf(page, 1, 'weekPlot');
    t.equal(valueAt(latencyWeek.data, 1, (10 * 60 + 15) * 60), (5050 + 10 * 200) / 110, "a timer's running bucket is shown: the mean so far");

    // New traffic: the live numbers follow without a reload…
    await sendAndSettle(running.daemon, running.addresses.udp.port, ['hits:7|c|#env:prod']);
    await card.locator('[data-stat=current] dd', { hasText: /^12$/ }).waitFor();
    // …and the minute, once flushed, joins the chart.
    clock.advance(60_000);
    await page.waitForFunction(
      (m2) => {
        const plot = window.dattss.cards[0]?.historyPlot;
        const index = plot?.data[0]?.indexOf(m2) ?? -1;
        return index >= 0 && plot?.data[1]?.[index] === 12 / 60;
      },
      M2_SEC,
    );
    t.pass('the flushed minute appears in the chart');
    const live = await plotOf(page, 0, 'historyPlot');
    const averages = live.data[2]?.filter((value) => value !== undefined && value !== null) ?? [];
    t.ok(averages.includes(12 / 60), 'the live moving-average line took the new minute');

    await page.selectOption('#range', '7d');
    await page.waitForFunction(() => window.dattss.cards[0]?.history?.resolution === '1h');
    const hourly = await plotOf(page, 0, 'historyPlot');
    const hour = M0_SEC - 20 * 60;
    t.equal(valueAt(hourly.data, 1, hour), (3 + 12 + 12) / 3600, 'seven days in hours: the 10:00 hour');
    t.equal(valueAt(hourly.data, 1, hour - 86_400), 30 / 3600, "and yesterday's");
    t.match(page.url(), /#range=7d&series=/, 'the range is kept in the URL');
    session.checkClean();
  });

  t.test('search filters among 2000 series on the server, debounced, with a bounded list', async (t) => {
    const clock = new FakeClock(M0_SEC * 1000 + 2_000);
    const running = await startDaemon(t, clock);
    const lines = Array.from({ length: 2000 }, (_, i) => `svc.${i}.requests:1|c`);
    const datagrams = Array.from({ length: 40 }, (_, k) => lines.slice(k * 50, (k + 1) * 50).join('\n'));
    await sendAndSettle(running.daemon, running.addresses.udp.port, datagrams);
    clock.advance(60_000);
    const session = await open(t, browser, running, `/${REFRESH}`);
    const { page } = session;
    await page.locator('#results .note.more').waitFor();
    t.equal(await page.locator('#results .result').count(), 50, 'the list is bounded');

    const searchesBefore = searchRequests(session.requests).length;
    await page.locator('#search').pressSequentially('svc.1234.');
    await page.locator('#results[data-search="svc.1234."]').waitFor();
    const searches = searchRequests(session.requests).slice(searchesBefore);
    t.ok(searches.length >= 1 && searches.length <= 3, `9 keystrokes, ${searches.length} searches (debounced)`);
    t.same(await page.locator('#results .result .name').allInnerTexts(), ['svc.1234.requests'], 'filtered by the daemon');
    t.equal(await page.locator('#results .note').count(), 0, 'nothing more to show');

    await page.locator('#search').fill('svc.1');
    await page.locator('#results[data-search="svc.1"]').waitFor();
    // svc.1, svc.10–19, svc.100–199, svc.1000–1999: 1111 series, 50 shown.
    t.equal(await page.locator('#results .result').count(), 50);
    t.equal(await page.locator('#results .note.more').innerText(), '1,061 more: type more of the name to narrow the list.');

    await page.locator('#search').fill('*.requests');
    await page.locator('#results[data-search="*.requests"]').waitFor();
    t.equal(await page.locator('#results .note.more').innerText(), '1,950 more: type more of the name to narrow the list.', 'globs work too');

    await running.daemon.stop();
    await page.locator('#status.down').waitFor();
    t.match(await page.locator('#status').innerText(), /^cannot reach the daemon/, 'a stopped daemon is reported, not hidden');
    session.checkClean();
  });

  t.test('with a token, the dashboard asks for it once per session', async (t) => {
    const clock = new FakeClock(M0_SEC * 1000 + 2_000);
    const running = await startDaemon(t, clock, { token: TOKEN });
    await sendAndSettle(running.daemon, running.addresses.udp.port, ['hits:1|c']);
    const session = await open(t, browser, running, `/${REFRESH}`);
    const { page } = session;
    const form = page.locator('#token-form');
    await form.waitFor({ state: 'visible' });
    t.ok(await page.locator('#token-error').isHidden(), 'no error before a token was given');

    await page.locator('#token').fill('wrong');
    await page.locator('#token-form button').click();
    await page.locator('#token-error').waitFor({ state: 'visible' });
    t.ok(await form.isVisible(), 'a refused token asks again');

    await page.locator('#token').fill(TOKEN);
    await page.locator('#token-form button').click();
    await page.locator('#results .result[data-name="hits"]').waitFor();
    t.ok(await form.isHidden());
    t.equal(await page.evaluate(() => sessionStorage.getItem('dattss.token')), TOKEN, 'kept in session storage');

    await page.reload();
    await page.locator('#results .result[data-name="hits"]').waitFor();
    t.ok(await form.isHidden(), 'not asked again after a reload');
    session.checkClean(/^401 \/api\//);
  });

  t.test('on a phone-sized screen nothing overflows, and names are shown as text', async (t) => {
    const { running } = await fedDaemon(t, { sanitizeNames: false });
    const hostile = '<img/src=x/onerror=window.pwned=1>';
    await sendAndSettle(running.daemon, running.addresses.udp.port, [`${hostile}:1|c`]);
    const series = [{ name: 'hits', type: 'counter', tags: 'env:prod' }];
    const session = await open(t, browser, running, `/${REFRESH}#series=${encodeURIComponent(JSON.stringify(series))}`, { width: 390, height: 844 });
    const { page } = session;
    await page.waitForFunction(() => document.querySelectorAll('.card .uplot').length === 2);
    t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal scrolling at 390 px');
    const chartWidth = await page.evaluate(() => window.dattss.cards[0]?.historyPlot?.width ?? 0);
    t.ok(chartWidth > 250 && chartWidth <= 390, `the chart fits the screen (${chartWidth} px)`);

    await page.locator('#search').fill('img');
    const result = page.locator('#results .result .name', { hasText: hostile });
    await result.waitFor();
    t.equal(await result.innerText(), hostile, 'the name is shown as typed');
    await result.click();
    await page.locator('.card h2', { hasText: hostile }).waitFor();
    t.equal(await page.locator('main img, #results img').count(), 0, 'no element was made from the name');
    t.equal(await page.evaluate(() => window.pwned), undefined, 'no script ran');

    await page.locator('.card', { hasText: hostile }).getByRole('button', { name: /^Remove/ }).click();
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 1);
    t.notMatch(decodeURIComponent(page.url()), 'img', 'a removed card leaves the URL too');
    session.checkClean(/^404 \/api\/(query|week)$/); // the hostile series is not stored yet
  });
}

interface PlotLike {
  width: number;
  data: (number | null | undefined)[][];
  series: { label?: string }[];
  bands?: unknown[];
}

interface DashboardWindow {
  dattss: { cards: { historyPlot?: PlotLike; weekPlot?: PlotLike; history?: { resolution: string } }[] };
  pwned?: number;
}

// The page's globals as far as these tests read them (the project's type check has no DOM library).
declare const window: DashboardWindow;
declare const document: { querySelectorAll(selector: string): { length: number }; documentElement: { scrollWidth: number } };
declare const sessionStorage: { getItem(key: string): string | null };

/**
 * Opens the dashboard in a fresh browser context whose every request is
 * checked: anything that is not this daemon's loopback address is aborted
 * and fails the test, as does any error in the page.
 */
async function open(t: Test, browser: Browser, running: RunningDaemon, path: string, viewport = { width: 1280, height: 900 }): Promise<Session> {
  const origin = `http://127.0.0.1:${running.addresses.http?.port}`;
  const context = await browser.newContext({ viewport, timezoneId: 'UTC' });
  // Fail a broken wait well within tap's 60 s per file, not after playwright's default 30 s each.
  context.setDefaultTimeout(10_000);
  t.teardown(() => context.close());
  const offLoopback: string[] = [];
  const session: Session = {
    page: await context.newPage(),
    requests: [],
    errors: [],
    failures: [],
    checkClean(expected = /^$/) {
      t.same(offLoopback, [], 'no request left the daemon');
      t.ok(session.requests.some((url) => url.includes('/api/')), 'the page talked to the API');
      t.same(session.errors, [], 'no errors in the page');
      t.same(session.failures.filter((failure) => !expected.test(failure)), [], 'no failed requests but the expected ones');
    },
  };
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    session.requests.push(url);
    if (url.startsWith(`${origin}/`)) return route.continue();
    offLoopback.push(url);
    return route.abort();
  });
  session.page.on('pageerror', (error) => session.errors.push(error.message));
  session.page.on('console', (message) => {
    // Failed loads are logged as errors too; `failures` has them with their paths.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) session.errors.push(message.text());
  });
  session.page.on('response', (response) => {
    if (response.status() >= 400) session.failures.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  await session.page.goto(`${origin}${path}`);
  return session;
}

/** A daemon with two flushed minutes, a sample from yesterday and live data in the third minute. */
async function fedDaemon(t: Test, overrides: Partial<Config> = {}): Promise<{ running: RunningDaemon; clock: FakeClock }> {
  const clock = new FakeClock(M0_SEC * 1000 + 2_000);
  const running = await startDaemon(t, clock, { lateSampleWindowSec: 86_400, ...overrides });
  const send = (datagrams: string[]): Promise<void> => sendAndSettle(running.daemon, running.addresses.udp.port, datagrams);
  const timings = Array.from({ length: 100 }, (_, i) => `api.latency:${i + 1}|ms`).join('\n');
  await send(['hits:3|c|#env:prod', timings, `hits:30|c|#env:prod|T${YESTERDAY_SEC}`]);
  clock.advance(60_000);
  await send(['hits:12|c|#env:prod', Array.from({ length: 10 }, () => 'api.latency:200|ms').join('\n')]);
  clock.advance(60_000);
  await send(['hits:5|c|#env:prod']);
  return { running, clock };
}

async function plotOf(page: Page, card: number, plot: 'historyPlot' | 'weekPlot'): Promise<{ data: (number | null | undefined)[][]; labels: string[]; bands: number }> {
  return page.evaluate(
    ([card, plot]) => {
      const chart = window.dattss.cards[card]?.[plot];
      if (chart === undefined) throw new Error(`card ${card} has no ${plot}`);
      return { data: chart.data, labels: chart.series.map((s) => s.label ?? ''), bands: chart.bands?.length ?? 0 };
    },
    [card, plot] as const,
  );
}

/** The value of column `column` at x. */
function valueAt(data: (number | null | undefined)[][], column: number, x: number): number | null | undefined {
  const index = data[0]?.indexOf(x) ?? -1;
  if (index < 0) throw new Error(`no point at x=${x}`);
  return data[column]?.[index];
}

function searchRequests(urls: string[]): string[] {
  return urls.filter((url) => url.includes('/api/series?') && url.includes('search='));
}
