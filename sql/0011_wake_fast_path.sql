-- dlr_status_wake with a fast path: most batches commit while nobody waits, and matching a
-- batch's thousand ids against the waiters' index (sorting the array in the database's
-- collation first) cost more than the rest of the wake-up. The check runs inside the
-- VOLATILE function, so it takes the same fresh snapshot as the lookup after it (see 0008):
-- a waiter that registered before the batch's row locks were granted is still seen.
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
  IF NOT EXISTS (SELECT 1 FROM dlr_status_waiters) THEN
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
