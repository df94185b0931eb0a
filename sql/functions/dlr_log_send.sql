-- The sender-side function: logs a send without ever touching delivery state, so that a
-- report arriving before or after the send gives the same row. The sender's values win over a
-- report's; the provider is filled only while no report has set it. p_tags has no default so
-- that calls with the eight arguments of the first signature resolve to it, which forwards here.
CREATE OR REPLACE FUNCTION dlr_log_send(
  p_message_id text,
  p_to_number text,
  p_from_number text,
  p_text_preview text,
  p_sent_at timestamptz,
  p_parts int,
  p_cost_eur numeric,
  p_country_code text,
  p_tags text[],
  p_provider text DEFAULT NULL
) RETURNS void
LANGUAGE sql VOLATILE
AS $$
  INSERT INTO sms_logs AS s (message_id, to_number, from_number, text_preview, sent_at, parts, cost_eur,
                             country_code, tags, provider, status, created_at, updated_at)
  VALUES (p_message_id, p_to_number, p_from_number, p_text_preview, coalesce(p_sent_at, now()), p_parts,
          p_cost_eur, p_country_code, p_tags, p_provider, 'pending', now(), now())
  ON CONFLICT (message_id) DO UPDATE SET
    -- The sender knows its own values best; reports only fill what is still NULL.
    to_number = coalesce(excluded.to_number, s.to_number),
    from_number = coalesce(excluded.from_number, s.from_number),
    text_preview = coalesce(excluded.text_preview, s.text_preview),
    sent_at = coalesce(p_sent_at, s.sent_at, excluded.sent_at),
    parts = coalesce(excluded.parts, s.parts),
    cost_eur = coalesce(excluded.cost_eur, s.cost_eur),
    country_code = coalesce(excluded.country_code, s.country_code),
    tags = coalesce(excluded.tags, s.tags),
    provider = coalesce(s.provider, excluded.provider),
    updated_at = now()
$$;

CREATE OR REPLACE FUNCTION dlr_log_send(
  p_message_id text,
  p_to_number text,
  p_from_number text DEFAULT NULL,
  p_text_preview text DEFAULT NULL,
  p_sent_at timestamptz DEFAULT now(),
  p_parts int DEFAULT NULL,
  p_cost_eur numeric DEFAULT NULL,
  p_country_code text DEFAULT NULL
) RETURNS void
LANGUAGE sql VOLATILE
AS $$
  SELECT dlr_log_send(p_message_id, p_to_number, p_from_number, p_text_preview, p_sent_at, p_parts,
                      p_cost_eur, p_country_code, NULL::text[], NULL::text)
$$;
