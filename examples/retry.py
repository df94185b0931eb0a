#!/usr/bin/env python3
"""Sends an SMS and retries it until it is delivered, on top of dlrd's status API.

Log the send (optional), long-poll for the final status, send again after undelivered or
expired, never after rejected. Standard library only. The long-poll may start before dlrd has
heard of the message at all: it waits for the first report like for any other.

    python3 retry.py --to +447700900123 --text 'Your code is 1234' \
        --send-cmd 'my-gateway-send "$TO" "$TEXT"'

Replace send_sms() with your gateway's client; --send-cmd is there so that the example runs
as it is (the command prints the gateway's message id; ATTEMPT, TO and TEXT are set).
Exit status: 0 delivered, 1 every attempt failed, 2 rejected, 3 no final status in time.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def send_sms(args, attempt):
    """Sends one SMS through the gateway; returns its message id."""
    env = dict(os.environ, ATTEMPT=str(attempt), TO=args.to, TEXT=args.text)
    out = subprocess.run(["sh", "-c", args.send_cmd], env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def call(url, body=None, timeout=90):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as res:
        return json.load(res)


def wait_final(dlrd, message_id, wait, give_up_s):
    """Long-polls until the message's status is final; None when it is not within give_up_s.

    A poll that ends before any report answers {"final": false, "known": false, ...}: ask again.
    """
    url = f"{dlrd}/v1/messages/{urllib.parse.quote(message_id, safe='')}?wait={wait}"
    deadline = time.monotonic() + give_up_s
    while time.monotonic() < deadline:
        try:
            state = call(url)
            if state["final"]:
                return state
        except (urllib.error.URLError, OSError):
            time.sleep(1)  # dlrd restarting or the database away: ask again
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--to", required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--send-cmd", required=True)
    p.add_argument("--dlrd", default=os.environ.get("DLRD_URL", "http://127.0.0.1:8080"))
    p.add_argument("--attempts", type=int, default=3)
    p.add_argument("--wait", default="30s", help="one long-poll (dlrd caps it at status_api.max_wait)")
    p.add_argument("--give-up", type=float, default=900, help="seconds to wait for a final status per attempt")
    p.add_argument("--tag", default="otp", help="logged with the send; expiry rules match on it")
    p.add_argument("--no-log-send", action="store_true",
                   help="do not log the send with dlrd (then no expiry rule or coverage figure knows it)")
    args = p.parse_args()

    for attempt in range(1, args.attempts + 1):
        message_id = send_sms(args, attempt)
        if not args.no_log_send:
            # Idempotent, never touches delivery state; expiry rules go by its tags and send time.
            call(f"{args.dlrd}/v1/messages", {"message_id": message_id, "to_number": args.to, "tags": [args.tag]})
        state = wait_final(args.dlrd, message_id, args.wait, args.give_up)
        if state is None:
            print(f"no final status for {message_id}", file=sys.stderr)
            return 3
        if state["status"] == "delivered":
            print(f"delivered: {message_id} (attempt {attempt})")
            return 0
        if not state["retryable"]:  # rejected: the number or the content is refused
            print(f"{state['status']}: {message_id}; not retrying", file=sys.stderr)
            return 2
        print(f"{state['status']}: {message_id} (attempt {attempt}); sending again", file=sys.stderr)
    print(f"gave up after {args.attempts} attempts", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
