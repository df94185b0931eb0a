-- Deliverability insights (see dlr_stats_breakdown.sql for the definitions they share).
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
         AND dlr_status_class(s.status) = 1 AND s.expired_by IS NULL
       GROUP BY s.country_code, s.status, s.error_code
    ) t
   WHERE t.rank <= p_top
   ORDER BY 1 NULLS LAST, 2, 6
$$;
COMMENT ON FUNCTION dlr_stats_error_codes(timestamptz, timestamptz, int) IS
  'The p_top most frequent error codes (NULL: none given) per country and failed status '
  '(undelivered, rejected, expired; carrier reports only, no policy expiry) among messages '
  'sent in [p_from, p_to): messages with '
  'the code, their share of that country and status, and the rank (1 = most frequent).';
