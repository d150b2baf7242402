import { Command, Option } from 'commander';
import { buildRangeQuery, planRange, resolveSelector } from '../../api/read-params.js';
import { DattssError } from '../../errors.js';
import type { MetricType } from '../../protocol/metric-type.js';
import { queryRange, type Point } from '../../store/queries.js';
import { RESOLUTIONS } from '../../store/resolution.js';
import { configOption, dbOption, nowSec, openDatabase, statusLine, tagOption, typeOption, type ConfigOptions } from '../context.js';
import { chosenFormat, formatNumber, formatOptions, render, type Cell, type Column } from '../format.js';

interface QueryOptions extends ConfigOptions {
  db?: string;
  tag?: string[];
  type?: string;
  since?: string;
  from?: string;
  to?: string;
  resolution?: string;
  maxPoints?: string;
  stat?: string;
  format?: string;
  json?: boolean;
  utc?: boolean;
}

const STATS = ['value', 'count', 'sum', 'min', 'max', 'avg', 'last', 'rate', 'uniques'] as const;

/** What a table shows of each type when no --stat is given. */
const DEFAULT_STATS: Readonly<Record<MetricType, readonly string[]>> = {
  counter: ['sum', 'rate'],
  timer: ['count', 'avg', 'min', 'max', 'p50', 'p90', 'p99'],
  gauge: ['last', 'avg', 'min', 'max'],
  set: ['uniques'],
};

export function queryCommand(): Command {
  const command = new Command('query')
    .description('read a series from the database: one row per time bucket, merged over its tag sets')
    .argument('<name>', 'metric name')
    .addOption(tagOption())
    .addOption(typeOption())
    .option('--since <duration>', 'range back from now: 90s, 15m, 3h, 2d, 1w (default 1h)')
    .option('--from <time>', 'range start: Unix seconds or ISO 8601 (wins over --since)')
    .option('--to <time>', 'range end: Unix seconds or ISO 8601 (default now)')
    .addOption(new Option('--resolution <resolution>', 'bucket size; auto picks the finest that fits --max-points').choices(['auto', ...Object.keys(RESOLUTIONS)]))
    .option('--max-points <n>', 'most buckets, 1 to 10000 (default 1000)')
    .option('--stat <stats>', `columns, comma-separated: ${STATS.join(', ')} or a percentile like p99.9 (default: by type)`);
  for (const option of formatOptions()) command.addOption(option);
  return command
    .addOption(dbOption())
    .addOption(configOption())
    .addHelpText(
      'after',
      '\nExamples:\n  dattss query api.latency --since 3h\n  dattss query hits --tag env:prod --from 2026-11-22T00:00Z --to 2026-11-23T00:00Z --resolution 1h --format csv\n  dattss query api.latency --stat p99.9 --json',
    )
    .action((name: string, options: QueryOptions) => {
      process.stdout.write(runQuery(name, options));
    });
}

function runQuery(name: string, options: QueryOptions): string {
  const format = chosenFormat(options);
  const stats = options.stat === undefined ? undefined : parseStats(options.stat);
  const db = openDatabase(options);
  try {
    const selector = resolveSelector(db, { name, type: options.type, tag: options.tag });
    const range = planRange({ since: options.since, from: options.from, to: options.to, resolution: options.resolution, maxPoints: options.maxPoints }, nowSec());
    const columns = (stats ?? DEFAULT_STATS[selector.type]).map((stat) => statColumn(stat, selector.type));
    const percentiles = columns.filter((column) => /^p\d/.test(column.key)).map((column) => column.key.slice(1));
    const { downsampled, ...query } = buildRangeQuery(selector, range, percentiles.length === 0 ? undefined : percentiles.join(','));
    const what = `reading ${name} at ${query.resolution}`;
    const status = statusLine(what);
    const result = queryRange(db, query, (rowsRead) => status.update(`${what}: ${formatNumber(rowsRead)} rows`));
    status.done();
    const step = RESOLUTIONS[result.resolution].seconds;
    const rows = result.points.map((point) => ({
      ts: point.ts,
      ...Object.fromEntries(columns.map((column) => [column.key, statOf(column.key, point, selector.type, step)])),
    }));
    const timeColumn: Column = { key: 'ts', header: 'time', kind: 'time' };
    return render(
      format,
      [timeColumn, ...columns],
      rows,
      () => ({
        name: selector.name,
        type: selector.type,
        ...(selector.matchTags === undefined ? {} : { tags: selector.matchTags }),
        resolution: result.resolution,
        downsampled,
        fromSec: result.fromSec,
        toSec: result.toSec,
        series: result.series,
        points: rows,
      }),
      { utc: options.utc === true },
    );
  } finally {
    db.close();
  }
}

function parseStats(text: string): string[] {
  const stats = text
    .split(',')
    .map((stat) => stat.trim())
    .filter((stat) => stat !== '');
  for (const stat of stats) {
    const known = (STATS as readonly string[]).includes(stat) || /^p(\d+(\.\d+)?)$/.test(stat);
    const percent = Number(stat.slice(1));
    if (!known || (stat.startsWith('p') && !(percent > 0 && percent <= 100))) {
      throw new DattssError('DATTSS_CLI_USAGE', `--stat: expected ${STATS.join(', ')} or a percentile like p99, got ${JSON.stringify(stat)}`);
    }
  }
  if (stats.length === 0) throw new DattssError('DATTSS_CLI_USAGE', '--stat: name at least one statistic');
  // `p050` and `p50` are the same column, keyed as the store keys percentiles.
  return stats.map((stat) => (stat.startsWith('p') ? `p${Number(stat.slice(1))}` : stat));
}

function statColumn(stat: string, type: MetricType): Column {
  const column: Column = { key: stat, header: stat, kind: 'number' };
  if (stat === 'rate') column.unit = '/s';
  // A timer's values are milliseconds; its count and rate are not.
  else if (type === 'timer' && stat !== 'count') column.unit = ' ms';
  return column;
}

function statOf(stat: string, point: Point, type: MetricType, stepSec: number): Cell {
  switch (stat) {
    case 'value':
      return point.value;
    case 'count':
      return point.count;
    case 'sum':
      return point.sum;
    case 'min':
      return point.min;
    case 'max':
      return point.max;
    case 'last':
      return point.last;
    case 'avg':
      if (type === 'timer') return point.value;
      return point.sum === null || point.count === 0 ? null : point.sum / point.count;
    case 'rate':
      // Counters: increments per second; other types: samples per second.
      return (type === 'counter' ? (point.sum ?? 0) : point.count) / stepSec;
    case 'uniques':
      return type === 'set' ? point.value : null;
    default:
      return point.percentiles[stat] ?? null;
  }
}
