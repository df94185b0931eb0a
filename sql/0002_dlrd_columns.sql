-- Adapts sms_logs (created by 0001 or adopted from an application) to what dlrd stores,
-- and adds the status rank functions that mirror include/dlrd/report/report.hpp.

-- Duplicates the UNIQUE constraint's own index and only slows every write.
DROP INDEX IF EXISTS idx_sms_logs_message_id;

-- A report can beat the sender's INSERT, and some gateways send no recipient.
ALTER TABLE sms_logs ALTER COLUMN recipient DROP NOT NULL;
-- A row created by a report has no send time.
ALTER TABLE sms_logs ALTER COLUMN sent_at DROP NOT NULL;

DO $$
DECLARE
  c record;
BEGIN
  -- Widening a varchar is a catalog-only change; never narrow what an application chose.
  FOR c IN
    SELECT column_name, wanted
      FROM (VALUES ('message_id', 128), ('recipient', 32)) AS w(column_name, wanted)
      JOIN information_schema.columns i USING (column_name)
     WHERE i.table_schema = current_schema() AND i.table_name = 'sms_logs'
       AND i.data_type = 'character varying'
       AND i.character_maximum_length IS NOT NULL AND i.character_maximum_length < w.wanted
  LOOP
    EXECUTE format('ALTER TABLE sms_logs ALTER COLUMN %I TYPE varchar(%s)', c.column_name, c.wanted);
  END LOOP;

  -- Naive timestamps written by the seed's NOW() are UTC on a UTC server; dlrd compares instants.
  FOR c IN
    SELECT column_name
      FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = 'sms_logs'
       AND column_name IN ('sent_at', 'delivered_at', 'updated_at')
       AND data_type = 'timestamp without time zone'
  LOOP
    EXECUTE format('ALTER TABLE sms_logs ALTER COLUMN %1$I TYPE timestamptz USING %1$I AT TIME ZONE ''UTC''',
                   c.column_name);
  END LOOP;
END
$$;

ALTER TABLE sms_logs
  ADD COLUMN IF NOT EXISTS sender text,
  ADD COLUMN IF NOT EXISTS raw_status text,
  ADD COLUMN IF NOT EXISTS status_at timestamptz,
  ADD COLUMN IF NOT EXISTS provider text,
  ADD COLUMN IF NOT EXISTS country char(2),
  ADD COLUMN IF NOT EXISTS parts int,
  ADD COLUMN IF NOT EXISTS cost numeric(12,5),
  ADD COLUMN IF NOT EXISTS created_at timestamptz DEFAULT now();

-- Free space on each page lets a status update stay on the page (HOT) instead of moving the row.
ALTER TABLE sms_logs SET (fillfactor = 80);

-- Class rank: pending-like 0 < failed finals 1 < delivered 2.
CREATE OR REPLACE FUNCTION dlr_status_class(status text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE status
           WHEN 'delivered' THEN 2
           WHEN 'expired' THEN 1
           WHEN 'undelivered' THEN 1
           WHEN 'rejected' THEN 1
           ELSE 0
         END
$$;

-- The fixed status order, the last tie-break after class and event time.
CREATE OR REPLACE FUNCTION dlr_status_ordinal(status text) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE status
           WHEN 'delivered' THEN 4
           WHEN 'rejected' THEN 3
           WHEN 'undelivered' THEN 2
           WHEN 'expired' THEN 1
           ELSE 0
         END
$$;
