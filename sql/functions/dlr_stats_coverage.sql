-- Deliverability insights (see dlr_stats_breakdown.sql for the definitions they share).
--
-- Coverage is about the carrier's reports: a message dlrd's own expiry rule gave up on
-- (expired_by = 'policy', sql/0014) still has none, so it counts as pending here.
CREATE OR REPLACE FUNCTION dlr_stats_coverage(p_after interval, p_from timestamptz, p_to timestamptz, p_by text)
RETURNS TABLE (key text, total bigint, pending bigint, pending_share float8, all_pending boolean)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT t.key, t.total, t.pending, t.pending::float8 / t.total, t.pending = t.total
    FROM (
      SELECT CASE p_by WHEN 'provider' THEN s.provider WHEN 'sender' THEN s.from_number
                       ELSE s.country_code::text END AS key,
             count(*) AS total,
             count(*) FILTER (WHERE dlr_status_class(s.status) = 0 OR s.expired_by = 'policy') AS pending
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < least(p_to, now() - p_after)
       GROUP BY 1
    ) t
   ORDER BY 4 DESC, 2 DESC, 1 NULLS LAST
$$;
COMMENT ON FUNCTION dlr_stats_coverage(interval, timestamptz, timestamptz, text) IS
  'DLR coverage per country, provider or sender (p_by): of the messages sent in [p_from, p_to) at '
  'least p_after ago (old enough that a report should have come), how many still have no '
  'carrier report (pending-like, or expired by dlrd''s own expiry rule), their share, and '
  'whether all are (a market or a gateway that never reports). Worst coverage first.';

CREATE OR REPLACE FUNCTION dlr_stats_coverage(p_after interval, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (country text, total bigint, pending bigint, pending_share float8, all_pending boolean)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT * FROM dlr_stats_coverage(p_after, p_from, p_to, 'country')
$$;
COMMENT ON FUNCTION dlr_stats_coverage(interval, timestamptz, timestamptz) IS
  'DLR coverage per country: dlr_stats_coverage(p_after, p_from, p_to, ''country'').';
