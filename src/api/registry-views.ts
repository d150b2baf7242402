import type { Registry } from '../aggregate/registry.js';
import type { Series } from '../aggregate/series.js';
import { summarizeMinute } from '../aggregate/summarize.js';
import { minuteStart } from '../protocol/metric-type.js';
import type { DumpKind } from './admin.js';

/**
 * The registry as the admin interface shows it. Keys are Etsy's graphite
 * style — `name`, or `name;k=v;k2=v2` with tags — and values cover the
 * current minute so far (Etsy shows the current flush interval).
 */
export function etsyKey(series: Series): string {
  if (series.tags === '') return series.name;
  return `${series.name};${series.tags
    .split(',')
    .map((tag) => tag.replace(':', '='))
    .join(';')}`;
}

export function dumpSeries(registry: Registry, kind: DumpKind): Record<string, unknown> {
  const minuteStartMs = minuteStart(registry.currentIntervalMs);
  const dump: Record<string, unknown> = {};
  for (const series of registry.series(kind)) {
    const minute = summarizeMinute(series, minuteStartMs);
    switch (kind) {
      case 'counter':
        dump[etsyKey(series)] = minute?.sum ?? 0;
        break;
      case 'timer':
        // Etsy lists every raw value; dattss keeps a sketch, so it shows the summary.
        dump[etsyKey(series)] =
          minute === null || minute.sum === null
            ? { count: 0 }
            : { count: minute.count, mean: minute.sum / minute.samples, min: minute.min, max: minute.max, p99: minute.p99 };
        break;
      case 'gauge':
        dump[etsyKey(series)] = series.gaugeValue;
        break;
    }
  }
  return dump;
}

/** Deletes series whose key equals `pattern`, or starts with `prefix.` for `prefix.*`. */
export function deleteSeries(registry: Registry, kind: DumpKind, pattern: string): string[] {
  const prefix = pattern.endsWith('.*') ? pattern.slice(0, -1) : undefined;
  const deleted: string[] = [];
  for (const series of [...registry.series(kind)]) {
    const key = etsyKey(series);
    if (prefix === undefined ? key === pattern : key.startsWith(prefix)) {
      registry.remove(series);
      deleted.push(key);
    }
  }
  return deleted;
}
