-- Failure notices, written in the same transaction as the row's move into a failed status
-- (transactional outbox), so duplicates and replays never notify twice and a crash never
-- loses a notice.

-- The transaction that wrote the message's failure notice; a message is noticed at most
-- once. A transaction id (not a time) tells the writer exactly which rows it noticed itself.
ALTER TABLE sms_logs ADD COLUMN IF NOT EXISTS failure_notice_txid bigint;

CREATE TABLE IF NOT EXISTS dlr_alert_outbox (
  id          bigserial PRIMARY KEY,
  kind        text NOT NULL DEFAULT 'message_failed',
  message_id  varchar(128),
  status      text,
  raw_status  text,
  error_code  text,
  recipient   varchar(32),
  sender      text,
  country     char(2),
  provider    text,
  status_at   timestamptz,
  details     jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
