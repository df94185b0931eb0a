-- The fixed status order, the last tie-break after class and event time (the enumerator
-- order of report::status).
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
