-- 004: hour and day rows keyed by time first, (ts, series_id), and indexed by series.
-- Every minute rewrites each live series' open hour and day row. Keyed by series,
-- those rows lie one to a page once a series has a few days of history, so a
-- minute of 100k series dirtied 100k pages of each table; keyed by time, the
-- open rows are neighbours and fill a few thousand pages. Reads by series use
-- the unique (series_id, ts) index. The tables are rebuilt; the views, which
-- name them, are dropped first and made again unchanged.
-- Every column is documented in docs/schema.md; change both in the same commit.

DROP VIEW metrics_1h;
DROP VIEW metrics_1d;

CREATE TABLE hour_aggregates_by_time (
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
  hll         BLOB,
  PRIMARY KEY (ts, series_id)
) WITHOUT ROWID;

INSERT INTO hour_aggregates_by_time SELECT * FROM hour_aggregates ORDER BY ts, series_id;
DROP TABLE hour_aggregates;
ALTER TABLE hour_aggregates_by_time RENAME TO hour_aggregates;
CREATE UNIQUE INDEX hour_aggregates_series ON hour_aggregates (series_id, ts);

CREATE VIEW metrics_1h AS
SELECT
  s.name, s.tags, s.type, h.ts,
  CASE s.type
    WHEN 'counter' THEN h.sum
    WHEN 'timer'   THEN h.sum / h.samples
    WHEN 'gauge'   THEN h.last
    WHEN 'set'     THEN h.uniques
  END AS value,
  h.count, h.sum, h.min, h.max, h.last, h.p50, h.p90, h.p95, h.p99
FROM hour_aggregates AS h
JOIN series AS s ON s.id = h.series_id;

CREATE TABLE day_aggregates_by_time (
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
  hll         BLOB,
  PRIMARY KEY (ts, series_id)
) WITHOUT ROWID;

INSERT INTO day_aggregates_by_time SELECT * FROM day_aggregates ORDER BY ts, series_id;
DROP TABLE day_aggregates;
ALTER TABLE day_aggregates_by_time RENAME TO day_aggregates;
CREATE UNIQUE INDEX day_aggregates_series ON day_aggregates (series_id, ts);

CREATE VIEW metrics_1d AS
SELECT
  s.name, s.tags, s.type, d.ts,
  CASE s.type
    WHEN 'counter' THEN d.sum
    WHEN 'timer'   THEN d.sum / d.samples
    WHEN 'gauge'   THEN d.last
    WHEN 'set'     THEN d.uniques
  END AS value,
  d.count, d.sum, d.min, d.max, d.last, d.p50, d.p90, d.p95, d.p99
FROM day_aggregates AS d
JOIN series AS s ON s.id = d.series_id;
