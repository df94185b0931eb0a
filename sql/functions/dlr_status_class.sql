-- Class rank of a status: pending-like 0 < failed finals 1 < delivered 2 (report::status_class).
-- Used by the partial index idx_sms_logs_pending_since: migrate rebuilds that index whenever
-- this definition changes (an IMMUTABLE function changed under an index corrupts it silently).
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
