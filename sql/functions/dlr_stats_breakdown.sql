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
--   failed     status undelivered, rejected, expired (dlr_status_class 1), as the carrier
--              reported it: a policy expiry (expired_by 'policy', sql/0014: dlrd's expiry
--              rule gave up on the message) is no carrier outcome and is not counted here
--   final      delivered + failed
--   pending    everything else: pending, accepted, enroute, buffered, sent, unknown, NULL,
--              and policy expiries (still no final report from the carrier)
--   rates      shares of the final messages (delivered / final, failed / final), the measure
--              the rate rules use; NULL when there is no final message, never a division by
--              zero. Messages still pending are counted apart (see dlr_stats_coverage).
--   days       UTC days; ranges are half-open [p_from, p_to).
--   keys       a NULL country, provider or sender stays NULL (unknown).

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
             count(*) FILTER (WHERE s.status = 'expired' AND s.expired_by IS NULL) AS expired
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
  'anything else gives no rows): counts per final carrier status, failed, pending (policy '
  'expiries included), delivered/final, '
  'failed/final and rejected/final (the reject share; NULL without finals). Worst failure '
  'rate first.';
