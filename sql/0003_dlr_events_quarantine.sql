-- History of every accepted report, and the payloads (or records) that could not be stored.
CREATE TABLE IF NOT EXISTS dlr_events (
  id bigserial PRIMARY KEY,
  message_id text NOT NULL,
  status text NOT NULL,
  raw_status text,
  event_at timestamptz NOT NULL,
  event_time_from_gateway boolean NOT NULL DEFAULT false,
  received_at timestamptz,
  provider text NOT NULL DEFAULT '',
  recipient text,
  error_code text,
  parts int,
  cost numeric(12,5),
  stored_at timestamptz NOT NULL DEFAULT now(),
  -- Duplicates and replays of the same report add nothing.
  CONSTRAINT dlr_events_report_key UNIQUE (message_id, status, event_at, provider)
);

CREATE TABLE IF NOT EXISTS dlr_quarantine (
  id bigserial PRIMARY KEY,
  received_at timestamptz,
  provider text NOT NULL DEFAULT '',
  reason text NOT NULL,
  field text NOT NULL DEFAULT '',
  content_type text NOT NULL DEFAULT '',
  -- Gateways send arbitrary bytes; text would refuse invalid UTF-8 and NUL.
  body bytea NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now(),
  replayed_at timestamptz
);
-- `dlrd quarantine replay` reads what has not been replayed yet.
CREATE INDEX IF NOT EXISTS dlr_quarantine_pending ON dlr_quarantine (id) WHERE replayed_at IS NULL;
