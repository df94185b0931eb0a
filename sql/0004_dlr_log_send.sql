-- The sender-side function: logs a send without ever touching delivery state, so that a
-- report arriving before or after the send gives the same row.
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
  INSERT INTO sms_logs AS s (message_id, recipient, sender, message, sent_at, parts, cost, country,
                             status, created_at, updated_at)
  VALUES (p_message_id, p_recipient, p_sender, p_message, p_sent_at, p_parts, p_cost, p_country,
          'pending', now(), now())
  ON CONFLICT (message_id) DO UPDATE SET
    -- The sender knows its own values best; reports only fill what is still NULL.
    recipient = coalesce(excluded.recipient, s.recipient),
    sender = coalesce(excluded.sender, s.sender),
    message = coalesce(excluded.message, s.message),
    sent_at = coalesce(excluded.sent_at, s.sent_at),
    parts = coalesce(excluded.parts, s.parts),
    cost = coalesce(excluded.cost, s.cost),
    country = coalesce(excluded.country, s.country),
    updated_at = now()
$$;
