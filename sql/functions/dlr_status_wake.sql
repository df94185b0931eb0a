-- Called by the writers' batch statements with the ids their upsert moved into a final status
-- (rows it inserted as well as rows it updated): one NOTIFY dlrd_status (payload: the message
-- id) per id with a live registration in dlr_status_waiters.
--
-- VOLATILE on purpose: its query takes a fresh snapshot, after the batch statement has taken
-- (and waited for) its row locks. A waiter registers in the same transaction in which it
-- reads the row FOR SHARE, so either the waiter's read waits for the writer's commit and sees
-- the final state, or the writer's row lock waits for the waiter's commit and this query
-- sees the registration: no wake-up can be lost between the two.
--
-- A waiter for a message with no row yet has no row to lock. For those ids the waiter, once
-- its registration has committed, takes this lock in exclusive mode (store::read_unknown)
-- and reads again: a writer that looked at the registrations before they committed holds
-- the lock until its own commit, so the read waits for it and sees its row; a writer that
-- comes later waits for the read and then sees the registration. The lock is taken before
-- the fast path below, which must not answer from a snapshot older than the registration.
-- Its key is dlr_status_waiters' oid, so that the two sides cannot name different locks.
--
-- The fast path: most batches commit while nobody waits, and matching a batch's thousand ids
-- against the waiters' index (sorting the array in the database's collation first) cost more
-- than the rest of the wake-up. The check runs inside the function, so it takes the same
-- fresh snapshot as the lookup after it.
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
  PERFORM pg_advisory_xact_lock_shared('dlr_status_waiters'::regclass::oid::bigint);
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
