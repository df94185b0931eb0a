-- Long messages whose parts are reported one by one (Vonage, Routee and SMPP receipts carry
-- each part's own id): the sender registers the parts' ids under the message, each part's
-- state converges like a message's, and the message's row follows one rule over its parts:
-- failed when any part's state is a failure (the latest such part decides), delivered when
-- every part is delivered, pending otherwise. The rule reads only the parts' converged
-- states, so any arrival order gives the same row.
CREATE TABLE IF NOT EXISTS dlr_message_parts (
  part_id text PRIMARY KEY,
  message_id text NOT NULL,
  part int NOT NULL CHECK (part >= 1),
  status text,
  raw_status text,
  status_at timestamptz,
  error_code text,
  provider text,
  UNIQUE (message_id, part)
);
COMMENT ON TABLE dlr_message_parts IS
  'Parts of long messages, registered by the sender (dlr_log_parts or POST /v1/messages part_ids), each with its own converged state.';

-- Registers the parts of a message in order (part 1 is the first id). Idempotent.
CREATE OR REPLACE FUNCTION dlr_log_parts(p_message_id text, p_part_ids text[]) RETURNS void
LANGUAGE sql VOLATILE
AS $$
  INSERT INTO dlr_message_parts (part_id, message_id, part)
  SELECT u.id, p_message_id, u.n
    FROM unnest(p_part_ids) WITH ORDINALITY AS u(id, n)
  ON CONFLICT (part_id) DO NOTHING
$$;
