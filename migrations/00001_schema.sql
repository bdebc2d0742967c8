-- +goose Up

-- pg_trgm serves the queue's free-text search (donor, email, reference,
-- transaction id) with an index instead of a sequential scan.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One tenant is one customer: one Virtuous organization with its own API key,
-- webhook subscription, rate budget and reconciliation settings.
CREATE TABLE tenants (
    id                      bigserial PRIMARY KEY,
    slug                    text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'),
    name                    text NOT NULL CHECK (name <> ''),
    virtuous_base_url       text NOT NULL,
    virtuous_app_url        text NOT NULL DEFAULT 'https://app.virtuoussoftware.com',
    -- Secrets are sealed with BACKSTOP_SECRET_KEY (AES-GCM); never stored in clear.
    virtuous_key_enc        bytea NOT NULL,
    webhook_secret_enc      bytea,
    webhook_token_enc       bytea NOT NULL,
    signature_header        text NOT NULL DEFAULT 'X-Virtuous-Signature',
    -- The intake token is shown once; only its SHA-256 is kept.
    intake_token_hash       bytea NOT NULL UNIQUE,
    source_stripe           text NOT NULL DEFAULT 'Backstop-Stripe',
    source_eventbrite       text NOT NULL DEFAULT 'Backstop-Eventbrite',
    source_other            text NOT NULL DEFAULT 'Backstop',
    stuck_after_s           integer NOT NULL DEFAULT 86400 CHECK (stuck_after_s > 0),
    needs_review_after_s    integer NOT NULL DEFAULT 259200 CHECK (needs_review_after_s > 0),
    lookback_s              integer NOT NULL DEFAULT 86400 CHECK (lookback_s > 0),
    missed_every_s          integer NOT NULL DEFAULT 21600 CHECK (missed_every_s > 0),
    stuck_every_s           integer NOT NULL DEFAULT 10800 CHECK (stuck_every_s > 0),
    drift_every_s           integer NOT NULL DEFAULT 86400 CHECK (drift_every_s > 0),
    daily_at_hour           integer NOT NULL DEFAULT 6 CHECK (daily_at_hour BETWEEN 0 AND 23),
    drift_policy            text NOT NULL DEFAULT 'manual'
                            CHECK (drift_policy IN ('manual', 'most-recent', 'ownership', 'virtuous')),
    field_owners            jsonb NOT NULL DEFAULT '{}',
    submit_max_attempts     integer NOT NULL DEFAULT 8 CHECK (submit_max_attempts > 0),
    rate_reserve_pct        integer NOT NULL DEFAULT 20 CHECK (rate_reserve_pct BETWEEN 0 AND 90),
    age_amber_s             integer NOT NULL DEFAULT 259200 CHECK (age_amber_s > 0),
    age_red_s               integer NOT NULL DEFAULT 604800 CHECK (age_red_s > 0),
    drift_escalate_records  integer NOT NULL DEFAULT 50 CHECK (drift_escalate_records > 0),
    thresholds              jsonb NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    email          text NOT NULL CHECK (email <> ''),
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('staff', 'engineer')),
    tenant_id      bigint REFERENCES tenants (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    -- A staff user belongs to exactly one tenant; an engineer to none.
    CONSTRAINT users_role_tenant CHECK ((role = 'staff') = (tenant_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Server-side sessions, in the shape alexedwards/scs/postgresstore expects.
CREATE TABLE sessions (
    token   text PRIMARY KEY,
    data    bytea NOT NULL,
    expiry  timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- Failed sign-ins, counted per account and per address for throttling.
-- Shared by every web process, so it lives here rather than in memory.
CREATE TABLE login_failures (
    id       bigserial PRIMARY KEY,
    account  text NOT NULL,
    addr     text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_account ON login_failures (account, at);
CREATE INDEX login_failures_addr ON login_failures (addr, at);

-- The sync queue: one row per Gift or Contact the platform syncs, keyed by the
-- platform's id and by the external reference Virtuous also knows
-- (transactionSource/transactionId for gifts, referenceSource/referenceId for
-- contacts). Only internal/store's compare-and-set writes status.
CREATE TABLE records (
    id                    bigserial PRIMARY KEY,
    tenant_id             bigint NOT NULL REFERENCES tenants (id),
    kind                  text NOT NULL CHECK (kind IN ('gift', 'contact')),
    platform_id           text NOT NULL CHECK (platform_id <> ''),
    source                text NOT NULL CHECK (source IN ('stripe', 'eventbrite', 'other')),
    source_ref            text NOT NULL CHECK (source_ref <> ''),
    -- What links need beyond the reference: Stripe livemode, Eventbrite event id.
    source_meta           jsonb NOT NULL DEFAULT '{}',
    ext_source            text NOT NULL CHECK (ext_source <> ''),
    ext_id                text NOT NULL CHECK (ext_id <> ''),
    status                text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'submitted', 'confirmed', 'needs_review',
                                            'failed', 'conflict', 'discarded')),
    payload               jsonb NOT NULL,
    payload_sha           bytea NOT NULL,
    donor_name            text NOT NULL DEFAULT '',
    donor_email           text NOT NULL DEFAULT '',
    amount_minor          bigint,
    currency              text,
    gift_date             date,
    virtuous_id           bigint,
    virtuous_contact_id   bigint,
    -- The Virtuous side as last seen, normalised to the drift mapping.
    virtuous_data         jsonb NOT NULL DEFAULT '{}',
    virtuous_modified_at  timestamptz,
    virtuous_deleted_at   timestamptz,
    created_at            timestamptz NOT NULL,
    platform_updated_at   timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    submitted_at          timestamptz,
    confirmed_at          timestamptz,
    last_sync_at          timestamptz,
    confirmed_via         text CHECK (confirmed_via IN ('webhook', 'reconciliation', 'lookup', 'manual')),
    attempts              integer NOT NULL DEFAULT 0,
    last_error            text NOT NULL DEFAULT '',
    -- Set when either side changed after confirmation; the drift pass clears it.
    drift_dirty           boolean NOT NULL DEFAULT false,
    version               bigint NOT NULL DEFAULT 1,
    age_at                timestamptz GENERATED ALWAYS AS (coalesce(submitted_at, created_at)) STORED,
    search_text           text GENERATED ALWAYS AS (
                              lower(donor_name || ' ' || donor_email || ' ' || source_ref || ' ' ||
                                    ext_id || ' ' || platform_id)) STORED,
    CONSTRAINT records_platform_key UNIQUE (tenant_id, kind, platform_id),
    CONSTRAINT records_external_key UNIQUE (tenant_id, kind, ext_source, ext_id),
    CONSTRAINT records_amount_positive CHECK (amount_minor IS NULL OR amount_minor > 0)
);
-- Queues and passes: status within a tenant, ordered by age, amount or gift
-- date. The passes walk submitted records by age; the amount, date and
-- search orders serve only the three queues, so those indexes are partial:
-- a record confirmed by a pass (most records) never touches them.
CREATE INDEX records_queue_age ON records (tenant_id, status, age_at, id);
CREATE INDEX records_queue_amount ON records (tenant_id, status, amount_minor, id)
    WHERE status IN ('needs_review', 'conflict', 'failed');
CREATE INDEX records_queue_date ON records (tenant_id, status, gift_date, id)
    WHERE status IN ('needs_review', 'conflict', 'failed');
-- The runbook looks records up by donor email across every status.
CREATE INDEX records_email ON records (tenant_id, lower(donor_email));
CREATE INDEX records_virtuous_id ON records (tenant_id, kind, virtuous_id) WHERE virtuous_id IS NOT NULL;
CREATE INDEX records_virtuous_contact ON records (tenant_id, virtuous_contact_id) WHERE virtuous_contact_id IS NOT NULL;
CREATE INDEX records_drift_dirty ON records (tenant_id, id) WHERE drift_dirty;
CREATE INDEX records_search ON records USING gin (search_text gin_trgm_ops)
    WHERE status IN ('needs_review', 'conflict', 'failed');

-- Raw Virtuous events as received, stored before the webhook is acknowledged.
CREATE TABLE inbound_events (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id),
    -- event + object id + modifiedDateTimeUtc: a redelivery has the same key.
    dedupe_key   text NOT NULL,
    event        text NOT NULL,
    object_kind  text NOT NULL DEFAULT '',
    virtuous_id  bigint,
    modified_at  timestamptz,
    body         bytea NOT NULL,
    received_at  timestamptz NOT NULL,
    applied_at   timestamptz,
    outcome      text NOT NULL DEFAULT '',
    CONSTRAINT inbound_events_dedupe UNIQUE (tenant_id, dedupe_key)
);
-- The apply queue: deliveries stored but not yet applied.
CREATE INDEX inbound_events_unapplied ON inbound_events (tenant_id, id) WHERE applied_at IS NULL;

-- Virtuous contacts as last seen (webhooks and Query), keyed by Virtuous id.
-- A gift's donor fields are compared against its contact here.
CREATE TABLE virtuous_contacts (
    tenant_id    bigint NOT NULL REFERENCES tenants (id),
    contact_id   bigint NOT NULL,
    merged_into  bigint,
    modified_at  timestamptz,
    data         jsonb NOT NULL,
    PRIMARY KEY (tenant_id, contact_id)
);

-- What the platform pulls: one row per Virtuous object whose Virtuous-side
-- data the platform should learn (a record confirmed or changed in Virtuous,
-- or an object that exists only in Virtuous: record_id NULL). A newer version
-- replaces the row and moves it forward in the feed, so the feed's state
-- depends only on the newest version seen, never on delivery order. txid
-- orders the feed by commit visibility, so a reader never skips a row that a
-- slower transaction commits later.
CREATE TABLE changes (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id),
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind         text NOT NULL CHECK (kind IN ('gift', 'contact')),
    virtuous_id  bigint NOT NULL,
    change       text NOT NULL,
    record_id    bigint REFERENCES records (id),
    platform_id  text NOT NULL DEFAULT '',
    modified_at  timestamptz,
    data         jsonb NOT NULL DEFAULT '{}',
    updated_at   timestamptz NOT NULL,
    CONSTRAINT changes_object UNIQUE (tenant_id, kind, virtuous_id)
);
CREATE INDEX changes_feed ON changes (tenant_id, txid, id);

-- Drift the tenant's policy left to a person (policy manual).
CREATE TABLE conflicts (
    id              bigserial PRIMARY KEY,
    tenant_id       bigint NOT NULL REFERENCES tenants (id),
    record_id       bigint NOT NULL REFERENCES records (id),
    created_at      timestamptz NOT NULL,
    fields          jsonb NOT NULL,
    record_version  bigint NOT NULL,
    resolved_at     timestamptz,
    resolved_by     text,
    resolution      jsonb
);
CREATE UNIQUE INDEX conflicts_open ON conflicts (record_id) WHERE resolved_at IS NULL;

-- The audit trail: append-only. dedupe_key makes an outcome recorded twice
-- (a retried job, a replayed event) collide instead of duplicating.
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    tenant_id    bigint NOT NULL REFERENCES tenants (id),
    record_id    bigint REFERENCES records (id),
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    action       text NOT NULL,
    category     text NOT NULL DEFAULT '',
    from_status  text NOT NULL DEFAULT '',
    to_status    text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}',
    dedupe_key   text,
    CONSTRAINT audit_log_dedupe UNIQUE (tenant_id, dedupe_key)
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at, id);
CREATE INDEX audit_log_record ON audit_log (record_id, id) WHERE record_id IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- One row per pass run.
CREATE TABLE reconciliation_runs (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL REFERENCES tenants (id),
    pass          text NOT NULL CHECK (pass IN ('missed', 'stuck', 'drift')),
    trigger       text NOT NULL DEFAULT 'schedule',
    -- The schedule period a scheduled run belongs to ('' for manual runs):
    -- unique, so a pass runs once per tenant per period however many
    -- workers are up.
    slot          text NOT NULL DEFAULT '',
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'partial', 'failed')),
    api_calls     integer NOT NULL DEFAULT 0,
    examined      integer NOT NULL DEFAULT 0,
    recovered     integer NOT NULL DEFAULT 0,
    needs_review  integer NOT NULL DEFAULT 0,
    applied       integer NOT NULL DEFAULT 0,
    drift_found   integer NOT NULL DEFAULT 0,
    error         text NOT NULL DEFAULT ''
);
CREATE INDEX reconciliation_runs_recent ON reconciliation_runs (tenant_id, pass, started_at DESC);
CREATE UNIQUE INDEX reconciliation_runs_once ON reconciliation_runs (tenant_id, pass, slot) WHERE slot <> '';

