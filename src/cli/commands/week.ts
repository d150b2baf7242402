import { Command } from 'commander';
import { parseInstantSec, parseLimit, resolveSelector } from '../../api/read-params.js';
import { weekView } from '../../store/week.js';
import { configOption, dbOption, nowSec, openDatabase, statusLine, tagOption, typeOption, type ConfigOptions } from '../context.js';
import { chosenFormat, formatOptions, render, type Column } from '../format.js';

interface WeekOptions extends ConfigOptions {
  db?: string;
  tag?: string[];
  type?: string;
  bucket?: string;
  tz?: string;
  at?: string;
  format?: string;
  json?: boolean;
  utc?: boolean;
}

export function weekCommand(): Command {
  const command = new Command('week')
    .description("today against the previous 7 days' average, per time-of-day bucket (as /api/week)")
    .argument('<name>', 'metric name')
    .addOption(tagOption())
    .addOption(typeOption())
    .option('--bucket <minutes>', 'bucket length in minutes, a divisor of 60 (default 60)')
    .option('--tz <zone>', 'IANA time zone of the days and buckets (default: the local zone; UTC with --utc)')
    .option('--at <time>', 'the view as it was at this instant, Unix seconds or ISO 8601 (default: now)');
  for (const option of formatOptions()) command.addOption(option);
  return command
    .addOption(dbOption())
    .addOption(configOption())
    .addHelpText('after', '\nExamples:\n  dattss week hits\n  dattss week api.latency --bucket 15 --tz Europe/Paris --format csv\n  dattss week hits --at 2026-11-20T18:00:00Z')
    .action((name: string, options: WeekOptions) => {
      const format = chosenFormat(options);
      const bucketMinutes = parseLimit(options.bucket, 60, 60, 'bucket');
      const atSec = options.at === undefined ? nowSec() : parseInstantSec(options.at, 'at');
      const timeZone = options.tz ?? (options.utc === true ? 'UTC' : Intl.DateTimeFormat().resolvedOptions().timeZone);
      const db = openDatabase(options);
      try {
        const selector = resolveSelector(db, { name, type: options.type, tag: options.tag });
        const status = statusLine(`reading 8 days of ${name}`);
        const view = weekView(db, { ...selector, nowSec: atSec, bucketMinutes, timeZone });
        status.done();
        const unit = selector.type === 'timer' ? ' ms' : '';
        const columns: Column[] = [
          { key: 'label', header: 'time', kind: 'text' },
          { key: 'today', header: `today ${view.today}`, kind: 'number', unit },
          { key: 'weekAverage', header: 'week average', kind: 'number', unit },
          { key: 'change', header: 'change', kind: 'number', unit: '%' },
          { key: 'daysWithData', header: 'days', kind: 'number' },
        ];
        const rows = view.buckets.map((bucket) => ({ ...bucket, change: changePercent(bucket.today, bucket.weekAverage) }));
        process.stdout.write(render(format, columns, rows, () => ({ name: selector.name, type: selector.type, ...view, buckets: rows }), { utc: options.utc === true }));
      } finally {
        db.close();
      }
    });
}

/** Today relative to the week's average, in percent; none when either is missing or the average is 0. */
function changePercent(today: number | null, average: number | null): number | null {
  if (today === null || average === null || average === 0) return null;
  return ((today - average) / average) * 100;
}
