-- Deliverability insights (see dlr_stats_breakdown.sql for the definitions they share).
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
COMMENT ON FUNCTION dlr_stats_coverage(interval, timestamptz, timestamptz) IS
  'DLR coverage per country: of the messages sent in [p_from, p_to) at least p_after ago (old '
  'enough that a report should have come), how many are still pending-like, their share, and '
  'whether all are (a market whose gateway never reports). Worst coverage first.';
