-- Deliverability insights: set-returning functions over a range of send times, read by the
-- stats API (/v1/stats/*), the dashboard and `dlrd report`.
--
-- Functions, not views. sms_logs is large and write-hot; a view would aggregate the whole
-- table on every read. Each function takes the range it reads and is one SQL SELECT, so
-- PostgreSQL inlines it into the calling query and plans it with the actual bounds: an index
-- range scan on idx_sms_logs_send_time for a short range, a (parallel) sequential scan when
-- the range covers most of the table.
--
-- Shared definitions:
--   send time  coalesce(sent_at, created_at): when the sender logged the message, or when a
--              report created the row for a message the sender never logged. (created_at
--              alone is wrong for an adopted table: 0002 filled it with the migration time.)
--   delivered  status 'delivered'                    (dlr_status_class 2)
--   failed     status undelivered, rejected, expired (dlr_status_class 1)
--   final      delivered + failed
--   pending    everything else: pending, accepted, enroute, buffered, sent, unknown, NULL
--   rates      shares of the final messages (delivered / final, failed / final), the measure
--              the rate rules use; NULL when there is no final message, never a division by
--              zero. Messages still pending are counted apart (see dlr_stats_coverage).
--   days       UTC days; ranges are half-open [p_from, p_to).
--   keys       a NULL country, provider or sender stays NULL (unknown).

-- The one index every function reads through. Its key changes only on insert and when a
-- sender logs a message a report created first; it costs one index entry per row version on
-- this table's status updates (already non-HOT: status and status_at are indexed). On a large
-- table that predates this migration, create it first with CREATE INDEX CONCURRENTLY under
-- this name, so the migration does not block writes while it builds.
CREATE INDEX IF NOT EXISTS idx_sms_logs_send_time ON sms_logs ((coalesce(sent_at, created_at)));

CREATE OR REPLACE FUNCTION dlr_stats_daily(p_from date, p_to date)
RETURNS TABLE (day date, total bigint, delivered bigint, failed bigint, pending bigint,
               delivery_rate float8, failure_rate float8)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  -- One index range scan per day: the planner cannot estimate how many groups a GROUP BY
  -- on the day expression makes (it guessed one per row and spilled a hash aggregate of
  -- 10M rows to disk), and an aggregate without GROUP BY gives the empty day its zero row.
  SELECT g.ts::date, c.total, c.delivered, c.failed, c.total - c.delivered - c.failed,
         c.delivered::float8 / nullif(c.delivered + c.failed, 0),
         c.failed::float8 / nullif(c.delivered + c.failed, 0)
    FROM generate_series(p_from::timestamp, p_to::timestamp, interval '1 day') AS g(ts)
   CROSS JOIN LATERAL (
      SELECT count(*) AS total,
             count(*) FILTER (WHERE dlr_status_class(s.status) = 2) AS delivered,
             count(*) FILTER (WHERE dlr_status_class(s.status) = 1) AS failed
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= g.ts AT TIME ZONE 'UTC'
         AND coalesce(s.sent_at, s.created_at) < (g.ts + interval '1 day') AT TIME ZONE 'UTC'
    ) c
   ORDER BY 1
$$;
COMMENT ON FUNCTION dlr_stats_daily(date, date) IS
  'One row per UTC day from p_from to p_to inclusive (a day without messages has zero counts '
  'and NULL rates): messages sent that day, delivered, failed (undelivered, rejected, '
  'expired), still pending, delivered/final and failed/final (NULL without finals).';

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
      SELECT CASE p_by WHEN 'country' THEN s.country::text
                       WHEN 'provider' THEN s.provider
                       WHEN 'sender' THEN s.sender END AS key,
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
COMMENT ON FUNCTION dlr_stats_breakdown(text, timestamptz, timestamptz) IS
  'Messages sent in [p_from, p_to) grouped by p_by (''country'', ''provider'' or ''sender''; '
  'anything else gives no rows): counts per final status, failed, pending, delivered/final, '
  'failed/final and rejected/final (the reject share; NULL without finals). Worst failure '
  'rate first.';

CREATE OR REPLACE FUNCTION dlr_stats_coverage(p_after interval, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (country text, total bigint, pending bigint, pending_share float8, all_pending boolean)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT t.country, t.total, t.pending, t.pending::float8 / t.total, t.pending = t.total
    FROM (
      SELECT s.country::text AS country,
             count(*) AS total,
             count(*) FILTER (WHERE dlr_status_class(s.status) = 0) AS pending
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < least(p_to, now() - p_after)
       GROUP BY 1
    ) t
   ORDER BY 4 DESC, 2 DESC, 1 NULLS LAST
$$;
COMMENT ON FUNCTION dlr_stats_coverage(interval, timestamptz, timestamptz) IS
  'DLR coverage per country: of the messages sent in [p_from, p_to) at least p_after ago (old '
  'enough that a report should have come), how many are still pending-like, their share, and '
  'whether all are (a market whose gateway never reports). Worst coverage first.';

CREATE OR REPLACE FUNCTION dlr_stats_latency(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (country text, delivered bigint, p50_seconds float8, p90_seconds float8,
               p99_seconds float8)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT t.country, t.delivered, t.p[1], t.p[2], t.p[3]
    FROM (
      SELECT s.country::text AS country,
             count(*) AS delivered,
             percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP (
               -- date_part gives float8 (extract gives numeric, slower to sort); a clock
               -- skew that puts the report before the send counts as zero.
               ORDER BY greatest(date_part('epoch', s.delivered_at - s.sent_at), 0)) AS p
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < p_to
         AND s.status = 'delivered' AND s.sent_at IS NOT NULL AND s.delivered_at IS NOT NULL
       GROUP BY 1
    ) t
   ORDER BY 4 DESC, 1 NULLS LAST
$$;
COMMENT ON FUNCTION dlr_stats_latency(timestamptz, timestamptz) IS
  'Time from send (sent_at) to delivery (delivered_at) in seconds per country, for the '
  'delivered messages sent in [p_from, p_to) whose sender logged a send time: count, p50, p90 '
  'and p99 (continuous percentiles). Slowest p90 first.';

CREATE OR REPLACE FUNCTION dlr_stats_error_codes(p_from timestamptz, p_to timestamptz, p_top int)
RETURNS TABLE (country text, status text, error_code text, messages bigint, share float8,
               rank bigint)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT t.country, t.status, t.error_code, t.messages, t.messages::float8 / t.status_total, t.rank
    FROM (
      SELECT s.country::text AS country, s.status::text AS status, s.error_code::text AS error_code,
             count(*) AS messages,
             sum(count(*)) OVER (PARTITION BY s.country, s.status) AS status_total,
             row_number() OVER (PARTITION BY s.country, s.status
                                ORDER BY count(*) DESC, s.error_code NULLS LAST) AS rank
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < p_to
         AND dlr_status_class(s.status) = 1
       GROUP BY s.country, s.status, s.error_code
    ) t
   WHERE t.rank <= p_top
   ORDER BY 1 NULLS LAST, 2, 6
$$;
COMMENT ON FUNCTION dlr_stats_error_codes(timestamptz, timestamptz, int) IS
  'The p_top most frequent error codes (NULL: none given) per country and failed status '
  '(undelivered, rejected, expired) among messages sent in [p_from, p_to): messages with '
  'the code, their share of that country and status, and the rank (1 = most frequent).';

CREATE OR REPLACE VIEW dlr_stats_firing_rules AS
  SELECT rule, group_key, since, last_share, last_failed, last_total, last_evaluated_at
    FROM dlr_rule_state
   WHERE firing;
COMMENT ON VIEW dlr_stats_firing_rules IS
  'Rate rule groups firing now (dlr_rule_state is one small row per rule and group, so a view '
  'is cheap): rule, group (country or ''''), since when, and the last evaluated share and counts.';
