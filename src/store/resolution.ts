/** The stored resolutions: bucket length and table. Buckets are aligned to UTC. */
export type Resolution = '1m' | '1h' | '1d';

export const RESOLUTIONS: Readonly<Record<Resolution, { seconds: number; table: string; view: string }>> = {
  '1m': { seconds: 60, table: 'minute_aggregates', view: 'metrics_1m' },
  '1h': { seconds: 3600, table: 'hour_aggregates', view: 'metrics_1h' },
  '1d': { seconds: 86400, table: 'day_aggregates', view: 'metrics_1d' },
};

/** The open hour's minute rows, until they are settled into the 1m table (migration 005). */
export const RECENT_MINUTES_TABLE = 'recent_minute_aggregates';

export const RESOLUTION_NAMES = Object.keys(RESOLUTIONS) as Resolution[];

/** Start (Unix seconds) of the bucket containing `tsSec`. */
export function bucketStart(resolution: Resolution, tsSec: number): number {
  const seconds = RESOLUTIONS[resolution].seconds;
  return Math.floor(tsSec / seconds) * seconds;
}
