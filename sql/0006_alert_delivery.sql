-- Per-sink delivery state of failure notices: a claim cursor per sink and one row per
-- notice a sink has claimed (in flight, retrying, sent, sent in a digest, or dropped).

-- The transaction that wrote each notice. Outbox ids are taken before their transactions
-- commit, so ids become visible out of order; the dispatcher reads a notice only once every
-- transaction older than the oldest one still running has finished (txid below the
-- snapshot's xmin), which makes the (txid, id) order a gap-free cursor.
ALTER TABLE dlr_alert_outbox ADD COLUMN IF NOT EXISTS txid bigint NOT NULL DEFAULT txid_current();
CREATE INDEX IF NOT EXISTS dlr_alert_outbox_txid_id ON dlr_alert_outbox (txid, id);

-- How far each sink has claimed new notices, in (txid, id) order.
CREATE TABLE IF NOT EXISTS dlr_alert_cursor (
  sink         text PRIMARY KEY,
  upto_txid    bigint NOT NULL DEFAULT 0,
  upto_id      bigint NOT NULL DEFAULT 0,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS dlr_alert_delivery (
  notice_id        bigint NOT NULL REFERENCES dlr_alert_outbox(id) ON DELETE CASCADE,
  sink             text NOT NULL,
  attempts         int NOT NULL DEFAULT 0,      -- sends started (a claim counts as one)
  next_attempt_at  timestamptz,                -- lease end while in flight, retry time after a failure
  sent_at          timestamptz,
  digested         boolean NOT NULL DEFAULT false,  -- sent folded into a digest message
  dropped_reason   text,                       -- e.g. 'stale': never sent
  last_error       text,
  PRIMARY KEY (notice_id, sink)
);

-- Claiming retries: only open rows, by due time.
CREATE INDEX IF NOT EXISTS dlr_alert_delivery_due ON dlr_alert_delivery (sink, next_attempt_at)
  WHERE sent_at IS NULL AND dropped_reason IS NULL;
