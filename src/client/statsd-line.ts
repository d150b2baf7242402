import type { MetricType } from '../protocol/metric-type.js';

const LINE_TYPES: Record<MetricType, string> = { counter: 'c', timer: 'ms', gauge: 'g', set: 's' };

/** The statsd line(s) of one sample (lines mode); a negative absolute gauge is set to 0 first, as statsd clients do. */
export function statsdLines(type: MetricType, name: string, tags: string, value: number, delta: boolean, member: string): string[] {
  const tagField = tags === '' ? '' : `|#${tags}`;
  const line = (text: string): string => `${name}:${text}|${LINE_TYPES[type]}${tagField}`;
  switch (type) {
    case 'set':
      return [line(member)];
    case 'gauge':
      if (delta) return [line(value < 0 ? String(value) : `+${value}`)];
      return value < 0 ? [line('0'), line(String(value))] : [line(String(value))];
    case 'counter':
    case 'timer':
      return [line(String(value))];
  }
}
