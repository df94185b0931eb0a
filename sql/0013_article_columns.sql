-- sms_logs under the seed article's own names and types ("What to Store"), so its readers'
-- applications and dashboard queries work unchanged: recipient -> to_number, sender ->
-- from_number, message -> text_preview, country -> country_code, cost -> cost_eur, and a UUID
-- id. Data is kept. An application's table that already had the article's names was brought
-- under the old names at the start of this same transaction (store/migrations.cpp, adoption),
-- so on that path these renames give its columns back and change nothing it wrote.
--
-- The failure-notice marker becomes a per-statement value (a sequence), not the transaction
-- id: one transaction writing several statements (a batch retried record by record under
-- savepoints, or the parts' statement after the messages' one) noticed the same message each
-- time, because every statement compared the marker with the same txid_current().

ALTER TABLE sms_logs RENAME COLUMN recipient TO to_number;
ALTER TABLE sms_logs RENAME COLUMN sender TO from_number;
ALTER TABLE sms_logs RENAME COLUMN message TO text_preview;
ALTER TABLE sms_logs RENAME COLUMN country TO country_code;
ALTER TABLE sms_logs RENAME COLUMN cost TO cost_eur;
ALTER TABLE sms_logs RENAME COLUMN failure_notice_txid TO failure_notice_mark;

-- A report can arrive before the send is logged, and SMPP receipts carry no numbers: the
-- table must never refuse a report (the article's NOT NULL on both numbers is dropped).
ALTER TABLE sms_logs ALTER COLUMN to_number DROP NOT NULL;
ALTER TABLE sms_logs ALTER COLUMN from_number DROP NOT NULL;

DO $$
DECLARE
  c record;
  too_big bigint;
BEGIN
  -- The article's types. varchar -> text and char -> text are catalog changes (char drops its
  -- padding); a column that already has the type is left alone.
  FOR c IN
    SELECT i.column_name, w.wanted
      FROM (VALUES ('message_id', 'text'), ('to_number', 'text'), ('from_number', 'text'),
                   ('text_preview', 'text'), ('status', 'text'), ('error_code', 'text'),
                   ('country_code', 'text'), ('parts', 'integer')) AS w(column_name, wanted)
      JOIN information_schema.columns i USING (column_name)
     WHERE i.table_schema = current_schema() AND i.table_name = 'sms_logs'
       AND i.data_type <> w.wanted
  LOOP
    EXECUTE format('ALTER TABLE sms_logs ALTER COLUMN %1$I TYPE %2$s USING %1$I::%2$s', c.column_name, c.wanted);
  END LOOP;

  -- cost_eur is NUMERIC(10,6): below 10,000 EUR per message. A value that does not fit stops
  -- the migration with a count rather than being rounded away.
  IF (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
       WHERE attrelid = 'sms_logs'::regclass AND attname = 'cost_eur') <> 'numeric(10,6)' THEN
    EXECUTE 'SELECT count(*) FROM sms_logs WHERE abs(cost_eur) >= 10000' INTO too_big;
    IF too_big > 0 THEN
      RAISE EXCEPTION 'sms_logs has % row(s) with cost_eur >= 10000, which NUMERIC(10,6) cannot hold; '
                      'fix or clear them, then run dlrd migrate again', too_big;
    END IF;
    ALTER TABLE sms_logs ALTER COLUMN cost_eur TYPE numeric(10,6);
  END IF;

  -- The integer id of a table dlrd created becomes a UUID that keeps the old number readable
  -- (00000000-0000-0000-0000-<id in hex>); an adopted table's UUIDs are kept as they are.
  IF (SELECT atttypid FROM pg_attribute WHERE attrelid = 'sms_logs'::regclass AND attname = 'id')
     <> 'uuid'::regtype THEN
    ALTER TABLE sms_logs ALTER COLUMN id DROP DEFAULT;
    ALTER TABLE sms_logs ALTER COLUMN id TYPE uuid
      USING ('00000000-0000-0000-0000-' || lpad(to_hex(id), 12, '0'))::uuid;
    DROP SEQUENCE IF EXISTS sms_logs_id_seq;
  END IF;
  ALTER TABLE sms_logs ALTER COLUMN id SET DEFAULT gen_random_uuid();

  -- The article's defaults.
  ALTER TABLE sms_logs ALTER COLUMN parts SET DEFAULT 1;
  ALTER TABLE sms_logs ALTER COLUMN status SET DEFAULT 'pending';
