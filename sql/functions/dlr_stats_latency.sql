-- Deliverability insights (see dlr_stats_breakdown.sql for the definitions they share).
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
COMMENT ON FUNCTION dlr_stats_latency(timestamptz, timestamptz) IS
  'Time from send (sent_at) to delivery (delivered_at) in seconds per country, for the '
  'delivered messages sent in [p_from, p_to) whose sender logged a send time: count, p50, p90 '
  'and p99 (continuous percentiles). Slowest p90 first.';
