-- The message status API: send tags and provider for dlr_log_send, waiter registrations that
-- let the writers NOTIFY only for messages somebody waits for, and the indexes the expiry
-- and retention jobs read through.

-- Tags the sender gives a message (e.g. {otp}); expiry rules match on them.
ALTER TABLE sms_logs ADD COLUMN IF NOT EXISTS tags text[];

-- Long-poll waiters, one row per message id somebody waits for (on any instance). UNLOGGED:
-- a crash loses at most the registrations of waits that the crash ended anyway. A row whose
-- expires_at has passed is ignored and purged by every instance now and then.
CREATE UNLOGGED TABLE IF NOT EXISTS dlr_status_waiters (
  message_id text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);

-- Called by the writers' batch statement with the ids its upsert moved into a final status:
-- one NOTIFY dlrd_status (payload: the message id) per id with a live registration. With no
-- waiter registered this is one probe of an empty index per batch.
--
-- VOLATILE on purpose: its query takes a fresh snapshot, after the batch statement has taken
-- (and waited for) its row locks. A waiter registers in the same transaction in which it
-- reads the row FOR SHARE, so either the waiter's read waits for the writer's commit and sees
-- the final state, or the writer's row lock waits for the waiter's commit and this query
-- sees the registration: no wake-up can be lost between the two.
CREATE OR REPLACE FUNCTION dlr_status_wake(p_ids text[]) RETURNS int
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  v_id text;
  v_count int := 0;
BEGIN
  IF p_ids IS NULL OR cardinality(p_ids) = 0 THEN
    RETURN 0;
  END IF;
  FOR v_id IN
    SELECT w.message_id FROM dlr_status_waiters w
     WHERE w.message_id = ANY (p_ids) AND w.expires_at > clock_timestamp()
  LOOP
    PERFORM pg_notify('dlrd_status', v_id);
    v_count := v_count + 1;
  END LOOP;
  RETURN v_count;
END
$$;

-- The sender-side function with tags and the sending provider. Like the 0004 signature it
-- upserts send-side columns only and never touches delivery state; the provider is filled
-- only while no report has set it. p_tags has no default so that calls with the 0004
-- arguments keep resolving to the 0004 signature, which now forwards here.
CREATE OR REPLACE FUNCTION dlr_log_send(
  p_message_id text,
  p_recipient text,
  p_sender text,
  p_message text,
  p_sent_at timestamptz,
  p_parts int,
  p_cost numeric,
  p_country text,
  p_tags text[],
  p_provider text DEFAULT NULL
) RETURNS void
LANGUAGE sql VOLATILE
AS $$
  INSERT INTO sms_logs AS s (message_id, recipient, sender, message, sent_at, parts, cost, country,
                             tags, provider, status, created_at, updated_at)
  VALUES (p_message_id, p_recipient, p_sender, p_message, coalesce(p_sent_at, now()), p_parts, p_cost,
          p_country, p_tags, p_provider, 'pending', now(), now())
  ON CONFLICT (message_id) DO UPDATE SET
    -- The sender knows its own values best; reports only fill what is still NULL.
    recipient = coalesce(excluded.recipient, s.recipient),
    sender = coalesce(excluded.sender, s.sender),
    message = coalesce(excluded.message, s.message),
    sent_at = coalesce(p_sent_at, s.sent_at, excluded.sent_at),
    parts = coalesce(excluded.parts, s.parts),
    cost = coalesce(excluded.cost, s.cost),
    country = coalesce(excluded.country, s.country),
    tags = coalesce(excluded.tags, s.tags),
    provider = coalesce(s.provider, excluded.provider),
    updated_at = now()
$$;

CREATE OR REPLACE FUNCTION dlr_log_send(
  p_message_id text,
  p_recipient text,
  p_sender text DEFAULT NULL,
  p_message text DEFAULT NULL,
  p_sent_at timestamptz DEFAULT now(),
  p_parts int DEFAULT NULL,
  p_cost numeric DEFAULT NULL,
  p_country text DEFAULT NULL
) RETURNS void
LANGUAGE sql VOLATILE
AS $$
  SELECT dlr_log_send(p_message_id, p_recipient, p_sender, p_message, p_sent_at, p_parts, p_cost,
                      p_country, NULL::text[], NULL::text)
$$;

-- The expiry job reads pending messages by send time, oldest first:
--   dlr_status_class(status) = 0 AND coalesce(sent_at, created_at) < <cutoff>
-- Partial on the pending class, so only messages still waiting for a report are in it.
CREATE INDEX IF NOT EXISTS idx_sms_logs_pending_since ON sms_logs ((coalesce(sent_at, created_at)))
  WHERE dlr_status_class(status) = 0;

-- Retention deletes old history by stored_at. A BRIN index costs almost nothing on this
-- append-only table, whose stored_at follows its physical order.
CREATE INDEX IF NOT EXISTS dlr_events_stored_at_brin ON dlr_events USING brin (stored_at);
