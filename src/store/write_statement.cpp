// The text of the writer's statements; the batch sources are filled in by write_statement.
#include <dlrd/store/write_statement.hpp>

#include <array>

namespace dlrd::store {

namespace {

constexpr std::array<batch_column, 11> winners{{
    {"message_id", "text"}, {"status", "text"}, {"raw_status", "text"}, {"event_at", "timestamptz"},
    {"provider", "text"}, {"recipient", "text"}, {"sender", "text"}, {"country", "text"},
    {"error_code", "text"}, {"parts", "int"}, {"cost", "numeric"},
}};

constexpr std::array<batch_column, 12> events{{
    {"message_id", "text"}, {"status", "text"}, {"raw_status", "text"}, {"event_at", "timestamptz"},
    {"from_gateway", "boolean"}, {"received_at", "timestamptz"}, {"provider", "text"}, {"recipient", "text"},
    {"error_code", "text"}, {"parts", "int"}, {"cost", "numeric"}, {"carrier_time", "text"},
}};

constexpr std::array<batch_column, 6> quarantine{{
    {"received_at", "timestamptz"}, {"provider", "text"}, {"reason", "text"},
    {"field", "text"}, {"content_type", "text"}, {"body_hex", "text"},
}};

// The batch sources are @WINNERS@, @EVENTS@ and @QUARANTINE@, the noticed statuses @NOTICE@,
// the raw statuses of expiry rules that write no notice @QUIET@.
// dlr_report_wins (sql/functions) is report::wins_over; the planner inlines it (one SQL
// expression), so EXPLAIN VERBOSE shows the row comparison and no call per row.
constexpr const char* write_template = R"sql(
WITH
mark AS MATERIALIZED (
  -- This statement's notice marker: a row whose marker is this value was noticed here.
  SELECT nextval('dlr_notice_mark_seq') AS v
),
w AS MATERIALIZED (
  -- The merged winners, parsed once for the parts' update and the messages' upsert. A policy
  -- expiry is dlrd's own expiry rule's report (status::expiry_provider and expiry_raw_prefix):
  -- the application gave up, the carrier said nothing, so it is no carrier outcome.
  SELECT w.*, (w.provider = 'dlrd' AND starts_with(w.raw_status, 'dlrd:expired:')) AS policy
    FROM @WINNERS@
),
ev AS (
  INSERT INTO dlr_events (message_id, status, raw_status, event_at, event_time_from_gateway,
                          received_at, provider, recipient, error_code, parts, cost, carrier_time)
  SELECT e.message_id, e.status, e.raw_status, e.event_at, e.from_gateway,
         e.received_at, e.provider, e.recipient, e.error_code, e.parts, e.cost, e.carrier_time
    FROM @EVENTS@
  ON CONFLICT (message_id, status, event_at, provider) DO NOTHING
  RETURNING 1
),
pu AS (
  -- Reports about a registered part move the part's state (sql/0010), by the same rule.
  UPDATE dlr_message_parts p
     SET status = w.status, raw_status = w.raw_status, status_at = w.event_at,
         error_code = w.error_code, provider = w.provider
    FROM w
   WHERE p.part_id = w.message_id
     AND dlr_report_wins(w.status, w.event_at, w.raw_status, w.error_code,
                         p.status, p.status_at, p.raw_status, p.error_code)
  RETURNING p.message_id
),
up AS (
  INSERT INTO sms_logs AS s (message_id, status, raw_status, status_at, error_code, provider,
                             to_number, from_number, country_code, parts, cost_eur, delivered_at, sent_at,
                             created_at, updated_at, failure_notice_mark, expired_by, policy_notice_mark)
  SELECT w.message_id, w.status, w.raw_status, w.event_at, w.error_code, CASE WHEN NOT w.policy THEN w.provider END,
         w.recipient, w.sender, w.country, w.parts, w.cost,
         CASE WHEN w.status = 'delivered' THEN w.event_at END, NULL, now(), now(),
         CASE WHEN w.status = ANY(@NOTICE@) AND NOT w.policy THEN (SELECT v FROM mark) END,
         CASE WHEN w.policy THEN 'policy' END,
         CASE WHEN w.policy AND NOT (w.raw_status = ANY(@QUIET@)) THEN (SELECT v FROM mark) END
    FROM w
   -- A part's report is not a message of its own: its message's row follows its parts.
   WHERE NOT EXISTS (SELECT 1 FROM dlr_message_parts mp WHERE mp.part_id = w.message_id)
  ON CONFLICT (message_id) DO UPDATE SET
    status = excluded.status,
    raw_status = excluded.raw_status,
    status_at = excluded.status_at,
    error_code = excluded.error_code,
    -- A policy expiry keeps the carrier's provider; a carrier's report that wins clears expired_by.
    provider = CASE WHEN excluded.expired_by IS NULL THEN excluded.provider ELSE s.provider END,
    expired_by = excluded.expired_by,
    delivered_at = CASE WHEN excluded.status = 'delivered' THEN excluded.status_at ELSE s.delivered_at END,
    to_number = coalesce(s.to_number, excluded.to_number),
    from_number = coalesce(s.from_number, excluded.from_number),
    country_code = coalesce(s.country_code, excluded.country_code),
    parts = coalesce(s.parts, excluded.parts),
    cost_eur = coalesce(s.cost_eur, excluded.cost_eur),
    updated_at = now(),
    failure_notice_mark = coalesce(s.failure_notice_mark, excluded.failure_notice_mark),
    policy_notice_mark = coalesce(s.policy_notice_mark, excluded.policy_notice_mark)
  WHERE dlr_report_wins(excluded.status, excluded.status_at, excluded.raw_status, excluded.error_code,
                        s.status, s.status_at, s.raw_status, s.error_code)
  RETURNING s.message_id, s.status, s.raw_status, s.error_code, s.to_number, s.from_number, s.country_code,
            s.provider, s.status_at, s.failure_notice_mark = (SELECT v FROM mark) AS noticed,
            s.policy_notice_mark = (SELECT v FROM mark) AS policy_noticed
),
notice AS (
  -- Only the rows this transaction moved into a failed status, or a policy expiry, for the
  -- first time (each has its own marker: a carrier's failure after a policy expiry is noticed).
  INSERT INTO dlr_alert_outbox (kind, message_id, status, raw_status, error_code, recipient, sender,
                                country, provider, status_at, details)
  SELECT CASE WHEN policy_noticed THEN 'message_expired_by_policy' ELSE 'message_failed' END,
         message_id, status, raw_status, error_code, to_number, from_number, country_code, provider, status_at,
         CASE WHEN policy_noticed THEN jsonb_build_object('rule', substr(raw_status, 14)) END
    FROM up WHERE noticed OR policy_noticed
  RETURNING 1
),
q AS (
  INSERT INTO dlr_quarantine (received_at, provider, reason, field, content_type, body)
  SELECT q.received_at, q.provider, q.reason, q.field, q.content_type, decode(q.body_hex, 'hex')
    FROM @QUARANTINE@
  -- A replayed batch's payloads are there already (sql/0012).
  ON CONFLICT DO NOTHING
  RETURNING id, provider, reason, field, received_at
),
qn AS (
  -- Each newly quarantined payload is noticed once, like a failed message: a gateway that
  -- changed its format must not go unseen while every callback is acked and set aside.
  INSERT INTO dlr_alert_outbox (kind, status, provider, status_at, details)
  SELECT 'payload_quarantined', 'quarantined', provider, received_at,
         jsonb_build_object('quarantine_id', id, 'reason', reason, 'field', field)
    FROM q
  RETURNING 1
),
woke AS (
  -- NOTIFY for the rows moved into a final status that somebody waits for (sql/0008). A plain
  -- CTE runs only when referenced: the last column below does, after up has taken its locks.
  SELECT dlr_status_wake(array_agg(message_id::text)) AS n FROM up WHERE dlr_status_class(status) > 0
)
SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM up), (SELECT count(*) FROM q),
       (SELECT count(*) FROM notice), (SELECT n FROM woke),
       (SELECT coalesce(json_agg(DISTINCT message_id), '[]')::text FROM pu))sql";

// The rows of messages whose parts moved: recomputed from all their parts (locked, so two
// writers moving two parts of one message see each other's part), written as they are.
constexpr const char* parts_text = R"sql(
WITH
mark AS MATERIALIZED (
  SELECT nextval('dlr_notice_mark_seq') AS v
),
parts AS (
  SELECT p.message_id, p.part, p.status, p.raw_status, p.status_at, p.error_code, p.provider
    FROM dlr_message_parts p
   WHERE p.message_id IN (SELECT value FROM json_array_elements_text($1::json))
   ORDER BY p.part_id
     FOR UPDATE
),
agg AS (
  SELECT message_id, count(*)::int AS n, count(*) FILTER (WHERE status = 'delivered') AS delivered,
         max(status_at) AS last_at, max(provider) AS provider
    FROM parts GROUP BY message_id
),
failed AS (
  SELECT DISTINCT ON (message_id) message_id, part, status, raw_status, status_at, error_code
    FROM parts WHERE dlr_status_class(status) = 1
   ORDER BY message_id, status_at DESC, dlr_status_ordinal(status) DESC, part
),
state AS (
  SELECT a.message_id, a.n, a.provider,
         CASE WHEN f.message_id IS NOT NULL THEN f.status
              WHEN a.delivered = a.n THEN 'delivered' ELSE 'pending' END AS status,
         CASE WHEN f.message_id IS NOT NULL THEN 'part ' || f.part || '/' || a.n || ': ' || f.raw_status
              ELSE a.delivered || '/' || a.n || ' parts delivered' END AS raw_status,
         coalesce(f.status_at, a.last_at) AS status_at,
         f.error_code
    FROM agg a LEFT JOIN failed f USING (message_id)
),
up AS (
  INSERT INTO sms_logs AS s (message_id, status, raw_status, status_at, error_code, provider, parts,
                             delivered_at, created_at, updated_at, failure_notice_mark)
  SELECT message_id, status, raw_status, status_at, error_code, provider, n,
         CASE WHEN status = 'delivered' THEN status_at END, now(), now(),
         CASE WHEN status = ANY($2::text[]) THEN (SELECT v FROM mark) END
    FROM state ORDER BY message_id
  ON CONFLICT (message_id) DO UPDATE SET
    status = excluded.status,
    raw_status = excluded.raw_status,
    status_at = excluded.status_at,
    error_code = excluded.error_code,
    provider = coalesce(excluded.provider, s.provider),
    expired_by = NULL,
    parts = coalesce(s.parts, excluded.parts),
    delivered_at = CASE WHEN excluded.status = 'delivered' THEN excluded.status_at ELSE s.delivered_at END,
    updated_at = now(),
    failure_notice_mark = coalesce(s.failure_notice_mark, excluded.failure_notice_mark)
  WHERE (s.status, s.raw_status, s.status_at, s.error_code)
        IS DISTINCT FROM (excluded.status, excluded.raw_status, excluded.status_at, excluded.error_code)
  RETURNING s.message_id, s.status, s.raw_status, s.error_code, s.to_number, s.from_number, s.country_code,
            s.provider, s.status_at, s.failure_notice_mark = (SELECT v FROM mark) AS noticed
),
notice AS (
  INSERT INTO dlr_alert_outbox (message_id, status, raw_status, error_code, recipient, sender,
                                country, provider, status_at)
  SELECT message_id, status, raw_status, error_code, to_number, from_number, country_code, provider, status_at
    FROM up WHERE noticed
  RETURNING 1
),
woke AS (
  SELECT dlr_status_wake(array_agg(message_id::text)) AS n FROM up WHERE dlr_status_class(status) > 0
)
SELECT (SELECT count(*) FROM up), (SELECT count(*) FROM notice), (SELECT n FROM woke))sql";