END
$$;

-- 0001's index on status alone repeats the leading column of an application's own index
-- (the article's (status, sent_at DESC)); with both, every status change paid for two.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE i.indrelid = 'sms_logs'::regclass AND c.relname <> 'idx_sms_logs_status'
                AND i.indpred IS NULL AND i.indexprs IS NULL
                AND i.indkey[0] = (SELECT attnum FROM pg_attribute
                                    WHERE attrelid = 'sms_logs'::regclass AND attname = 'status')) THEN
    DROP INDEX IF EXISTS idx_sms_logs_status;
  END IF;
END
$$;

-- The notice copies the row's values: an application's country_code is any text (the article
-- gives TEXT), and a number may be longer than 32 bytes; char(2)/varchar(32) refused the
-- whole batch's notice insert.
ALTER TABLE dlr_alert_outbox ALTER COLUMN recipient TYPE text, ALTER COLUMN country TYPE text;

-- Marks come from a sequence, one value per write statement; it starts above every
-- transaction id a marker could already hold, so no old marker equals a new one.
CREATE SEQUENCE IF NOT EXISTS dlr_notice_mark_seq;
SELECT setval('dlr_notice_mark_seq',
              greatest(txid_current(), (SELECT coalesce(max(failure_notice_mark), 1) FROM sms_logs)));
COMMENT ON COLUMN sms_logs.failure_notice_mark IS
  'Set once, by the write statement that moved the message into a failed status and noticed it '
  '(a value of dlr_notice_mark_seq); NULL while no failure notice was written.';

-- The sender-side function under the article's names. Parameter names change, so the old
-- functions are dropped first; positional calls keep working unchanged.
DROP FUNCTION IF EXISTS dlr_log_send(text, text, text, text, timestamptz, int, numeric, text);
DROP FUNCTION IF EXISTS dlr_log_send(text, text, text, text, timestamptz, int, numeric, text, text[], text);

CREATE FUNCTION dlr_log_send(
  p_message_id text,
  p_to_number text,
  p_from_number text,
  p_text_preview text,
  p_sent_at timestamptz,
  p_parts int,
  p_cost_eur numeric,
  p_country_code text,
  p_tags text[],
  p_provider text DEFAULT NULL
) RETURNS void
LANGUAGE sql VOLATILE
AS $$
  INSERT INTO sms_logs AS s (message_id, to_number, from_number, text_preview, sent_at, parts, cost_eur,
                             country_code, tags, provider, status, created_at, updated_at)
  VALUES (p_message_id, p_to_number, p_from_number, p_text_preview, coalesce(p_sent_at, now()), p_parts,
          p_cost_eur, p_country_code, p_tags, p_provider, 'pending', now(), now())
  ON CONFLICT (message_id) DO UPDATE SET
    -- The sender knows its own values best; reports only fill what is still NULL.
    to_number = coalesce(excluded.to_number, s.to_number),
    from_number = coalesce(excluded.from_number, s.from_number),
    text_preview = coalesce(excluded.text_preview, s.text_preview),
    sent_at = coalesce(p_sent_at, s.sent_at, excluded.sent_at),
    parts = coalesce(excluded.parts, s.parts),
    cost_eur = coalesce(excluded.cost_eur, s.cost_eur),
    country_code = coalesce(excluded.country_code, s.country_code),
    tags = coalesce(excluded.tags, s.tags),
    provider = coalesce(s.provider, excluded.provider),
    updated_at = now()
$$;

CREATE FUNCTION dlr_log_send(
  p_message_id text,
  p_to_number text,
  p_from_number text DEFAULT NULL,
  p_text_preview text DEFAULT NULL,
  p_sent_at timestamptz DEFAULT now(),
  p_parts int DEFAULT NULL,
  p_cost_eur numeric DEFAULT NULL,
  p_country_code text DEFAULT NULL
) RETURNS void
LANGUAGE sql VOLATILE
AS $$
  SELECT dlr_log_send(p_message_id, p_to_number, p_from_number, p_text_preview, p_sent_at, p_parts,
                      p_cost_eur, p_country_code, NULL::text[], NULL::text)
