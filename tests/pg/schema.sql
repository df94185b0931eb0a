CREATE FUNCTION public.dlr_log_parts(p_message_id text, p_part_ids text[]) RETURNS void
    LANGUAGE sql
    AS $$
  INSERT INTO dlr_message_parts (part_id, message_id, part)
  SELECT u.id, p_message_id, u.n
    FROM unnest(p_part_ids) WITH ORDINALITY AS u(id, n)
  ON CONFLICT (part_id) DO NOTHING
$$;

CREATE FUNCTION public.dlr_log_send(p_message_id text, p_to_number text, p_from_number text DEFAULT NULL::text, p_text_preview text DEFAULT NULL::text, p_sent_at timestamp with time zone DEFAULT now(), p_parts integer DEFAULT NULL::integer, p_cost_eur numeric DEFAULT NULL::numeric, p_country_code text DEFAULT NULL::text) RETURNS void
    LANGUAGE sql
    AS $$
  SELECT dlr_log_send(p_message_id, p_to_number, p_from_number, p_text_preview, p_sent_at, p_parts,
                      p_cost_eur, p_country_code, NULL::text[], NULL::text)
$$;

CREATE FUNCTION public.dlr_log_send(p_message_id text, p_to_number text, p_from_number text, p_text_preview text, p_sent_at timestamp with time zone, p_parts integer, p_cost_eur numeric, p_country_code text, p_tags text[], p_provider text DEFAULT NULL::text) RETURNS void
    LANGUAGE sql
    AS $$
  INSERT INTO sms_logs AS s (message_id, to_number, from_number, text_preview, sent_at, parts, cost_eur,
                             country_code, tags, provider, status, created_at, updated_at)
  VALUES (p_message_id, p_to_number, p_from_number, p_text_preview, coalesce(p_sent_at, now()), p_parts,
          p_cost_eur, p_country_code, p_tags, p_provider, 'pending', now(), now())
  ON CONFLICT (message_id) DO UPDATE SET
    -- The sender knows its own values best; reports only fill what is still NULL.
    to_number = coalesce(excluded.to_number, s.to_number),
    from_number = coalesce(excluded.from_number, s.from_number),
    text_preview = coalesce(excluded.text_preview, s.text_preview),
    sent_at = coalesce(p_sent_at, s.sent_at, excluded.sent_at),
    parts = coalesce(excluded.parts, s.parts),
    cost_eur = coalesce(excluded.cost_eur, s.cost_eur),
    country_code = coalesce(excluded.country_code, s.country_code),
    tags = coalesce(excluded.tags, s.tags),
    provider = coalesce(s.provider, excluded.provider),
    updated_at = now()
$$;

