-- The SMSPM article "How to Handle SMS Delivery Reports (DLR) in Production", section "What to Store":
-- verbatim: the table a reader of the article already has when they adopt dlrd. bench/run
-- creates it before `dlrd migrate` unless run with --table lean.
CREATE TABLE sms_logs (
id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
message_id TEXT NOT NULL UNIQUE, -- from API response
to_number TEXT NOT NULL,
from_number TEXT NOT NULL,
text_preview TEXT, -- first 50 chars, for debugging
status TEXT NOT NULL DEFAULT 'pending',
sent_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
delivered_at TIMESTAMPTZ,
parts INTEGER DEFAULT 1,
cost_eur NUMERIC(10,6),
country_code TEXT,
error_code TEXT -- populated on failure
);
CREATE INDEX ON sms_logs (message_id);
CREATE INDEX ON sms_logs (to_number, sent_at DESC);
CREATE INDEX ON sms_logs (status, sent_at DESC);