$$;

-- The insights functions of 0009 read the renamed columns (bodies only; signatures unchanged).
CREATE OR REPLACE FUNCTION dlr_stats_breakdown(p_by text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (key text, total bigint, delivered bigint, undelivered bigint, rejected bigint,
               expired bigint, failed bigint, pending bigint,
               delivery_rate float8, failure_rate float8, reject_share float8)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT t.key, t.total, t.delivered, t.undelivered, t.rejected, t.expired,
         t.undelivered + t.rejected + t.expired,
         t.total - t.delivered - t.undelivered - t.rejected - t.expired,
         t.delivered::float8 / nullif(t.delivered + t.undelivered + t.rejected + t.expired, 0),
         (t.undelivered + t.rejected + t.expired)::float8
           / nullif(t.delivered + t.undelivered + t.rejected + t.expired, 0),
         t.rejected::float8 / nullif(t.delivered + t.undelivered + t.rejected + t.expired, 0)
    FROM (
      SELECT CASE p_by WHEN 'country' THEN s.country_code
                       WHEN 'provider' THEN s.provider
                       WHEN 'sender' THEN s.from_number END AS key,
             count(*) AS total,
             count(*) FILTER (WHERE s.status = 'delivered') AS delivered,
             count(*) FILTER (WHERE s.status = 'undelivered') AS undelivered,
             count(*) FILTER (WHERE s.status = 'rejected') AS rejected,
             count(*) FILTER (WHERE s.status = 'expired') AS expired
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < p_to
         AND p_by IN ('country', 'provider', 'sender')
       GROUP BY 1
    ) t
   ORDER BY 10 DESC NULLS LAST, 2 DESC, 1 NULLS LAST
$$;

CREATE OR REPLACE FUNCTION dlr_stats_coverage(p_after interval, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (country text, total bigint, pending bigint, pending_share float8, all_pending boolean)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT t.country, t.total, t.pending, t.pending::float8 / t.total, t.pending = t.total
    FROM (
      SELECT s.country_code AS country,
             count(*) AS total,
             count(*) FILTER (WHERE dlr_status_class(s.status) = 0) AS pending
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < least(p_to, now() - p_after)
       GROUP BY 1
    ) t
   ORDER BY 4 DESC, 2 DESC, 1 NULLS LAST
$$;

CREATE OR REPLACE FUNCTION dlr_stats_latency(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (country text, delivered bigint, p50_seconds float8, p90_seconds float8,
               p99_seconds float8)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT t.country, t.delivered, t.p[1], t.p[2], t.p[3]
    FROM (
      SELECT s.country_code AS country,
             count(*) AS delivered,
             percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP (
               ORDER BY greatest(date_part('epoch', s.delivered_at - s.sent_at), 0)) AS p
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < p_to
         AND s.status = 'delivered' AND s.sent_at IS NOT NULL AND s.delivered_at IS NOT NULL
       GROUP BY 1
    ) t
   ORDER BY 4 DESC, 1 NULLS LAST
$$;

CREATE OR REPLACE FUNCTION dlr_stats_error_codes(p_from timestamptz, p_to timestamptz, p_top int)
RETURNS TABLE (country text, status text, error_code text, messages bigint, share float8,
               rank bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT t.country, t.status, t.error_code, t.messages, t.messages::float8 / t.status_total, t.rank
    FROM (
      SELECT s.country_code AS country, s.status AS status, s.error_code AS error_code,
             count(*) AS messages,
             sum(count(*)) OVER (PARTITION BY s.country_code, s.status) AS status_total,
             row_number() OVER (PARTITION BY s.country_code, s.status
                                ORDER BY count(*) DESC, s.error_code NULLS LAST) AS rank
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < p_to
         AND dlr_status_class(s.status) = 1
       GROUP BY s.country_code, s.status, s.error_code
    ) t
   WHERE t.rank <= p_top
   ORDER BY 1 NULLS LAST, 2, 6
$$;
