#!/bin/sh
# Sends an SMS and retries it until it is delivered, on top of dlrd's status API: log the
# send (optional), long-poll for the final status, send again after undelivered or expired,
# never after rejected. The long-poll may start before dlrd has heard of the message at all:
# it waits for the first report like for any other.
#
#   SEND_CMD='my-gateway-send "$TO" "$TEXT"' TO=+447700900123 TEXT='Your code is 1234' ./retry.sh
#
# SEND_CMD   sends one SMS through your gateway and prints the gateway's message id (run with
#            sh -c; ATTEMPT, TO and TEXT are in its environment). Ids are used in URLs as
#            they are, so they must be URL-safe (gateways' ids are).
# DLRD_URL   dlrd's address (default http://127.0.0.1:8080)
# MAX_ATTEMPTS  sends at most (default 3)
# WAIT       one long-poll (default 30s; dlrd caps it at status_api.max_wait)
# GIVE_UP_S  seconds to wait for a final status per attempt (default 900; with an expiry rule
#            such as "otp after 10m", a pending message turns expired before this)
# TAGS       tag logged with the send, matched by expiry rules (default otp)
# LOG_SEND   0: do not log the send with dlrd (then no expiry rule or coverage figure knows
#            it); default 1
#
# Exit status: 0 delivered, 1 every attempt failed, 2 rejected (not retried), 3 no final
# status in time or an error.
set -u
DLRD_URL=${DLRD_URL:-http://127.0.0.1:8080}
MAX_ATTEMPTS=${MAX_ATTEMPTS:-3}
WAIT=${WAIT:-30s}
GIVE_UP_S=${GIVE_UP_S:-900}
TAGS=${TAGS:-otp}
LOG_SEND=${LOG_SEND:-1}
export TO TEXT

attempt=1
while [ "$attempt" -le "$MAX_ATTEMPTS" ]; do
  id=$(ATTEMPT=$attempt sh -c "$SEND_CMD") || { echo "send failed (attempt $attempt)" >&2; exit 3; }
  [ -n "$id" ] || { echo "SEND_CMD printed no message id" >&2; exit 3; }

  # Log the send (idempotent; never touches delivery state): dlrd then knows its tags and
  # send time, which the expiry rules go by.
  if [ "$LOG_SEND" != 0 ]; then
    curl -fsS -X POST "$DLRD_URL/v1/messages" -H 'Content-Type: application/json' \
      -d "{\"message_id\":\"$id\",\"to_number\":\"$TO\",\"tags\":[\"$TAGS\"]}" >/dev/null ||
      { echo "could not log $id with dlrd" >&2; exit 3; }
  fi

  # Long-poll until the status is final. The answer comes as soon as the report arrives; a
  # poll that ends first ("final":false, and "known":false before any report) asks again.
  started=$(date +%s)
  while :; do
    if body=$(curl -fsS "$DLRD_URL/v1/messages/$id?wait=$WAIT"); then
      case $body in *'"final":true'*) break ;; esac
    else
      sleep 1  # dlrd restarting or the database away: ask again
    fi
    if [ $(($(date +%s) - started)) -ge "$GIVE_UP_S" ]; then
      echo "no final status for $id after ${GIVE_UP_S}s" >&2
      exit 3
    fi
  done

  # The message's own status is the first "status" in the answer (history comes last).
  status=$(printf '%s' "$body" | grep -o '"status":"[a-z]*"' | head -n 1 | cut -d '"' -f 4)
  case $status in
    delivered)
      echo "delivered: $id (attempt $attempt)"
      exit 0 ;;
    rejected)
      echo "rejected: $id; not retrying (the number or the content is refused)" >&2
      exit 2 ;;
    *)  # undelivered, expired: "retryable":true
      echo "$status: $id (attempt $attempt); sending again" >&2 ;;
  esac
  attempt=$((attempt + 1))
done
echo "gave up after $MAX_ATTEMPTS attempts" >&2
exit 1