CREATE FUNCTION public.dlr_report_wins(p_status text, p_status_at timestamp with time zone, p_raw_status text, p_error_code text, p_old_status text, p_old_status_at timestamp with time zone, p_old_raw_status text, p_old_error_code text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT (dlr_status_class(p_status), p_status_at, dlr_status_ordinal(p_status),
          p_raw_status COLLATE "C", coalesce(p_error_code, '') COLLATE "C")
       > (dlr_status_class(coalesce(p_old_status, 'pending')), coalesce(p_old_status_at, '-infinity'),
          dlr_status_ordinal(coalesce(p_old_status, 'pending')), coalesce(p_old_raw_status, '') COLLATE "C",
          coalesce(p_old_error_code, '') COLLATE "C")
$$;

CREATE FUNCTION public.dlr_stats_breakdown(p_by text, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(key text, total bigint, delivered bigint, undelivered bigint, rejected bigint, expired bigint, failed bigint, pending bigint, delivery_rate double precision, failure_rate double precision, reject_share double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT t.key, t.total, t.delivered, t.undelivered, t.rejected, t.expired,
         t.undelivered + t.rejected + t.expired,
         t.total - t.delivered - t.undelivered - t.rejected - t.expired,
         t.delivered::float8 / nullif(t.delivered + t.undelivered + t.rejected + t.expired, 0),
         (t.undelivered + t.rejected + t.expired)::float8
           / nullif(t.delivered + t.undelivered + t.rejected + t.expired, 0),
         t.rejected::float8 / nullif(t.delivered + t.undelivered + t.rejected + t.expired, 0)
    FROM (
      SELECT CASE p_by WHEN 'country' THEN s.country_code
                       WHEN 'provider' THEN s.provider
                       WHEN 'sender' THEN s.from_number END AS key,
             count(*) AS total,
             count(*) FILTER (WHERE s.status = 'delivered') AS delivered,
             count(*) FILTER (WHERE s.status = 'undelivered') AS undelivered,
             count(*) FILTER (WHERE s.status = 'rejected') AS rejected,
             count(*) FILTER (WHERE s.status = 'expired' AND s.expired_by IS NULL) AS expired
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < p_to
         AND p_by IN ('country', 'provider', 'sender')
       GROUP BY 1
    ) t
   ORDER BY 10 DESC NULLS LAST, 2 DESC, 1 NULLS LAST
$$;

COMMENT ON FUNCTION public.dlr_stats_breakdown(p_by text, p_from timestamp with time zone, p_to timestamp with time zone) IS 'Messages sent in [p_from, p_to) grouped by p_by (''country'', ''provider'' or ''sender''; anything else gives no rows): counts per final carrier status, failed, pending (policy expiries included), delivered/final, failed/final and rejected/final (the reject share; NULL without finals). Worst failure rate first.';

CREATE FUNCTION public.dlr_stats_coverage(p_after interval, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(country text, total bigint, pending bigint, pending_share double precision, all_pending boolean)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT * FROM dlr_stats_coverage(p_after, p_from, p_to, 'country')
$$;

COMMENT ON FUNCTION public.dlr_stats_coverage(p_after interval, p_from timestamp with time zone, p_to timestamp with time zone) IS 'DLR coverage per country: dlr_stats_coverage(p_after, p_from, p_to, ''country'').';

CREATE FUNCTION public.dlr_stats_coverage(p_after interval, p_from timestamp with time zone, p_to timestamp with time zone, p_by text) RETURNS TABLE(key text, total bigint, pending bigint, pending_share double precision, all_pending boolean)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT t.key, t.total, t.pending, t.pending::float8 / t.total, t.pending = t.total
    FROM (
      SELECT CASE p_by WHEN 'provider' THEN s.provider WHEN 'sender' THEN s.from_number
                       ELSE s.country_code::text END AS key,
             count(*) AS total,
             count(*) FILTER (WHERE dlr_status_class(s.status) = 0 OR s.expired_by = 'policy') AS pending
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < least(p_to, now() - p_after)
       GROUP BY 1
    ) t
   ORDER BY 4 DESC, 2 DESC, 1 NULLS LAST
$$;

COMMENT ON FUNCTION public.dlr_stats_coverage(p_after interval, p_from timestamp with time zone, p_to timestamp with time zone, p_by text) IS 'DLR coverage per country, provider or sender (p_by): of the messages sent in [p_from, p_to) at least p_after ago (old enough that a report should have come), how many still have no carrier report (pending-like, or expired by dlrd''s own expiry rule), their share, and whether all are (a market or a gateway that never reports). Worst coverage first.';

CREATE FUNCTION public.dlr_stats_daily(p_from date, p_to date) RETURNS TABLE(day date, total bigint, delivered bigint, failed bigint, pending bigint, delivery_rate double precision, failure_rate double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  -- One index range scan per day: the planner cannot estimate how many groups a GROUP BY
  -- on the day expression makes (it guessed one per row and spilled a hash aggregate of
  -- 10M rows to disk), and an aggregate without GROUP BY gives the empty day its zero row.
  SELECT g.ts::date, c.total, c.delivered, c.failed, c.total - c.delivered - c.failed,
         c.delivered::float8 / nullif(c.delivered + c.failed, 0),
         c.failed::float8 / nullif(c.delivered + c.failed, 0)
    FROM generate_series(p_from::timestamp, p_to::timestamp, interval '1 day') AS g(ts)
   CROSS JOIN LATERAL (
      SELECT count(*) AS total,
             count(*) FILTER (WHERE dlr_status_class(s.status) = 2) AS delivered,
             count(*) FILTER (WHERE dlr_status_class(s.status) = 1 AND s.expired_by IS NULL) AS failed
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= g.ts AT TIME ZONE 'UTC'
         AND coalesce(s.sent_at, s.created_at) < (g.ts + interval '1 day') AT TIME ZONE 'UTC'
    ) c
   ORDER BY 1
$$;

COMMENT ON FUNCTION public.dlr_stats_daily(p_from date, p_to date) IS 'One row per UTC day from p_from to p_to inclusive (a day without messages has zero counts and NULL rates): messages sent that day, delivered, failed (undelivered, rejected, expired, as the carrier reported them), still pending (policy expiries included), delivered/final and failed/final (NULL without finals).';

CREATE FUNCTION public.dlr_stats_error_codes(p_from timestamp with time zone, p_to timestamp with time zone, p_top integer) RETURNS TABLE(country text, status text, error_code text, messages bigint, share double precision, rank bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT t.country, t.status, t.error_code, t.messages, t.messages::float8 / t.status_total, t.rank
    FROM (
      SELECT s.country_code AS country, s.status AS status, s.error_code AS error_code,
             count(*) AS messages,
             sum(count(*)) OVER (PARTITION BY s.country_code, s.status) AS status_total,
             row_number() OVER (PARTITION BY s.country_code, s.status
                                ORDER BY count(*) DESC, s.error_code NULLS LAST) AS rank
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < p_to
         AND dlr_status_class(s.status) = 1 AND s.expired_by IS NULL
       GROUP BY s.country_code, s.status, s.error_code
    ) t
   WHERE t.rank <= p_top
   ORDER BY 1 NULLS LAST, 2, 6
$$;

COMMENT ON FUNCTION public.dlr_stats_error_codes(p_from timestamp with time zone, p_to timestamp with time zone, p_top integer) IS 'The p_top most frequent error codes (NULL: none given) per country and failed status (undelivered, rejected, expired; carrier reports only, no policy expiry) among messages sent in [p_from, p_to): messages with the code, their share of that country and status, and the rank (1 = most frequent).';

CREATE FUNCTION public.dlr_stats_latency(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(country text, delivered bigint, p50_seconds double precision, p90_seconds double precision, p99_seconds double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
  SELECT t.country, t.delivered, t.p[1], t.p[2], t.p[3]
    FROM (
      SELECT s.country_code AS country,
             count(*) AS delivered,
             percentile_cont(ARRAY[0.5, 0.9, 0.99]::float8[]) WITHIN GROUP (
               ORDER BY greatest(date_part('epoch', s.delivered_at - s.sent_at), 0)) AS p
        FROM sms_logs s
       WHERE coalesce(s.sent_at, s.created_at) >= p_from
         AND coalesce(s.sent_at, s.created_at) < p_to
         AND s.status = 'delivered' AND s.sent_at IS NOT NULL AND s.delivered_at IS NOT NULL
       GROUP BY 1
    ) t
   ORDER BY 4 DESC, 1 NULLS LAST
$$;

COMMENT ON FUNCTION public.dlr_stats_latency(p_from timestamp with time zone, p_to timestamp with time zone) IS 'Time from send (sent_at) to delivery (delivered_at) in seconds per country, for the delivered messages sent in [p_from, p_to) whose sender logged a send time: count, p50, p90 and p99 (continuous percentiles). Slowest p90 first.';

CREATE FUNCTION public.dlr_status_class(status text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT CASE status
           WHEN 'delivered' THEN 2
           WHEN 'expired' THEN 1
           WHEN 'undelivered' THEN 1
           WHEN 'rejected' THEN 1
           ELSE 0
         END
$$;

CREATE FUNCTION public.dlr_status_ordinal(status text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT CASE status
           WHEN 'delivered' THEN 4
           WHEN 'rejected' THEN 3
           WHEN 'undelivered' THEN 2
           WHEN 'expired' THEN 1
           ELSE 0
         END
$$;

CREATE FUNCTION public.dlr_status_wake(p_ids text[]) RETURNS integer
    LANGUAGE plpgsql
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

CREATE TABLE public.dlr_alert_cursor (
    sink text NOT NULL,
    upto_txid bigint DEFAULT 0 NOT NULL,
    upto_id bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.dlr_alert_delivery (
    notice_id bigint NOT NULL,
    sink text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone,
    sent_at timestamp with time zone,
    digested boolean DEFAULT false NOT NULL,
    dropped_reason text,
    last_error text
);

CREATE TABLE public.dlr_alert_outbox (
    id bigint NOT NULL,
    kind text DEFAULT 'message_failed'::text NOT NULL,
    message_id character varying(128),
    status text,
    raw_status text,
    error_code text,
    recipient text,
    sender text,
    country text,
    provider text,
    status_at timestamp with time zone,
    details jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    txid bigint DEFAULT txid_current() NOT NULL
);

CREATE SEQUENCE public.dlr_alert_outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.dlr_alert_outbox_id_seq OWNED BY public.dlr_alert_outbox.id;

CREATE TABLE public.dlr_events (
    id bigint NOT NULL,
    message_id text NOT NULL,
    status text NOT NULL,
    raw_status text,
    event_at timestamp with time zone NOT NULL,
    event_time_from_gateway boolean DEFAULT false NOT NULL,
    received_at timestamp with time zone,
    provider text DEFAULT ''::text NOT NULL,
    recipient text,
    error_code text,
    parts integer,
    cost numeric(12,5),
    stored_at timestamp with time zone DEFAULT now() NOT NULL,
    carrier_time text
)
PARTITION BY RANGE (event_at);

COMMENT ON COLUMN public.dlr_events.carrier_time IS 'The gateway''s zone-less carrier time as it wrote it (e.g. Vonage scts "2001011400"); the event time only when the profile names the zone (timezone:). NULL when the report carried none.';

CREATE SEQUENCE public.dlr_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.dlr_events_id_seq OWNED BY public.dlr_events.id;

CREATE TABLE public.dlr_events_default (
    id bigint DEFAULT nextval('public.dlr_events_id_seq'::regclass) NOT NULL,
    message_id text NOT NULL,
    status text NOT NULL,
    raw_status text,
    event_at timestamp with time zone NOT NULL,
    event_time_from_gateway boolean DEFAULT false NOT NULL,
    received_at timestamp with time zone,
    provider text DEFAULT ''::text NOT NULL,
    recipient text,
    error_code text,
    parts integer,
    cost numeric(12,5),
    stored_at timestamp with time zone DEFAULT now() NOT NULL,
    carrier_time text
);

CREATE TABLE public.dlr_message_parts (
    part_id text NOT NULL,
    message_id text NOT NULL,
    part integer NOT NULL,
    status text,
    raw_status text,
    status_at timestamp with time zone,
    error_code text,
    provider text,
    CONSTRAINT dlr_message_parts_part_check CHECK ((part >= 1))
);

COMMENT ON TABLE public.dlr_message_parts IS 'Parts of long messages, registered by the sender (dlr_log_parts or POST /v1/messages part_ids), each with its own converged state.';

CREATE SEQUENCE public.dlr_notice_mark_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

CREATE TABLE public.dlr_quarantine (
    id bigint NOT NULL,
    received_at timestamp with time zone,
    provider text DEFAULT ''::text NOT NULL,
    reason text NOT NULL,
    field text DEFAULT ''::text NOT NULL,
    content_type text DEFAULT ''::text NOT NULL,
    body bytea NOT NULL,
    stored_at timestamp with time zone DEFAULT now() NOT NULL,
    replayed_at timestamp with time zone
);

CREATE SEQUENCE public.dlr_quarantine_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.dlr_quarantine_id_seq OWNED BY public.dlr_quarantine.id;

CREATE TABLE public.dlr_rule_state (
    rule text NOT NULL,
    group_key text NOT NULL,
    firing boolean DEFAULT false NOT NULL,
    since timestamp with time zone,
    last_share numeric,
    last_failed bigint,
    last_total bigint,
    last_evaluated_at timestamp with time zone
);

CREATE TABLE public.dlr_schema_migrations (
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now(),
    checksum text
);

CREATE VIEW public.dlr_stats_firing_rules AS
 SELECT dlr_rule_state.rule,
    dlr_rule_state.group_key,
    dlr_rule_state.since,
    dlr_rule_state.last_share,
    dlr_rule_state.last_failed,
    dlr_rule_state.last_total,
    dlr_rule_state.last_evaluated_at
   FROM public.dlr_rule_state
  WHERE dlr_rule_state.firing;

COMMENT ON VIEW public.dlr_stats_firing_rules IS 'Rate rule groups firing now (dlr_rule_state is one small row per rule and group, so a view is cheap): rule, group (country or ''''), since when, and the last evaluated share and counts.';

CREATE UNLOGGED TABLE public.dlr_status_waiters (
    message_id text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

CREATE TABLE public.sms_logs (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    message_id text NOT NULL,
    to_number text,
    text_preview text,
    status text DEFAULT 'pending'::text,
    error_code text,
    sent_at timestamp with time zone DEFAULT now(),
    delivered_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now(),
    from_number text,
    raw_status text,
    status_at timestamp with time zone,
    provider text,
    country_code text,
    parts integer DEFAULT 1,
    cost_eur numeric(10,6),
    created_at timestamp with time zone DEFAULT now(),
    failure_notice_mark bigint,
    tags text[],
    expired_by text,
    policy_notice_mark bigint
)
WITH (fillfactor='80');

COMMENT ON COLUMN public.sms_logs.failure_notice_mark IS 'Set once, by the write statement that moved the message into a failed status and noticed it (a value of dlr_notice_mark_seq); NULL while no failure notice was written.';

COMMENT ON COLUMN public.sms_logs.expired_by IS '''policy'' when dlrd''s expiry rule set the status (raw_status dlrd:expired:<rule>); NULL when the status is a carrier''s report (a later carrier report that wins the row clears it).';

COMMENT ON COLUMN public.sms_logs.policy_notice_mark IS 'Set once, by the write statement that moved the message into a policy expiry and noticed it (message_expired_by_policy; a value of dlr_notice_mark_seq); NULL while no such notice was written.';

ALTER TABLE ONLY public.dlr_events ATTACH PARTITION public.dlr_events_default DEFAULT;

ALTER TABLE ONLY public.dlr_alert_outbox ALTER COLUMN id SET DEFAULT nextval('public.dlr_alert_outbox_id_seq'::regclass);

ALTER TABLE ONLY public.dlr_events ALTER COLUMN id SET DEFAULT nextval('public.dlr_events_id_seq'::regclass);

ALTER TABLE ONLY public.dlr_quarantine ALTER COLUMN id SET DEFAULT nextval('public.dlr_quarantine_id_seq'::regclass);

ALTER TABLE ONLY public.dlr_alert_cursor
    ADD CONSTRAINT dlr_alert_cursor_pkey PRIMARY KEY (sink);

ALTER TABLE ONLY public.dlr_alert_delivery
    ADD CONSTRAINT dlr_alert_delivery_pkey PRIMARY KEY (notice_id, sink);

ALTER TABLE ONLY public.dlr_alert_outbox
    ADD CONSTRAINT dlr_alert_outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.dlr_events
    ADD CONSTRAINT dlr_events_report_key UNIQUE (message_id, status, event_at, provider);

ALTER TABLE ONLY public.dlr_events_default
    ADD CONSTRAINT dlr_events_default_message_id_status_event_at_provider_key UNIQUE (message_id, status, event_at, provider);

ALTER TABLE ONLY public.dlr_message_parts
    ADD CONSTRAINT dlr_message_parts_message_id_part_key UNIQUE (message_id, part);

ALTER TABLE ONLY public.dlr_message_parts
    ADD CONSTRAINT dlr_message_parts_pkey PRIMARY KEY (part_id);

ALTER TABLE ONLY public.dlr_quarantine
    ADD CONSTRAINT dlr_quarantine_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.dlr_rule_state
    ADD CONSTRAINT dlr_rule_state_pkey PRIMARY KEY (rule, group_key);

ALTER TABLE ONLY public.dlr_schema_migrations
    ADD CONSTRAINT dlr_schema_migrations_pkey PRIMARY KEY (name);

ALTER TABLE ONLY public.dlr_status_waiters
    ADD CONSTRAINT dlr_status_waiters_pkey PRIMARY KEY (message_id);

ALTER TABLE ONLY public.sms_logs
    ADD CONSTRAINT sms_logs_message_id_key UNIQUE (message_id);

ALTER TABLE ONLY public.sms_logs
    ADD CONSTRAINT sms_logs_pkey PRIMARY KEY (id);

CREATE INDEX dlr_alert_delivery_due ON public.dlr_alert_delivery USING btree (sink, next_attempt_at) WHERE ((sent_at IS NULL) AND (dropped_reason IS NULL));

CREATE INDEX dlr_alert_outbox_txid_id ON public.dlr_alert_outbox USING btree (txid, id);

CREATE INDEX dlr_events_stored_at_brin ON ONLY public.dlr_events USING brin (stored_at);

CREATE INDEX dlr_events_default_stored_at_idx ON public.dlr_events_default USING brin (stored_at);

CREATE UNIQUE INDEX dlr_quarantine_payload_key ON public.dlr_quarantine USING btree (provider, received_at, reason, sha256(body));

CREATE INDEX dlr_quarantine_pending ON public.dlr_quarantine USING btree (id) WHERE (replayed_at IS NULL);

CREATE INDEX idx_sms_logs_final_status_at ON public.sms_logs USING btree (status_at) WHERE (status = ANY (ARRAY[('delivered'::character varying)::text, ('undelivered'::character varying)::text, ('rejected'::character varying)::text, ('expired'::character varying)::text]));

CREATE INDEX idx_sms_logs_pending_since ON public.sms_logs USING btree (COALESCE(sent_at, created_at)) WHERE (public.dlr_status_class(status) = 0);

CREATE INDEX idx_sms_logs_send_time ON public.sms_logs USING btree (COALESCE(sent_at, created_at));

CREATE INDEX idx_sms_logs_status ON public.sms_logs USING btree (status);

ALTER INDEX public.dlr_events_report_key ATTACH PARTITION public.dlr_events_default_message_id_status_event_at_provider_key;

ALTER INDEX public.dlr_events_stored_at_brin ATTACH PARTITION public.dlr_events_default_stored_at_idx;

ALTER TABLE ONLY public.dlr_alert_delivery
    ADD CONSTRAINT dlr_alert_delivery_notice_id_fkey FOREIGN KEY (notice_id) REFERENCES public.dlr_alert_outbox(id) ON DELETE CASCADE;
