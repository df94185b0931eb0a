# Writes the SQL of bench/run's PostgreSQL ceiling: nb transactions, each one 1,000-row
# INSERT ... ON CONFLICT DO UPDATE into sms_logs from client-sent arrays, for connection c,
# under the writers' convergence rule (dlr_report_wins).
# usage: awk -v c=1 -v nb=200 -v n=1000 [-v pace_ms=100] -f upsert_sql.awk > upsert-1.sql
# With pace_ms, batch b starts no earlier than b * pace_ms after the first (a fixed rate).
BEGIN {
  if (pace_ms > 0) print "SELECT clock_timestamp() AS t0 \\gset"
  split("delivered delivered delivered delivered delivered delivered delivered delivered delivered undelivered", words, " ")
  first = (c - 1) * nb * n
  for (b = 0; b < nb; b++) {
    ids = ""; tos = ""; sts = ""; ats = ""
    for (i = 1; i <= n; i++) {
      k = first + b * n + i
      sep = (i == 1) ? "" : ","
      ids = ids sep "c-" k
      tos = tos sep sprintf("+4477009%05d", k % 100000)
      sts = sts sep words[(k % 10) + 1]
      ats = ats sep sprintf("\"2026-01-01 00:%02d:%02d.%03d+00\"", int(k / 60000) % 60, int(k / 1000) % 60, k % 1000)
    }
    print "INSERT INTO sms_logs AS s (message_id, to_number, status, raw_status, status_at, delivered_at, provider, updated_at)"
    print "SELECT m, r, st, st, t, CASE WHEN st = 'delivered' THEN t END, 'smspm', now()"
    print "  FROM unnest('{" ids "}'::text[], '{" tos "}'::text[], '{" sts "}'::text[], '{" ats "}'::timestamptz[]) AS u(m, r, st, t)"
    print "ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, raw_status = excluded.raw_status,"
    print "  status_at = excluded.status_at, delivered_at = coalesce(excluded.delivered_at, s.delivered_at),"
    print "  provider = excluded.provider, updated_at = now()"
    print "WHERE dlr_report_wins(excluded.status, excluded.status_at, excluded.raw_status, NULL,"
    print "                      s.status, s.status_at, s.raw_status, s.error_code);"
    if (pace_ms > 0) printf "SELECT pg_sleep_until(:'t0'::timestamptz + interval '1 millisecond' * %d);\n", (b + 1) * pace_ms
  }
}
