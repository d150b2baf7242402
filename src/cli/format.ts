import { Option } from 'commander';
import { DattssError } from '../errors.js';

/**
 * Rendering shared by every CLI command: one list of columns and rows gives
 * an aligned table for people, CSV for spreadsheets and JSON for scripts, so
 * the three never disagree about what a command prints.
 */

export type OutputFormat = 'table' | 'json' | 'csv';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'csv'];

export type Cell = string | number | null;
export type Row = Readonly<Record<string, Cell>>;

export interface Column {
  /** Key in each row, and the column name in CSV and JSON. */
  key: string;
  /** Heading in a table. */
  header: string;
  /** `time` cells are Unix seconds shown as ISO times; `number` cells are right-aligned. */
  kind: 'text' | 'number' | 'time';
  /** Appended to numbers in a table, e.g. ' ms' or '/s'; a function when it depends on the row's type. */
  unit?: string | ((row: Row) => string);
}

export interface RenderOptions {
  /** Times in UTC (`Z`) instead of the local offset. */
  utc: boolean;
}

/** The `--format` and `--json` options every data command takes. */
export function formatOptions(): Option[] {
  return [
    new Option('--format <format>', 'output format').choices(OUTPUT_FORMATS).default('table'),
    new Option('--json', 'the same as --format json'),
    new Option('--utc', 'show times in UTC instead of the local time zone'),
  ];
}

export function chosenFormat(options: { format?: string; json?: boolean }): OutputFormat {
  if (options.json === true) {
    if (options.format !== undefined && options.format !== 'table' && options.format !== 'json') {
      throw new DattssError('DATTSS_CLI_USAGE', `--json contradicts --format ${options.format}; give one of them`);
    }
    return 'json';
  }
  return (options.format ?? 'table') as OutputFormat;
}

export function renderTable(columns: readonly Column[], rows: readonly Row[], options: RenderOptions): string {
  const cells = rows.map((row) => columns.map((column) => tableCell(column, row, options)));
  const widths = columns.map((column, index) => Math.max(column.header.length, ...cells.map((line) => (line[index] as string).length)));
  const line = (texts: readonly string[]): string =>
    texts
      .map((text, index) => ((columns[index] as Column).kind === 'number' ? text.padStart(widths[index] as number) : text.padEnd(widths[index] as number)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.header)), ...cells.map(line)].join('\n') + '\n';
}

export function renderCsv(columns: readonly Column[], rows: readonly Row[], options: RenderOptions): string {
  const lines = [columns.map((column) => csvField(column.key))];
  for (const row of rows) {
    lines.push(
      columns.map((column) => {
        const value = row[column.key] ?? null;
        if (value === null) return '';
        return column.kind === 'time' && typeof value === 'number' ? formatTime(value, options.utc) : csvField(String(value));
      }),
    );
  }
  return lines.map((fields) => fields.join(',')).join('\n') + '\n';
}

export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function tableCell(column: Column, row: Row, options: RenderOptions): string {
  const value = row[column.key] ?? null;
  if (value === null || value === '') return column.kind === 'text' ? '' : '-';
  if (typeof value === 'string') return value;
  if (column.kind === 'time') return formatTime(value, options.utc);
  const unit = typeof column.unit === 'function' ? column.unit(row) : (column.unit ?? '');
  return `${formatNumber(value)}${unit}`;
}

/** RFC 4180: quote a field holding a comma, a quote or a line break. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const numberFormats = new Map<number, Intl.NumberFormat>();

/**
 * Digit grouping and as many decimals as the magnitude deserves: 1,234,567,
 * 153.2, 12.35, 0.0123. A fixed locale keeps output the same on every machine.
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  const decimals = Number.isInteger(value) || magnitude >= 1000 ? 0 : magnitude >= 100 ? 1 : magnitude >= 1 ? 2 : 4;
  let format = numberFormats.get(decimals);
  if (format === undefined) {
    format = new Intl.NumberFormat('en-US', { maximumFractionDigits: decimals });
    numberFormats.set(decimals, format);
  }
  return format.format(value);
}

/** ISO 8601 to the second: `2026-01-05T10:20:00Z` in UTC, else with the local offset (`+01:00`). */
export function formatTime(tsSec: number, utc: boolean): string {
  const date = new Date(tsSec * 1000);
  if (utc) return `${date.toISOString().slice(0, 19)}Z`;
  const offsetMin = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMin * 60_000).toISOString().slice(0, 19);
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** A table, CSV or JSON document on stdout. */
export function render(format: OutputFormat, columns: readonly Column[], rows: readonly Row[], json: () => unknown, options: RenderOptions): string {
  switch (format) {
    case 'table':
      return renderTable(columns, rows, options);
    case 'csv':
      return renderCsv(columns, rows, options);
    case 'json':
      return renderJson(json());
  }
}
