// One picked series: its live numbers, its history over the chosen range and
// today against the week's average.
import { ApiError, getJson } from './api.js';
import { historyData, historyOptions, movingAverageOf, weekData, weekOptions } from './charts.js';
import { el, replace } from './dom.js';
import { formatNumber, seriesLabel, withUnit } from './format.js';

const BUCKET_SEC = { '1m': 60, '1h': 3600, '1d': 86400 };
const WEEK_BUCKET_MINUTES = 15;
/** Enough points for 24 hours of minutes; 7 days fall back to hours. */
const MAX_POINTS = 1500;
/** Live samples kept for the moving-average line: a week of 5-second refreshes would be too many. */
const MAX_LIVE_SAMPLES = 2000;

export class SeriesCard {
  constructor(series, onRemove) {
    this.series = series;
    this.liveSamples = [];
    this.history = undefined;
    this.week = undefined;
    this.title = el('h2', { title: series.name }, series.name);
    const remove = el('button', { type: 'button', class: 'remove', 'aria-label': `Remove ${seriesLabel(series)}` }, '×');
    remove.addEventListener('click', () => onRemove(this));
    this.liveList = el('dl', { class: 'live' });
    this.message = el('p', { class: 'message', hidden: true });
    this.historyBox = el('div', { class: 'chart history' });
    this.weekBox = el('div', { class: 'chart week' });
    this.element = el(
      'article',
      { class: 'card', 'data-name': series.name, 'data-type': series.type, 'data-tags': series.tags },
      el('header', {}, this.title, series.tags === '' ? null : el('span', { class: 'chip tags' }, series.tags), el('span', { class: `chip type ${series.type}` }, series.type), remove),
      this.liveList,
      this.message,
      this.historyBox,
      el('h3', {}, "Today against the week's average"),
      this.weekBox,
    );
    this.resizeObserver = new ResizeObserver(() => this.#resize());
    this.resizeObserver.observe(this.element);
  }

  /** Re-reads live values and history (and the week view when asked); throws AuthRequired through. */
  async refresh(range, withWeek) {
    const { name, type, tags } = this.series;
    const [live, history, week] = await Promise.all([
      getJson('live', { name, type, limit: 1000 }),
      this.#stored(() => getJson('query', { name, type, tags, since: range, maxPoints: MAX_POINTS })),
      withWeek || this.week === undefined
        ? this.#stored(() => getJson('week', { name, type, tags, bucketMinutes: WEEK_BUCKET_MINUTES, tz: timeZone() }))
        : Promise.resolve(this.week),
    ]);
    if (this.destroyed) return; // removed while its answers were on the way
    const current = live.series.find((candidate) => candidate.tags === tags) ?? null;
    this.nowSec = live.nowMs / 1000;
    this.#showLive(current, live.nowMs);
    this.#showMessage(history === null ? 'Not stored yet: the first minute is written to the database when it ends.' : null);
    this.history = history ?? { fromSec: Math.floor(live.nowMs / 1000) - rangeSec(range), toSec: Math.floor(live.nowMs / 1000), resolution: '1m', points: [] };
    this.week = week ?? { buckets: [] };
    this.#draw();
  }

  destroy() {
    this.destroyed = true;
    this.resizeObserver.disconnect();
    this.historyPlot?.destroy();
    this.weekPlot?.destroy();
    this.element.remove();
  }

  /** A series that only lives in memory so far answers 404 from the stored-data endpoints. */
  async #stored(request) {
    try {
      return await request();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'DATTSS_SERIES_NOT_FOUND') return null;
      throw error;
    }
  }

  #showLive(live, nowMs) {
    const { type } = this.series;
    if (live === null) {
      replace(this.liveList, stat('live', 'idle', 'no samples in the last minute'));
      return;
    }
    const average = movingAverageOf(type, live);
    const samples = this.liveSamples;
    const tsSec = nowMs / 1000;
    if (samples.length > 0 && samples[samples.length - 1].tsSec === tsSec) samples.pop();
    samples.push({ tsSec, value: average });
    if (samples.length > MAX_LIVE_SAMPLES) samples.shift();
    const m = live.movingAverage;
    switch (type) {
      case 'counter':
        return replace(this.liveList, stat('current', 'this 5 s', formatNumber(live.current)), stat('average', '1-min avg', withUnit(m.ratePerSec, type)), stat('total', 'last minute', formatNumber(m.ratePerSec === null ? null : m.ratePerSec * 60)));
      case 'timer':
        return replace(this.liveList, stat('current', 'mean this 5 s', withUnit(live.current, type)), stat('average', '1-min avg', withUnit(m.mean, type)), stat('p99', '1-min p99', withUnit(m.p99, type)), stat('count', 'samples/min', formatNumber(m.count)));
      case 'gauge':
        return replace(this.liveList, stat('current', 'now', withUnit(live.current, type)), stat('average', '1-min avg', withUnit(m.mean, type)), stat('range', '1-min min–max', `${formatNumber(m.min)}–${formatNumber(m.max)}`));
      case 'set':
        return replace(this.liveList, stat('current', 'this 5 s', withUnit(live.current, type)), stat('average', '1 min', withUnit(m.uniques, type)));
    }
  }

  #showMessage(text) {
    this.message.hidden = text === null;
    this.message.textContent = text ?? '';
  }

  #draw() {
    const { type } = this.series;
    const bucketSec = BUCKET_SEC[this.history.resolution] ?? 60;
    const history = historyData(type, this.history, bucketSec, this.liveSamples, this.nowSec);
    const week = weekData(type, this.week, WEEK_BUCKET_MINUTES, this.nowSec * 1000);
    const width = this.#chartWidth();
    if (this.historyPlot === undefined) {
      this.historyPlot = new uPlot(historyOptions(type, width, 220), history, this.historyBox);
      this.weekPlot = new uPlot(weekOptions(type, width, 160), week, this.weekBox);
    } else {
      this.historyPlot.setData(history);
      this.weekPlot.setData(week);
    }
    this.element.dataset.points = String(this.history.points.length);
  }

  #chartWidth() {
    return Math.max(200, this.historyBox.clientWidth);
  }

  #resize() {
    const width = this.#chartWidth();
    if (this.historyPlot === undefined || this.historyPlot.width === width) return;
    this.historyPlot.setSize({ width, height: 220 });
    this.weekPlot.setSize({ width, height: 160 });
  }
}

function stat(key, label, value) {
  return el('div', { 'data-stat': key }, el('dt', {}, label), el('dd', {}, value));
}

const RANGE_SEC = { '15m': 900, '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800 };

export function rangeSec(range) {
  return RANGE_SEC[range] ?? 3600;
}

export const RANGES = Object.keys(RANGE_SEC);

function timeZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'UTC';
}
