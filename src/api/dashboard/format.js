// Numbers with their units: counters as a rate per second, timers in
// milliseconds, sets as unique members, gauges as they were sent.

export const UNIT_OF_TYPE = { counter: '/s', timer: 'ms', gauge: '', set: 'uniques' };

export function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e6) return compact.format(value);
  const digits = magnitude >= 100 || Number.isInteger(value) ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });

/** `12.5 ms`, `3 /s`, `42` (gauge), `7 uniques`. */
export function withUnit(value, type) {
  const unit = UNIT_OF_TYPE[type];
  const text = formatNumber(value);
  return unit === '' || text === '–' ? text : `${text} ${unit}`;
}

/** `api.latency{env:prod}`-style label of a series. */
export function seriesLabel(series) {
  return series.tags === '' ? series.name : `${series.name} {${series.tags}}`;
}

export function seriesKey(series) {
  return `${series.type}\u0000${series.name}\u0000${series.tags}`;
}

export function timeOfDay(epochSec) {
  return new Date(epochSec * 1000).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
