import type { SelfMetric } from '../self-metrics.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface PrometheusSnapshot {
  counters: readonly SelfMetric[];
  gauges: readonly SelfMetric[];
  uptimeSec: number;
  /** 1 while health is up, 0 when down or degraded. */
  healthy: boolean;
}

/**
 * The daemon's own metrics in the Prometheus text exposition format 0.0.4:
 * counters get the `_total` suffix, every name the `dattss_` prefix.
 */
export function formatPrometheus(snapshot: PrometheusSnapshot): string {
  let text = '';
  const write = (name: string, type: 'counter' | 'gauge', help: string, value: number): void => {
    text += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${formatValue(value)}\n`;
  };
  for (const metric of snapshot.counters) write(`dattss_${metric.name}_total`, 'counter', metric.help, metric.value);
  for (const metric of snapshot.gauges) write(`dattss_${metric.name}`, 'gauge', metric.help, metric.value);
  write('dattss_uptime_seconds', 'gauge', 'Seconds since the daemon started.', snapshot.uptimeSec);
  write('dattss_healthy', 'gauge', '1 while health is up, 0 when down or degraded.', snapshot.healthy ? 1 : 0);
  return text;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
