import { Command } from 'commander';
import type { LiveSeries } from '../../aggregate/moving-average.js';
import { parseLimit } from '../../api/read-params.js';
import { DattssError, ERROR_CODES, type ErrorCode } from '../../errors.js';
import type { MetricType } from '../../protocol/metric-type.js';
import { cliConfig, configOption, type ConfigOptions } from '../context.js';
import { chosenFormat, formatOptions, formatTime, render, type Cell, type Column, type Row } from '../format.js';

interface LiveOptions extends ConfigOptions {
  url?: string;
  httpHost?: string;
  httpPort?: string;
  token?: string;
  type?: string;
  limit?: string;
  interval?: string;
  once?: boolean;
  format?: string;
  json?: boolean;
  utc?: boolean;
}

interface LiveResponse {
  nowMs: number;
  truncated: boolean;
  series: LiveSeries[];
}

/** A timer's values are milliseconds; a counter's average is a rate. */
const msForTimers = (row: Row): string => (row.type === 'timer' ? ' ms' : '');

const COLUMNS: readonly Column[] = [
  { key: 'name', header: 'name', kind: 'text' },
  { key: 'type', header: 'type', kind: 'text' },
  { key: 'tags', header: 'tags', kind: 'text' },
  { key: 'current', header: 'now (5 s)', kind: 'number', unit: msForTimers },
  { key: 'average', header: '1 min avg', kind: 'number', unit: (row) => (row.type === 'counter' ? '/s' : msForTimers(row)) },
  { key: 'p99', header: 'p99', kind: 'number', unit: ' ms' },
  { key: 'min', header: 'min', kind: 'number', unit: msForTimers },
  { key: 'max', header: 'max', kind: 'number', unit: msForTimers },
  { key: 'count', header: 'count (1 min)', kind: 'number' },
];

/** `interrupted` is how main.ts stops a refreshing view on Ctrl-C: only main.ts handles signals. */
export function liveCommand(interrupted: () => AbortSignal): Command {
  const command = new Command('live')
    .description("the running daemon's current values and 1-minute moving averages, from its HTTP API")
    .argument('[glob]', 'a glob (api.*) or a case-insensitive substring of the name')
    .option('--url <url>', 'the daemon\'s HTTP address (default: http://<http-host>:<http-port>)')
    .option('--http-host <host>', "the daemon's HTTP host (env: DATTSS_HTTP_HOST; default: the config's, 127.0.0.1)")
    .option('--http-port <n>', "the daemon's HTTP port (env: DATTSS_HTTP_PORT; default: the config's, 8127)")
    .option('--token <token>', 'sent as Authorization: Bearer (env: DATTSS_TOKEN)')
    .option('--type <type>', 'only counter, timer, gauge or set')
    .option('--limit <n>', 'most series shown, 1 to 1000 (default 100)')
    .option('--interval <seconds>', 'seconds between refreshes on a terminal (default 5)')
    .option('--once', 'print one snapshot and exit (always so when stdout is not a terminal)');
  for (const option of formatOptions()) command.addOption(option);
  return command
    .addOption(configOption())
    .addHelpText('after', "\nExamples:\n  dattss live\n  dattss live 'api.*' --interval 1\n  dattss live --once --json --http-port 8127 --token $DATTSS_TOKEN")
    .action(async (glob: string | undefined, options: LiveOptions) => {
      const format = chosenFormat(options);
      const intervalSec = parseLimit(options.interval, 5, 3600, '--interval');
      const request = liveRequest(glob, options);
      const show = async (): Promise<{ text: string; nowMs: number; truncated: boolean }> => {
        const snapshot = await fetchLive(request);
        const text = render(format, COLUMNS, snapshot.series.map(liveRow), () => snapshot, { utc: options.utc === true });
        return { text, nowMs: snapshot.nowMs, truncated: snapshot.truncated };
      };
      if (options.once === true || process.stdout.isTTY !== true) {
        const { text, truncated } = await show();
        process.stdout.write(text);
        if (truncated && format !== 'json') process.stderr.write('dattss: more series match; raise --limit or narrow the glob\n');
        return;
      }
      const abort = interrupted();
      while (!abort.aborted) {
        const { text, nowMs, truncated } = await show();
        const at = formatTime(Math.floor(nowMs / 1000), options.utc === true);
        const more = truncated ? '  (more series match: raise --limit)' : '';
        // Home and clear, then the whole view: redrawn in place like top.
        process.stdout.write(`\x1b[H\x1b[2Jdattss live${glob === undefined ? '' : ` ${glob}`}  ${at}  every ${intervalSec} s, Ctrl-C to stop${more}\n\n${text}`);
        await pause(intervalSec * 1000, abort);
      }
    });
}

interface LiveRequest {
  url: URL;
  headers: Record<string, string>;
}

function liveRequest(glob: string | undefined, options: LiveOptions): LiveRequest {
  // The flags say where to connect, not what the daemon exposes, so they stay out of the config
  // and its checks (a remote --http-host without a token is the daemon's business, not ours).
  const config = cliConfig(options, {});
  const host = options.httpHost ?? config.httpHost;
  const port = options.httpPort === undefined ? config.httpPort : parseLimit(options.httpPort, 0, 65535, '--http-port');
  const token = options.token ?? config.token;
  let base: URL;
  try {
    base = new URL(options.url ?? `http://${hostForUrl(host)}:${port}`);
  } catch {
    throw new DattssError('DATTSS_CLI_USAGE', `--url: expected an address like http://127.0.0.1:8127, got ${JSON.stringify(options.url)}`);
  }
  const url = new URL('/api/live', base);
  if (glob !== undefined) url.searchParams.set('search', glob);
  if (options.type !== undefined) url.searchParams.set('type', options.type);
  if (options.limit !== undefined) url.searchParams.set('limit', options.limit);
  return { url, headers: token === '' ? {} : { authorization: `Bearer ${token}` } };
}

/** A daemon bound to every address is reached on loopback; IPv6 literals need brackets in a URL. */
function hostForUrl(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

async function fetchLive(request: LiveRequest): Promise<LiveResponse> {
  let response: Response;
  try {
    response = await fetch(request.url, { headers: request.headers });
  } catch (cause) {
    const reason = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
    throw new DattssError('DATTSS_DAEMON_UNREACHABLE', `cannot reach the daemon at ${request.url.origin} (${reason}) — is it running with its HTTP API on?`, { cause });
  }
  const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!response.ok) {
    const code = body?.error?.code;
    const known = code !== undefined && code in ERROR_CODES ? (code as ErrorCode) : 'DATTSS_DAEMON_UNREACHABLE';
    throw new DattssError(known, `the daemon at ${request.url.origin} answered ${response.status}: ${body?.error?.message ?? response.statusText}`);
  }
  return body as unknown as LiveResponse;
}

function liveRow(series: LiveSeries): Record<string, Cell> {
  const average = series.movingAverage;
  return {
    name: series.name,
    type: series.type,
    tags: series.tags,
    current: series.current,
    average: averageOf(series.type, average),
    p99: average.p99,
    min: average.min,
    max: average.max,
    count: average.count,
  };
}

/** The moving average DaTtSs showed: a counter's rate, a timer's or gauge's mean, a set's uniques. */
function averageOf(type: MetricType, average: LiveSeries['movingAverage']): number | null {
  switch (type) {
    case 'counter':
      return average.ratePerSec;
    case 'timer':
    case 'gauge':
      return average.mean;
    case 'set':
      return average.uniques;
  }
}

function pause(ms: number, abort: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    abort.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      abort.removeEventListener('abort', done);
      resolve();
    }
  });
}
