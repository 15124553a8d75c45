-- Health checks, their results and rollups, alerts with their delivery
-- attempts, and an incident's acknowledgement (issue 16, ADR 0019).

-- One row per check: its definition (`spec`, a domain CheckSpec as JSON),
-- its state between runs, and the scheduler's claim: a replica takes a due
-- check by setting `lease_owner`/`lease_until`; only the owner finishes the
-- run, which moves `next_run_at` on by one interval.
CREATE TABLE checks (
    id                     UUID PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    team_id                UUID NOT NULL REFERENCES teams(id),
    project_id             UUID NOT NULL REFERENCES projects(id),
    service                TEXT NOT NULL,
    spec                   JSONB NOT NULL,
    origin                 TEXT NOT NULL,            -- api | config
    heartbeat_token_hash   TEXT UNIQUE,              -- SHA-256 hex of the push token
    last_ping_at           TIMESTAMPTZ,
    state                  JSONB NOT NULL,           -- domain CheckState
    silenced_until         TIMESTAMPTZ,
    last_run_at            TIMESTAMPTZ,
    last_ok                BOOLEAN,
    last_message           TEXT NOT NULL DEFAULT '',
    next_run_at            TIMESTAMPTZ NOT NULL,
    lease_owner            TEXT,
    lease_until            TIMESTAMPTZ,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL
);
CREATE INDEX checks_due ON checks (next_run_at);

-- Raw results, kept `[checks] raw_retention_hours`.
CREATE TABLE check_results (
    check_id    UUID NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    at          TIMESTAMPTZ NOT NULL,
    ok          BOOLEAN NOT NULL,
    latency_ms  BIGINT NOT NULL,
    message     TEXT NOT NULL,
    PRIMARY KEY (check_id, at)
);
CREATE INDEX check_results_at ON check_results (at);

-- Rollups per minute, hour and day, written with each result. Each run
-- stands for its interval (`up_ms` or `down_ms`): availability is
-- time-weighted.
CREATE TABLE check_rollups (
    check_id        UUID NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    grain           TEXT NOT NULL,                  -- minute | hour | day
    bucket          TIMESTAMPTZ NOT NULL,
    runs            BIGINT NOT NULL,
    ok_runs         BIGINT NOT NULL,
    up_ms           BIGINT NOT NULL,
    down_ms         BIGINT NOT NULL,
    latency_ms_sum  BIGINT NOT NULL,
    PRIMARY KEY (check_id, grain, bucket)
);
CREATE INDEX check_rollups_bucket ON check_rollups (grain, bucket);

-- The alert outbox: one row per message and destination, keyed by cause
-- (`dedup_key`: incident, kind, reminder number, channel, destination), so
-- a replay adds nothing; claimed by one sender at a time.
CREATE TABLE alerts (
    id              UUID PRIMARY KEY,
    dedup_key       TEXT NOT NULL UNIQUE,
    incident_id     UUID NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    check_id        UUID REFERENCES checks(id) ON DELETE SET NULL,
    team_id         UUID NOT NULL,
    kind            TEXT NOT NULL,                  -- opened | reminder | resolved
    severity        TEXT NOT NULL,
    channel         TEXT NOT NULL,                  -- slack | email | webhook
    destination     TEXT NOT NULL,                  -- route name (secrets stay in settings)
    message         JSONB NOT NULL,                 -- title, text, link
    status          TEXT NOT NULL,                  -- pending | sending | sent | failed
    attempts        INTEGER NOT NULL,
    due_at          TIMESTAMPTZ NOT NULL,
    claimed_by      TEXT,
    claimed_at      TIMESTAMPTZ,
    sent_at         TIMESTAMPTZ,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX alerts_due ON alerts (status, due_at);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE alert_attempts (
    alert_id  UUID NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    attempt   INTEGER NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    outcome   TEXT NOT NULL,                        -- sent | failed
    message   TEXT NOT NULL,
    PRIMARY KEY (alert_id, attempt)
);

ALTER TABLE incidents ADD COLUMN acknowledged_at TIMESTAMPTZ;
ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT;
