-- dlrd's own expiry (expiry.rules) is the application giving up on a message, not the
-- carrier's word: the row keeps the carrier's provider and says who set the status, so
-- carrier failure rates, rate rules and coverage can leave it out (or count it on purpose).
--
-- expired_by is 'policy' while the row's status is an expiry rule's report (raw_status
-- 'dlrd:expired:<rule>'), NULL otherwise: a later carrier report that wins the row clears it.
-- dlr_events needs nothing: the expiry's event row keeps provider 'dlrd' and its raw status,
-- so the history still says who reported what.
ALTER TABLE sms_logs ADD COLUMN IF NOT EXISTS expired_by text;
COMMENT ON COLUMN sms_logs.expired_by IS
  '''policy'' when dlrd''s expiry rule set the status (raw_status dlrd:expired:<rule>); NULL when '
  'the status is a carrier''s report (a later carrier report that wins the row clears it).';

-- The policy notice's own once-marker, apart from failure_notice_mark: a carrier failure
-- after a policy expiry is still noticed as a failure.
ALTER TABLE sms_logs ADD COLUMN IF NOT EXISTS policy_notice_mark bigint;
COMMENT ON COLUMN sms_logs.policy_notice_mark IS
  'Set once, by the write statement that moved the message into a policy expiry and noticed it '
  '(message_expired_by_policy; a value of dlr_notice_mark_seq); NULL while no such notice was written.';

-- Rows an expiry rule wrote before: marked, their notice counted as the policy notice, and
-- provider given back as far as the history knows it (the carrier's last report; the send's
-- own provider was overwritten and is gone).
UPDATE sms_logs s
   SET expired_by = 'policy',
       policy_notice_mark = s.failure_notice_mark,
       failure_notice_mark = NULL,
       provider = (SELECT e.provider FROM dlr_events e
                    WHERE e.message_id = s.message_id AND e.provider <> 'dlrd'
                    ORDER BY e.event_at DESC, e.id DESC LIMIT 1)
 WHERE s.status = 'expired' AND s.provider = 'dlrd' AND starts_with(s.raw_status, 'dlrd:expired:');
