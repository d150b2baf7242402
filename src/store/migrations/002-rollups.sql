-- 002: hourly and daily rollups, their views, and the backlog of minutes to roll up.
-- Every column is documented in docs/schema.md; change both in the same commit.

CREATE TABLE hour_aggregates (
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
  PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

CREATE INDEX hour_aggregates_ts ON hour_aggregates (ts);

CREATE TABLE day_aggregates (
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
  PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

CREATE INDEX day_aggregates_ts ON day_aggregates (ts);

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

-- Minute rows written before rollups existed; the store rolls them up at start-up.
CREATE TABLE rollup_backlog (
  series_id INTEGER NOT NULL,
  ts        INTEGER NOT NULL,
  PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

INSERT INTO rollup_backlog (series_id, ts) SELECT series_id, ts FROM minute_aggregates;
