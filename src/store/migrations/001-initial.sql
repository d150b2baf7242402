-- 001: series and their 1-minute aggregates, plus the metrics_1m read contract.
-- Every column is documented in docs/schema.md; change both in the same commit.

CREATE TABLE series (
  id          INTEGER PRIMARY KEY,
  type        TEXT    NOT NULL CHECK (type IN ('counter', 'timer', 'gauge', 'set')),
  name        TEXT    NOT NULL,
  tags        TEXT    NOT NULL DEFAULT '',
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  UNIQUE (type, name, tags)
);

CREATE INDEX series_name ON series (name);

CREATE TABLE minute_aggregates (
  series_id   INTEGER NOT NULL REFERENCES series (id),
  ts          INTEGER NOT NULL,
  count       REAL    NOT NULL,
  samples     INTEGER NOT NULL,
  sum         REAL,
  sum_squares REAL,
  min         REAL,
  max         REAL,
  last        REAL,
  last_at_ms  INTEGER,
  p50         REAL,
  p90         REAL,
  p95         REAL,
  p99         REAL,
  uniques     INTEGER,
  sketch      BLOB,
  members     TEXT,
  PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

CREATE INDEX minute_aggregates_ts ON minute_aggregates (ts);

CREATE VIEW metrics_1m AS
SELECT
  s.name,
  s.tags,
  s.type,
  m.ts,
  CASE s.type
    WHEN 'counter' THEN m.sum
    WHEN 'timer'   THEN m.sum / m.samples
    WHEN 'gauge'   THEN m.last
    WHEN 'set'     THEN m.uniques
  END AS value,
  m.count,
  m.sum,
  m.min,
  m.max,
  m.last,
  m.p50,
  m.p90,
  m.p95,
  m.p99
FROM minute_aggregates AS m
JOIN series AS s ON s.id = m.series_id;
