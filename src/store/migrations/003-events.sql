-- 003: DogStatsD events and service checks.
-- Every column is documented in docs/schema.md; change both in the same commit.

CREATE TABLE events (
  id              INTEGER PRIMARY KEY,
  ts              INTEGER NOT NULL,
  title           TEXT    NOT NULL,
  text            TEXT    NOT NULL,
  hostname        TEXT,
  aggregation_key TEXT,
  priority        TEXT    NOT NULL CHECK (priority IN ('normal', 'low')),
  source_type     TEXT,
  alert_type      TEXT    NOT NULL CHECK (alert_type IN ('error', 'warning', 'info', 'success')),
  tags            TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX events_ts ON events (ts);

CREATE TABLE service_checks (
  id       INTEGER PRIMARY KEY,
  ts       INTEGER NOT NULL,
  name     TEXT    NOT NULL,
  status   INTEGER NOT NULL CHECK (status BETWEEN 0 AND 3),
  hostname TEXT,
  message  TEXT,
  tags     TEXT    NOT NULL DEFAULT ''
);

CREATE INDEX service_checks_name_ts ON service_checks (name, ts);
CREATE INDEX service_checks_ts ON service_checks (ts);
