import { Command } from 'commander';
import { parseLimit, parseMetricType } from '../../api/read-params.js';
import { listSeries } from '../../store/series-list.js';
import { configOption, dbOption, openDatabase, type ConfigOptions } from '../context.js';
import { chosenFormat, formatOptions, render, type Column } from '../format.js';

interface SeriesOptions extends ConfigOptions {
  db?: string;
  type?: string;
  limit?: string;
  format?: string;
  json?: boolean;
  utc?: boolean;
}

const LIMIT_DEFAULT = 100;
const LIMIT_MAX = 100_000;

const COLUMNS: readonly Column[] = [
  { key: 'name', header: 'name', kind: 'text' },
  { key: 'type', header: 'type', kind: 'text' },
  { key: 'tags', header: 'tags', kind: 'text' },
  { key: 'firstSeen', header: 'first seen', kind: 'time' },
  { key: 'lastSeen', header: 'last seen', kind: 'time' },
];

export function seriesCommand(): Command {
  const command = new Command('series')
    .description('list the stored series, most recently seen first')
    .argument('[glob]', 'a glob (api.*, *.latency, ? for one character) or, without * or ?, a case-insensitive substring of the name')
    .option('--type <type>', 'only counter, timer, gauge or set')
    .option('--limit <n>', `most series listed, 1 to ${LIMIT_MAX} (default ${LIMIT_DEFAULT})`);
  for (const option of formatOptions()) command.addOption(option);
  return command
    .addOption(dbOption())
    .addOption(configOption())
    .addHelpText('after', "\nExamples:\n  dattss series\n  dattss series 'api.*' --type timer\n  dattss series latency --format csv")
    .action((glob: string | undefined, options: SeriesOptions) => {
      const format = chosenFormat(options);
      const limit = parseLimit(options.limit, LIMIT_DEFAULT, LIMIT_MAX);
      const type = options.type === undefined ? undefined : parseMetricType(options.type);
      const db = openDatabase(options);
      try {
        const listing = listSeries(db, { limit, ...(glob === undefined ? {} : { search: glob }), ...(type === undefined ? {} : { type }) });
        process.stdout.write(render(format, COLUMNS, listing.series.map((series) => ({ ...series })), () => listing, { utc: options.utc === true }));
        if (listing.truncated && format !== 'json') {
          process.stderr.write(`dattss: showing ${listing.series.length} of ${listing.total} series; raise --limit to see more\n`);
        }
      } finally {
        db.close();
      }
    });
}