-- Per tenant and pass: the watermark (advanced only when a pass completes)
-- and where an interrupted pass resumes.
CREATE TABLE pass_state (
    tenant_id   bigint NOT NULL REFERENCES tenants (id),
    pass        text NOT NULL,
    watermark   timestamptz,
    resume      jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, pass)
);

-- The shared Virtuous rate budget, one row per organization (tenant). Every
-- process reserves here before a call and corrects from the response headers.
CREATE TABLE rate_budgets (
    tenant_id       bigint PRIMARY KEY REFERENCES tenants (id),
    limit_per_hour  integer NOT NULL DEFAULT 5000,
    remaining       integer NOT NULL DEFAULT 5000,
    reset_at        timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- API calls spent per tenant per day, for the daily report.
CREATE TABLE api_usage (
    tenant_id  bigint NOT NULL REFERENCES tenants (id),
    day        date NOT NULL,
    calls      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
);

CREATE TABLE daily_reports (
    tenant_id     bigint NOT NULL REFERENCES tenants (id),
    day           date NOT NULL,
    generated_at  timestamptz NOT NULL,
    verdict       text NOT NULL CHECK (verdict IN ('healthy', 'investigate')),
    metrics       jsonb NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

CREATE TABLE escalations (
    id               bigserial PRIMARY KEY,
    tenant_id        bigint NOT NULL REFERENCES tenants (id),
    kind             text NOT NULL,
    day              date NOT NULL,
    message          text NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    alert_status     text NOT NULL DEFAULT 'none' CHECK (alert_status IN ('none', 'pending', 'sent', 'failed')),
    CONSTRAINT escalations_once_a_day UNIQUE (tenant_id, kind, day)
);
CREATE INDEX escalations_open ON escalations (tenant_id) WHERE acknowledged_at IS NULL;

-- +goose Down
DROP TABLE escalations, daily_reports, api_usage, rate_budgets, pass_state, reconciliation_runs;
DROP TRIGGER audit_log_no_truncate ON audit_log;
DROP TRIGGER audit_log_no_update_delete ON audit_log;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE conflicts, changes, virtuous_contacts, inbound_events, records, login_failures, sessions, users, tenants;
