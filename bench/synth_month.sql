-- A synthetic month of SMS traffic in sms_logs, for the insights tests, the README and the
-- query timings: several countries with different delivery profiles, one sender with a
-- reject problem, one market whose gateway never reports, log-normal send-to-deliver times.
--
--   psql "$URL" -v rows=1000000 -v seed=42 [-v days=30] -f bench/synth_month.sql
--
-- Same rows and seed give the same messages (timestamps are relative to now()). Message ids
-- are synth-<seed>-<n, zero-padded>, so a second run with another seed adds to the table. One INSERT from
-- generate_series: about a million rows every few seconds, most of it index maintenance.
\set ON_ERROR_STOP on
\if :{?rows}
\else
  \set rows 100000
\endif
\if :{?seed}
\else
  \set seed 42
\endif
\if :{?days}
\else
  \set days 30
\endif

-- Shares of all messages sent to each country and how they end (the rest stays pending).
-- Healthy European and North American routes deliver above 95% of finals; BR sits between
-- the 85% and 95% bands, IN under 85%, and VN's gateway accepts everything and never reports.
BEGIN;
CREATE TEMP TABLE synth_profile (
  country char(2), weight float8, prefix text,
  delivered float8, undelivered float8, expired float8, rejected float8,
  median_s float8, sigma float8  -- log-normal send-to-deliver time
) ON COMMIT DROP;
INSERT INTO synth_profile VALUES
  ('DE', 0.18, '+4915', 0.988, 0.006, 0.002, 0.001, 3, 0.5),
  ('GB', 0.14, '+447',  0.985, 0.007, 0.003, 0.001, 4, 0.6),
  ('FR', 0.10, '+336',  0.980, 0.010, 0.004, 0.002, 5, 0.6),
  ('US', 0.16, '+1',    0.978, 0.011, 0.005, 0.002, 6, 0.7),
  ('CA', 0.05, '+1',    0.979, 0.011, 0.004, 0.002, 6, 0.7),
  ('EE', 0.04, '+3725', 0.990, 0.004, 0.002, 0.001, 2, 0.4),
  ('NG', 0.05, '+234',  0.972, 0.014, 0.007, 0.003, 15, 1.0),
  ('BR', 0.08, '+5511', 0.900, 0.050, 0.030, 0.010, 12, 0.9),
  ('IN', 0.15, '+91',   0.800, 0.110, 0.060, 0.020, 25, 1.1),
  ('VN', 0.05, '+849',  0.0,   0.0,   0.0,   0.0,   0, 0);

SELECT setseed((:seed % 1000003) / 1000003.0) \g /dev/null

