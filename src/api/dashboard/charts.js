// uPlot options and data for a card's two charts. uPlot is loaded as a
// classic script (window.uPlot) from the daemon: no bundler, no CDN.
import { formatNumber, UNIT_OF_TYPE, withUnit } from './format.js';

const COLORS = { value: '#2563eb', average: '#ea580c', p50: '#0d9488', p90: '#7c3aed', p99: '#dc2626', today: '#2563eb', week: '#64748b' };
/** A minute is written just after it ends: until then its absence is not yet a zero. */
const FLUSH_GRACE_SEC = 10;
const AXIS = { stroke: '#475569', grid: { stroke: '#e2e8f0', width: 1 }, ticks: { stroke: '#cbd5e1', width: 1 } };

/** What a stored bucket shows: counters as a rate per second, everything else as stored. */
function bucketValue(type, value, bucketSec) {
  if (value === null || value === undefined) return null;
  return type === 'counter' ? value / bucketSec : value;
}

/** The 1-minute moving average the live endpoint reports, in the chart's unit. */
export function movingAverageOf(type, live) {
  const average = live.movingAverage;
  switch (type) {
    case 'counter': return average.ratePerSec;
    case 'timer': return average.mean;
    case 'gauge': return average.mean;
    case 'set': return average.uniques;
    default: return null;
  }
}

function historyColumns(type) {
  if (type === 'timer') return ['mean', 'p50', 'p90', 'p99'];
  return ['value'];
}

function columnOf(type, column, point, bucketSec) {
  if (column === 'value' || column === 'mean') return bucketValue(type, point.value, bucketSec);
  return point.percentiles?.[column] ?? null;
}

/**
 * Columns for uPlot: x (Unix seconds), the stored buckets' columns, then the
 * live moving-average samples. A bucket that ended (and was written) without data
 * is a gap (null), except for counters, where it means zero; x values that
 * belong to the other source are `undefined`, which uPlot draws across.
 */
export function historyData(type, query, bucketSec, liveSamples, nowSec) {
  const columns = historyColumns(type);
  const rows = new Map();
  const firstBucket = Math.ceil(query.fromSec / bucketSec) * bucketSec;
  for (let ts = firstBucket; ts + bucketSec <= Math.min(query.toSec, nowSec - FLUSH_GRACE_SEC); ts += bucketSec) {
    rows.set(ts, { values: columns.map(() => (type === 'counter' ? 0 : null)) });
  }
  for (const point of query.points) {
    rows.set(point.ts, { ...rows.get(point.ts), values: columns.map((column) => columnOf(type, column, point, bucketSec)) });
  }
  for (const sample of liveSamples) {
    if (sample.tsSec < query.fromSec) continue;
    rows.set(sample.tsSec, { values: undefined, ...rows.get(sample.tsSec), average: sample.value });
  }
  const xs = [...rows.keys()].sort((a, b) => a - b);
  const data = [xs];
  columns.forEach((_, index) => data.push(xs.map((x) => (rows.get(x).values === undefined ? undefined : rows.get(x).values[index]))));
  data.push(xs.map((x) => rows.get(x).average));
  return data;
}

/** Ticks carry the unit, except for sets ("uniques" is too wide for an axis; the legend says it). */
function unitAxis(type) {
  const unit = type === 'set' ? '' : UNIT_OF_TYPE[type];
  return { ...AXIS, size: 64, values: (_plot, ticks) => ticks.map((tick) => (unit === '' ? formatNumber(tick) : `${formatNumber(tick)} ${unit}`)) };
}

const hourMinute = (tsSec) => new Date(tsSec * 1000).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
const dayMonth = (tsSec) => new Date(tsSec * 1000).toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });

/** 24-hour times, with the date under the first tick of each day; dates alone for ranges of days. */
const TIME_AXIS = {
  ...AXIS,
  values: (_plot, ticks, _axis, _space, incrSec) =>
    ticks.map((tick, i) => {
      if (incrSec >= 86400) return dayMonth(tick);
      const newDay = i === 0 || dayMonth(tick) !== dayMonth(ticks[i - 1]);
      return newDay ? `${hourMinute(tick)}\n${dayMonth(tick)}` : hourMinute(tick);
    }),
};

function line(label, color, type, extra = {}) {
  return { label, stroke: color, width: 2, value: (_plot, value) => withUnit(value, type), ...extra };
}

export function historyOptions(type, width, height) {
  const series = [{ label: 'time', value: (_plot, tsSec) => (tsSec === null ? '–' : `${dayMonth(tsSec)} ${hourMinute(tsSec)}`) }];
  if (type === 'timer') {
    series.push(line('mean', COLORS.value, type));
    series.push(line('p50', COLORS.p50, type, { width: 1 }));
    series.push(line('p90', COLORS.p90, type, { width: 1 }));
    series.push(line('p99', COLORS.p99, type, { width: 1 }));
  } else {
    series.push(line(type === 'counter' ? 'per minute' : 'value', COLORS.value, type));
  }
  series.push(line('1-min moving avg (live)', COLORS.average, type, { dash: [6, 4], spanGaps: true, points: { show: true, size: 5 } }));
  const bands = type === 'timer'
    ? [{ series: [4, 3], fill: 'rgba(220, 38, 38, 0.10)' }, { series: [3, 2], fill: 'rgba(124, 58, 237, 0.10)' }]
    : [];
  return { width, height, series, bands, axes: [TIME_AXIS, unitAxis(type)], scales: { x: { time: true } }, legend: { live: true } };
}

/**
 * Today against the average of the 7 days before, per time-of-day bucket (x:
 * seconds since local midnight). A counter's or a set's bucket still running
 * is left out of today: its total is not in yet, and a half-filled bucket
 * would read as a drop.
 */
export function weekData(type, week, bucketMinutes, nowMs) {
  const bucketSec = bucketMinutes * 60;
  const now = new Date(nowMs);
  const nowMinuteOfDay = now.getHours() * 60 + now.getMinutes();
  const sums = type === 'counter' || type === 'set';
  const running = (bucket) => sums && bucket.minuteOfDay <= nowMinuteOfDay && nowMinuteOfDay < bucket.minuteOfDay + bucketMinutes;
  const buckets = week.buckets;
  return [
    buckets.map((bucket) => bucket.minuteOfDay * 60),
    buckets.map((bucket) => (running(bucket) ? null : bucketValue(type, bucket.today, bucketSec))),
    buckets.map((bucket) => bucketValue(type, bucket.weekAverage, bucketSec)),
  ];
}

function clockLabel(secondsOfDay) {
  const minutes = Math.round(secondsOfDay / 60);
  return `${String(Math.floor(minutes / 60) % 24).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

export function weekOptions(type, width, height) {
  return {
    width,
    height,
    scales: { x: { time: false, range: [0, 86400] } },
    series: [
      { label: 'time', value: (_plot, value) => (value === null ? '–' : clockLabel(value)) },
      line('today', COLORS.today, type),
      line('week average', COLORS.week, type, { dash: [4, 4] }),
    ],
    axes: [
      { ...AXIS, incrs: [3600, 3 * 3600, 6 * 3600], values: (_plot, ticks) => ticks.map(clockLabel) },
      unitAxis(type),
    ],
    legend: { live: true },
  };
}
