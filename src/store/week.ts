import type { Database } from 'better-sqlite3';
import { DattssError } from '../errors.js';
import { matchSeries, readRows, valueOf, type SeriesSelector } from './queries.js';
import { fromRow, mergeStored, type StoredAggregate } from './stored-aggregate.js';

/**
 * DaTtSs's "today against the week": for each time-of-day bucket, today's
 * value beside the average of the same bucket over the previous 7 days, in a
 * given timezone. A day without data in a bucket is left out of its average,
 * not counted as zero. Counters use the bucket's sum; timers the mean of
 * their values; gauges the mean of the values they took; sets the unique
 * members of the bucket.
 */
export interface WeekQuery extends SeriesSelector {
  /** Now, Unix seconds; "today" is its date in `timeZone`. */
  nowSec: number;
  /** Bucket length in minutes: a divisor of 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60). */
  bucketMinutes: number;
  /** IANA timezone name, e.g. 'Europe/Paris'; default 'UTC'. */
  timeZone?: string;
}

export interface WeekBucket {
  /** Minutes since local midnight at the bucket start. */
  minuteOfDay: number;
  /** Local time of the bucket start, 'HH:MM'. */
  label: string;
  today: number | null;
  weekAverage: number | null;
  /** Previous days (0 to 7) that had data in this bucket. */
  daysWithData: number;
}

export interface WeekView {
  timeZone: string;
  /** Today's local date, 'YYYY-MM-DD'. */
  today: string;
  /** The 7 previous local dates averaged, newest first. */
  previousDays: string[];
  buckets: WeekBucket[];
}

const DAYS_AVERAGED = 7;

export function weekView(db: Database, query: WeekQuery): WeekView {
  const { bucketMinutes } = query;
  if (!Number.isInteger(bucketMinutes) || bucketMinutes < 1 || bucketMinutes > 60 || 60 % bucketMinutes !== 0) {
    throw new DattssError('DATTSS_QUERY_INVALID', `bucketMinutes must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60), got ${bucketMinutes}`);
  }
  const timeZone = query.timeZone ?? 'UTC';
  const local = localClock(timeZone);
  const today = local(query.nowSec).date;
  const previousDays = Array.from({ length: DAYS_AVERAGED }, (_, k) => shiftDate(today, -(k + 1)));
  const wanted = new Set([today, ...previousDays]);

  // Eight local days plus the widest UTC offset on either side.
  const fromSec = query.nowSec - (DAYS_AVERAGED + 2) * 86400;
  const perDayBucket = new Map<string, StoredAggregate>();
  for (const row of readRows(db, '1m', matchSeries(db, query), fromSec, query.nowSec + 60)) {
    const { date, minuteOfDay } = local(row.ts);
    if (!wanted.has(date)) continue;
    const key = `${date}/${Math.floor(minuteOfDay / bucketMinutes)}`;
    const aggregate = fromRow(query.type, row);
    const existing = perDayBucket.get(key);
    if (existing === undefined) perDayBucket.set(key, aggregate);
    else mergeStored(existing, aggregate);
  }

  const buckets: WeekBucket[] = [];
  for (let index = 0; index < (24 * 60) / bucketMinutes; index++) {
    const todayAggregate = perDayBucket.get(`${today}/${index}`);
    const past = previousDays.flatMap((date) => {
      const aggregate = perDayBucket.get(`${date}/${index}`);
      const value = aggregate === undefined ? null : bucketValue(aggregate);
      return value === null ? [] : [value];
    });
    const minuteOfDay = index * bucketMinutes;
    buckets.push({
      minuteOfDay,
      label: `${pad(Math.floor(minuteOfDay / 60))}:${pad(minuteOfDay % 60)}`,
      today: todayAggregate === undefined ? null : bucketValue(todayAggregate),
      weekAverage: past.length === 0 ? null : past.reduce((a, b) => a + b, 0) / past.length,
      daysWithData: past.length,
    });
  }
  return { timeZone, today, previousDays, buckets };
}

/** As the views' `value`, except that a gauge's bucket is the mean of its values, not the last one. */
function bucketValue(aggregate: StoredAggregate): number | null {
  if (aggregate.type !== 'gauge') return valueOf(aggregate);
  return aggregate.count === 0 || aggregate.sum === null ? null : aggregate.sum / aggregate.count;
}

/** Unix seconds → local date and minute of day in `timeZone`. */
function localClock(timeZone: string): (tsSec: number) => { date: string; minuteOfDay: number } {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
  } catch (cause) {
    throw new DattssError('DATTSS_QUERY_INVALID', `unknown timezone "${timeZone}" (use an IANA name such as Europe/Paris)`, { cause });
  }
  return (tsSec) => {
    const parts: Record<string, string> = {};
    for (const part of format.formatToParts(tsSec * 1000)) parts[part.type] = part.value;
    return { date: `${parts.year}-${parts.month}-${parts.day}`, minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute) };
  };
}

/** 'YYYY-MM-DD' moved by `days` calendar days. */
function shiftDate(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