WITH p AS (
  -- Cumulative weights as bucket bounds for width_bucket, and the profile columns as arrays.
  SELECT array_agg(lo ORDER BY n) AS lo, array_agg(country ORDER BY n) AS country,
         array_agg(prefix ORDER BY n) AS prefix, array_agg(delivered ORDER BY n) AS d,
         array_agg(undelivered ORDER BY n) AS u, array_agg(expired ORDER BY n) AS e,
         array_agg(rejected ORDER BY n) AS r, array_agg(median_s ORDER BY n) AS med,
         array_agg(sigma ORDER BY n) AS sigma
    FROM (SELECT row_number() OVER () AS n, *,
                 coalesce(sum(weight) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS lo
            FROM synth_profile) x
),
g AS (
  -- One set of draws per message.
  SELECT i, random() AS r_country, random() AS r_outcome, random() AS r_sender,
         random() AS r_provider, random() AS r_code, random() AS r_number,
         random() AS u1, random() AS u2,
         -- Evenly over the period in id order, as live traffic is stored: the table and its
         -- indexes correlate with time as in production, and the inserts append to each index.
         now() - (1 - (i - 0.5) / :rows) * (:days * interval '1 day') AS sent_at
    FROM generate_series(1, :rows) AS i
  OFFSET 0
),
m AS (
  SELECT g.*, b,
         -- 5% of the traffic comes from PromoBlast, whose sender id many operators block.
         CASE WHEN g.r_sender < 0.40 THEN 'Acme' WHEN g.r_sender < 0.70 THEN 'BankOTP'
              WHEN g.r_sender < 0.95 THEN 'ShopCo' ELSE 'PromoBlast' END AS sender,
         -- Standard normal from Box-Muller, for the log-normal delivery time.
         sqrt(-2 * ln(1 - g.u1)) * cos(2 * pi() * g.u2) AS z
    FROM g, p, LATERAL (SELECT width_bucket(g.r_country, p.lo)) AS wb(b)
  OFFSET 0
),
o AS (
  SELECT m.*, p.country[b] AS country, p.prefix[b] AS prefix,
         CASE
           WHEN p.country[b] = 'VN' THEN 'sent'
           WHEN m.sender = 'PromoBlast' AND m.r_outcome < 0.30 THEN 'rejected'
           WHEN m.r_outcome < p.d[b] THEN 'delivered'
           WHEN m.r_outcome < p.d[b] + p.u[b] THEN 'undelivered'
           WHEN m.r_outcome < p.d[b] + p.u[b] + p.e[b] THEN 'expired'
           WHEN m.r_outcome < p.d[b] + p.u[b] + p.e[b] + p.r[b] THEN 'rejected'
           ELSE 'enroute'
         END AS outcome,
         p.med[b] * exp(p.sigma[b] * m.z) AS latency_s
    FROM m, p
  OFFSET 0
),
t AS (
  SELECT o.*,
         CASE o.outcome
           WHEN 'delivered' THEN o.sent_at + o.latency_s * interval '1 second'
           WHEN 'undelivered' THEN o.sent_at + 3 * o.latency_s * interval '1 second'
           WHEN 'expired' THEN o.sent_at + interval '48 hours'  -- the validity period
           WHEN 'rejected' THEN o.sent_at + interval '1 second'
         END AS final_at
    FROM o
  OFFSET 0  -- each step computes its columns once, instead of inlining them into every use
)
INSERT INTO sms_logs (message_id, to_number, from_number, provider, country_code, status, raw_status,
                      error_code, sent_at, status_at, delivered_at, parts, cost_eur,
                      created_at, updated_at)
SELECT 'synth-' || :seed || '-' || lpad(t.i::text, 10, '0'),
       t.prefix || lpad((floor(t.r_number * 1e8))::bigint::text, 8, '0'),
       t.sender,
       CASE WHEN t.r_provider < 0.8 THEN 'smspm' ELSE 'backup-gw' END,
       t.country,
       -- A final whose time has not come yet is still on its way.
       CASE WHEN t.final_at > now() THEN 'enroute' ELSE t.outcome END,
       upper(CASE WHEN t.final_at > now() THEN 'enroute' ELSE t.outcome END),
       CASE WHEN t.final_at > now() THEN NULL
            WHEN t.outcome = 'rejected' AND t.sender = 'PromoBlast' THEN '62'   -- sender id blocked
            WHEN t.outcome = 'rejected' THEN CASE WHEN t.r_code < 0.7 THEN '11' ELSE '88' END
            WHEN t.outcome = 'undelivered' THEN
              CASE WHEN t.r_code < 0.6 THEN '27' WHEN t.r_code < 0.85 THEN '31' ELSE '34' END
            WHEN t.outcome = 'expired' THEN CASE WHEN t.r_code < 0.7 THEN NULL ELSE '27' END
       END,
       t.sent_at,
       CASE WHEN t.final_at > now() THEN NULL ELSE t.final_at END,
       CASE WHEN t.outcome = 'delivered' AND t.final_at <= now() THEN t.final_at END,
       1, 0.04,
       t.sent_at,
       coalesce(least(t.final_at, now()), t.sent_at)
  FROM t;
COMMIT;

ANALYZE sms_logs;
