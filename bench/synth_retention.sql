-- Retention of dlr_events by batched DELETE (before sql/0015) vs by dropping a day's
-- partition (after), and the cost of migration 0015, on :rows synthetic history rows spread
-- evenly over :days days (stored in time order, as live traffic is). Run by
-- bench/synth-retention on an empty database; prints one line per measured step.
--
--   psql "$URL" -v rows=10000000 -v days=30 -v migration=sql/0015_dlr_events_by_day.sql -f bench/synth_retention.sql
\set ON_ERROR_STOP on
\pset footer off
SET TimeZone = 'UTC';

CREATE TABLE bench_step (step text, seconds numeric, wal_bytes numeric, rows_gone bigint);
CREATE TABLE bench_mark (t timestamptz, lsn pg_lsn);
-- A step's start and end: wall time and WAL written in between. A CHECKPOINT before each
-- start makes every step pay for its own full-page images.
CREATE PROCEDURE bench_start() LANGUAGE sql AS
  'TRUNCATE bench_mark; INSERT INTO bench_mark VALUES (clock_timestamp(), pg_current_wal_lsn())';
CREATE PROCEDURE bench_end(step text, gone bigint) LANGUAGE sql AS
  'INSERT INTO bench_step SELECT step, round(extract(epoch FROM clock_timestamp() - t)::numeric, 2),
          pg_current_wal_lsn() - lsn, gone FROM bench_mark';

-- The table as sql/0003 and sql/0008 made it.
CREATE TABLE dlr_events (
  id bigserial PRIMARY KEY,
  message_id text NOT NULL,
  status text NOT NULL,
  raw_status text,
  event_at timestamptz NOT NULL,
  event_time_from_gateway boolean NOT NULL DEFAULT false,
  received_at timestamptz,
  provider text NOT NULL DEFAULT '',
  recipient text,
  error_code text,
  parts int,
  cost numeric(12,5),
  stored_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT dlr_events_report_key UNIQUE (message_id, status, event_at, provider)
);
CREATE INDEX dlr_events_stored_at_brin ON dlr_events USING brin (stored_at);

-- Two reports per message (accepted, then final), 90% delivered, stored 1 s after the event,
-- evenly over :days whole UTC days that end at the last midnight.
SELECT date_trunc('day', now(), 'UTC') - :days * interval '1 day' AS first_day \gset
CREATE TABLE synth_rows AS
SELECT 'synth-' || lpad((i / 2)::text, 10, '0') AS message_id,
       CASE WHEN i % 2 = 0 THEN 'pending' WHEN i % 10 = 1 THEN 'undelivered' ELSE 'delivered' END AS status,
       CASE WHEN i % 2 = 0 THEN 'ACCEPTD' WHEN i % 10 = 1 THEN 'UNDELIV' ELSE 'DELIVRD' END AS raw_status,
       t AS event_at, true AS event_time_from_gateway, t + interval '500 ms' AS received_at, 'smspm' AS provider,
       '+4477009' || lpad((i % 100000)::text, 5, '0') AS recipient,
       CASE WHEN i % 10 = 1 THEN '27' END AS error_code, 1 AS parts, 0.045 AS cost, t + interval '1 s' AS stored_at
  FROM generate_series(1, :rows) i,
       LATERAL (SELECT :'first_day'::timestamptz + (i - 0.5) / :rows * (:days * interval '1 day') AS t) x;

CHECKPOINT;
CALL bench_start();
INSERT INTO dlr_events (message_id, status, raw_status, event_at, event_time_from_gateway, received_at, provider,
                        recipient, error_code, parts, cost, stored_at)
SELECT * FROM synth_rows ORDER BY stored_at;
CALL bench_end('fill the unpartitioned table', 0);
VACUUM ANALYZE dlr_events;

-- The oldest day by the retention job of before 0015: 10,000 rows per transaction, through
-- the BRIN index, until a batch comes back short; then the VACUUM that makes the space reusable.
CREATE PROCEDURE bench_delete_day(cutoff timestamptz, INOUT gone bigint) LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  gone := 0;
  LOOP
    WITH d AS (DELETE FROM dlr_events WHERE id IN (
      SELECT id FROM dlr_events WHERE stored_at < cutoff LIMIT 10000) RETURNING 1)
    SELECT count(*) INTO n FROM d;
    gone := gone + n;
    COMMIT;
    EXIT WHEN n < 10000;
  END LOOP;
END $$;
CHECKPOINT;
CALL bench_start();
CALL bench_delete_day(:'first_day'::timestamptz + interval '1 day', 0) \gset
CALL bench_end('DELETE the oldest day, 10,000 rows per transaction', :gone);
CHECKPOINT;
CALL bench_start();
VACUUM dlr_events;
CALL bench_end('VACUUM after the DELETE', 0);

-- Migration 0015 on this table: the rows stay in dlr_events_legacy.
SELECT count(*) AS legacy_rows FROM dlr_events \gset
CHECKPOINT;
CALL bench_start();
BEGIN;
\i :migration
COMMIT;
CALL bench_end('migration 0015 (rename, move, check, attach)', :legacy_rows);

-- The partitioned table with one partition per day, filled with the same rows.
ALTER TABLE dlr_events DETACH PARTITION dlr_events_legacy;
DROP TABLE dlr_events_legacy;
SELECT format('CREATE TABLE %I PARTITION OF dlr_events FOR VALUES FROM (%L) TO (%L)',
              'dlr_events_p' || to_char(d, 'YYYYMMDD'), d, d + interval '1 day')
  FROM generate_series(:'first_day'::timestamptz, now(), interval '1 day') d \gexec
CHECKPOINT;
CALL bench_start();
INSERT INTO dlr_events (message_id, status, raw_status, event_at, event_time_from_gateway, received_at, provider,
                        recipient, error_code, parts, cost, stored_at)
SELECT * FROM synth_rows ORDER BY stored_at;
CALL bench_end('fill the partitioned table', 0);
VACUUM ANALYZE dlr_events;

-- The oldest whole day, by the leader's statements (src/store/partitions.cpp).
SELECT c.relname AS oldest, (SELECT count(*) FROM dlr_events WHERE tableoid = c.oid) AS oldest_rows
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'dlr_events'::regclass AND c.relname LIKE 'dlr_events_p%' ORDER BY c.relname LIMIT 1 \gset
CHECKPOINT;
CALL bench_start();
BEGIN;
ALTER TABLE dlr_events DETACH PARTITION :"oldest";
DROP TABLE :"oldest";
COMMIT;
CALL bench_end('DETACH and DROP the oldest day', :oldest_rows);

SELECT step, seconds, pg_size_pretty(wal_bytes) AS wal, wal_bytes, rows_gone FROM bench_step;
SELECT pg_size_pretty(pg_total_relation_size('synth_rows')) AS synth_rows_size;
