-- The convergence rule (DESIGN.md invariant 3, report::wins_over in include/dlrd/report/report.hpp)
-- written once in SQL, for both of the writer's statements (a message's row and a part's row).
--
-- True when the new report (status, event time, raw status, error code) must replace the
-- state a row holds now. Ranks: class, event time, the fixed status order, then raw status
-- and error code in byte order (COLLATE "C", like std::string_view), an absent error code
-- ranking as ''. A row never touched by a report (NULL status or status_at) ranks lowest:
-- class and ordinal of 'pending', time '-infinity'.
--
-- One SQL expression, LANGUAGE sql, IMMUTABLE, not STRICT: the planner inlines it (and the
-- two rank functions it calls) into the calling statement, so EXPLAIN VERBOSE of the write
-- statement shows the row comparison itself and no call per row.
CREATE OR REPLACE FUNCTION dlr_report_wins(
  p_status text, p_status_at timestamptz, p_raw_status text, p_error_code text,
  p_old_status text, p_old_status_at timestamptz, p_old_raw_status text, p_old_error_code text
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT (dlr_status_class(p_status), p_status_at, dlr_status_ordinal(p_status),
          p_raw_status COLLATE "C", coalesce(p_error_code, '') COLLATE "C")
       > (dlr_status_class(coalesce(p_old_status, 'pending')), coalesce(p_old_status_at, '-infinity'),
          dlr_status_ordinal(coalesce(p_old_status, 'pending')), coalesce(p_old_raw_status, '') COLLATE "C",
          coalesce(p_old_error_code, '') COLLATE "C")
$$;
