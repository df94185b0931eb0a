-- A gateway's zone-less carrier time (Vonage's scts, Twilio's RawDlrDoneDate, Plivo's
-- DeliveryReportTime, an SMPP receipt's done date, Jasmin's donedate) is no instant until the
-- operator names the gateway's zone (a profile's `timezone:`); until then the event time is
-- the time received. Either way the text the gateway wrote is kept with the report, so the
-- carrier's own clock can still be read later. NULL when the gateway sent none.
-- On the partitioned table this is a catalogue change only: no partition is rewritten.
ALTER TABLE dlr_events ADD COLUMN IF NOT EXISTS carrier_time text;
COMMENT ON COLUMN dlr_events.carrier_time IS
  'The gateway''s zone-less carrier time as it wrote it (e.g. Vonage scts "2001011400"); the event '
  'time only when the profile names the zone (timezone:). NULL when the report carried none.';
