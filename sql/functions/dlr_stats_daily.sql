-- Deliverability insights (see dlr_stats_breakdown.sql for the definitions they share).
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
             count(*) FILTER (WHERE dlr_status_class(s.status) = 1 AND s.expired_by IS NULL) AS failed
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= g.ts AT TIME ZONE 'UTC'
         AND coalesce(s.sent_at, s.created_at) < (g.ts + interval '1 day') AT TIME ZONE 'UTC'
    ) c
   ORDER BY 1
$$;
COMMENT ON FUNCTION dlr_stats_daily(date, date) IS
  'One row per UTC day from p_from to p_to inclusive (a day without messages has zero counts '
  'and NULL rates): messages sent that day, delivered, failed (undelivered, rejected, '
  'expired, as the carrier reported them), still pending (policy expiries included), '
  'delivered/final and failed/final (NULL without finals).';
