-- 005: the open hour's minute rows in a table of their own, keyed by time first.
-- minute_aggregates is keyed by series: once a series has an hour or two of rows they
-- fill pages of their own, and a minute of 100k series dirtied 100k pages. New minute
-- rows go to recent_minute_aggregates instead, where a minute's rows are neighbours;
-- once their hour has closed the store moves them into minute_aggregates a slice of
-- series at a time, each series' hour at once (SqliteStore.settle). A minute row is
-- in exactly one of the two tables; metrics_1m reads both.
-- minute_settle.settled_before: minutes before it may be in minute_aggregates, later
-- ones never are. It starts past every minute already written.
-- Every column is documented in docs/schema.md; change both in the same commit.

CREATE TABLE recent_minute_aggregates (
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
  PRIMARY KEY (ts, series_id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX recent_minute_aggregates_series ON recent_minute_aggregates (series_id, ts);

CREATE TABLE minute_settle (
  settled_before INTEGER NOT NULL
);

INSERT INTO minute_settle (settled_before) SELECT coalesce(max(ts) + 60, 0) FROM minute_aggregates;

-- Two joins under UNION ALL, not a join over a union: SQLite flattens the view into a
-- query on it, so each arm keeps its index.
DROP VIEW metrics_1m;
CREATE VIEW metrics_1m AS
SELECT
  s.name, s.tags, s.type, m.ts,
  CASE s.type
    WHEN 'counter' THEN m.sum
    WHEN 'timer'   THEN m.sum / m.samples
    WHEN 'gauge'   THEN m.last
    WHEN 'set'     THEN m.uniques
  END AS value,
  m.count, m.sum, m.min, m.max, m.last, m.p50, m.p90, m.p95, m.p99
FROM minute_aggregates AS m
JOIN series AS s ON s.id = m.series_id
UNION ALL
SELECT
  s.name, s.tags, s.type, m.ts,
  CASE s.type
    WHEN 'counter' THEN m.sum
    WHEN 'timer'   THEN m.sum / m.samples
    WHEN 'gauge'   THEN m.last
    WHEN 'set'     THEN m.uniques
  END AS value,
  m.count, m.sum, m.min, m.max, m.last, m.p50, m.p90, m.p95, m.p99
FROM recent_minute_aggregates AS m
JOIN series AS s ON s.id = m.series_id;
