-- dlr_events partitioned by day of event_at, so retention drops whole days instead of
-- deleting rows (docs/partitioning.md). The leader creates the daily partitions ahead
-- (src/store/partitions.cpp); this migration only changes the table's shape.
--
-- Why event_at: the dedup key (message_id, status, event_at, provider) must hold across
-- partitions, and PostgreSQL enforces a unique key on a partitioned table only when the key
-- contains the partition key. event_at is part of it, so a duplicate or a replay lands in
-- the same partition as its first copy and ON CONFLICT still sees it. received_at and
-- stored_at differ between a gateway's two deliveries of one report.
--
-- Today's rows stay where they are: the old table becomes the partition
-- dlr_events_legacy for every event_at before tomorrow (UTC), and is dropped whole once all
-- of that range is past retention. Rows dated later (a gateway clock ahead) move to the
-- default partition first. Cost: the old table is scanned twice (the move and the range
-- check) under the ACCESS EXCLUSIVE lock the rename takes; writers wait, dlrd keeps acking
-- into its spool meanwhile (measured in docs/partitioning.md).
ALTER TABLE dlr_events RENAME TO dlr_events_legacy;
ALTER TABLE dlr_events_legacy RENAME CONSTRAINT dlr_events_report_key TO dlr_events_legacy_report_key;
ALTER TABLE dlr_events_legacy RENAME CONSTRAINT dlr_events_pkey TO dlr_events_legacy_pkey;
ALTER INDEX dlr_events_stored_at_brin RENAME TO dlr_events_legacy_stored_at_brin;

-- The same columns in the same order. No primary key on id: nothing looks rows up by id
-- (retention did; it drops partitions now), and one index less is cheaper to write.
CREATE TABLE dlr_events (
  id bigint NOT NULL DEFAULT nextval('dlr_events_id_seq'),
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
  -- Duplicates and replays of the same report add nothing, across partitions too.
  CONSTRAINT dlr_events_report_key UNIQUE (message_id, status, event_at, provider)
) PARTITION BY RANGE (event_at);
ALTER SEQUENCE dlr_events_id_seq OWNED BY dlr_events.id;
-- Rate rules count by stored_at (sql/0008's reason holds within each partition).
CREATE INDEX dlr_events_stored_at_brin ON dlr_events USING brin (stored_at);
-- Reports dated where no daily partition exists (before the oldest, after the newest) land
-- here, so a write never fails for want of a partition; the leader moves a day's rows out
-- when it creates that day, and trims the rest by stored_at.
CREATE TABLE dlr_events_default PARTITION OF dlr_events DEFAULT;

DO $$
DECLARE
  upto timestamptz := date_trunc('day', now(), 'UTC') + interval '1 day';
BEGIN
  IF NOT EXISTS (SELECT 1 FROM dlr_events_legacy) THEN
    DROP TABLE dlr_events_legacy;
    RETURN;
  END IF;
  WITH moved AS (DELETE FROM dlr_events_legacy WHERE event_at >= upto RETURNING *)
  INSERT INTO dlr_events_default SELECT * FROM moved;
  -- A valid CHECK spares ATTACH its own scan of the old table.
  EXECUTE format('ALTER TABLE dlr_events_legacy ADD CONSTRAINT dlr_events_legacy_range CHECK (event_at < %L)', upto);
  EXECUTE format('ALTER TABLE dlr_events ATTACH PARTITION dlr_events_legacy FOR VALUES FROM (MINVALUE) TO (%L)', upto);
END $$;
