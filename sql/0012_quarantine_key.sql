-- dlr_quarantine had no natural key, so a batch written again after an unknown commit outcome
-- (the connection broke during COMMIT; the writer retries the whole batch) stored its
-- quarantined payloads twice. One payload is now one row: the same profile, arrival time (to
-- the microsecond), reason and bytes. Duplicates already stored keep their oldest row.
DELETE FROM dlr_quarantine a USING dlr_quarantine b
 WHERE a.id > b.id AND a.provider = b.provider AND a.received_at = b.received_at
   AND a.reason = b.reason AND a.body = b.body;
CREATE UNIQUE INDEX IF NOT EXISTS dlr_quarantine_payload_key
  ON dlr_quarantine (provider, received_at, reason, sha256(body));
