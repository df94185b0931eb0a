-- Rate rule state (one row per rule and group, so firing survives restarts) and the index
-- the rule window query needs.

CREATE TABLE IF NOT EXISTS dlr_rule_state (
  rule              text NOT NULL,
  -- '' when the rule has no group_by; the country code (or 'unknown') for group_by country.
  group_key         text NOT NULL,
  firing            boolean NOT NULL DEFAULT false,
  -- When the group started firing; NULL while it is not firing.
  since             timestamptz,
  last_share        numeric,
  last_failed       bigint,
  last_total        bigint,
  last_evaluated_at timestamptz,
  PRIMARY KEY (rule, group_key)
);

-- The window query reads the messages whose final status arrived in the last window:
--   status IN (<the four finals>) AND status_at > now() - window
-- Partial on the final statuses, so pending rows (most of a busy table's churn) are not in
-- it; the query repeats this exact predicate so the planner can use the index. Updates that
-- change status_at are no longer HOT; status was already indexed (idx_sms_logs_status), so
-- that only adds the rare same-status, newer-time updates.
CREATE INDEX IF NOT EXISTS idx_sms_logs_final_status_at ON sms_logs (status_at)
  WHERE status IN ('delivered', 'undelivered', 'rejected', 'expired');
