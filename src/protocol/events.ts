/**
 * DogStatsD events and service checks, as parsed from the wire and stored in
 * their own tables (docs/schema.md). Strings are as sent; absent optional
 * fields are null.
 */
export type EventPriority = 'normal' | 'low';
export type EventAlertType = 'error' | 'warning' | 'info' | 'success';

export interface DogEvent {
  /** `d:` when sent, else the time the daemon received it; Unix seconds. */
  tsSec: number;
  title: string;
  text: string;
  hostname: string | null;
  aggregationKey: string | null;
  priority: EventPriority;
  sourceType: string | null;
  alertType: EventAlertType;
  /** Canonical tags, '' when none. */
  tags: string;
}

/** 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
export type ServiceCheckStatus = 0 | 1 | 2 | 3;

export interface ServiceCheck {
  tsSec: number;
  name: string;
  status: ServiceCheckStatus;
  hostname: string | null;
  message: string | null;
  tags: string;
}