void replace(std::string& s, std::string_view from, const std::string& to) {
  auto at = s.find(from);
  s.replace(at, from.size(), to);
}

}  // namespace

std::span<const batch_column> winners_columns() { return winners; }
std::span<const batch_column> events_columns() { return events; }
std::span<const batch_column> quarantine_columns() { return quarantine; }

std::string column_definitions(std::string_view alias, std::span<const batch_column> columns) {
  std::string out(alias);
  out += '(';
  for (const auto& c : columns) {
    if (out.back() != '(') out += ", ";
    out += c.name;
    out += ' ';
    out += c.type;
  }
  out += ')';
  return out;
}

batch_sources json_batch_sources() {
  return batch_sources{"json_to_recordset($1::json) AS " + column_definitions("w", winners),
                       "json_to_recordset($2::json) AS " + column_definitions("e", events),
                       "json_to_recordset($3::json) AS " + column_definitions("q", quarantine)};
}

std::string write_statement(const batch_sources& from) {
  std::string s = write_template;
  replace(s, "@WINNERS@", from.winners);
  replace(s, "@EVENTS@", from.events);
  replace(s, "@QUARANTINE@", from.quarantine);
  replace(s, "@NOTICE@", from.notice_statuses);
  replace(s, "@QUIET@", from.quiet_expiries);
  return s;
}

const char* parts_statement() { return parts_text; }

}  // namespace dlrd::store
