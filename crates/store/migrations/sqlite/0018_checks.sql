-- SQLite: ids are BLOBs, instants RFC 3339 TEXT, JSON as TEXT.
-- Health checks, their results and rollups, alerts with their delivery
-- attempts, and an incident's acknowledgement (issue 16, ADR 0019).

-- One row per check: its definition (`spec`, a domain CheckSpec as JSON),
-- its state between runs, and the scheduler's claim: a replica takes a due
-- check by setting `lease_owner`/`lease_until`; only the owner finishes the
-- run, which moves `next_run_at` on by one interval.
CREATE TABLE checks (
    id                     BLOB PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    team_id                BLOB NOT NULL REFERENCES teams(id),
    project_id             BLOB NOT NULL REFERENCES projects(id),
    service                TEXT NOT NULL,
    spec                   TEXT NOT NULL,
    origin                 TEXT NOT NULL,            -- api | config
    heartbeat_token_hash   TEXT UNIQUE,              -- SHA-256 hex of the push token
    last_ping_at           TEXT,
    state                  TEXT NOT NULL,           -- domain CheckState
    silenced_until         TEXT,
    last_run_at            TEXT,
    last_ok                BOOLEAN,
    last_message           TEXT NOT NULL DEFAULT '',
    next_run_at            TEXT NOT NULL,
    lease_owner            TEXT,
    lease_until            TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE INDEX checks_due ON checks (next_run_at);

-- Raw results, kept `[checks] raw_retention_hours`.
CREATE TABLE check_results (
    check_id    BLOB NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    ok          BOOLEAN NOT NULL,
    latency_ms  INTEGER NOT NULL,
    message     TEXT NOT NULL,
    PRIMARY KEY (check_id, at)
);
CREATE INDEX check_results_at ON check_results (at);

-- Rollups per minute, hour and day, written with each result. Each run
-- stands for its interval (`up_ms` or `down_ms`): availability is
-- time-weighted.
CREATE TABLE check_rollups (
    check_id        BLOB NOT NULL REFERENCES checks(id) ON DELETE CASCADE,
    grain           TEXT NOT NULL,                  -- minute | hour | day
    bucket          TEXT NOT NULL,
    runs            INTEGER NOT NULL,
    ok_runs         INTEGER NOT NULL,
    up_ms           INTEGER NOT NULL,
    down_ms         INTEGER NOT NULL,
    latency_ms_sum  INTEGER NOT NULL,
    PRIMARY KEY (check_id, grain, bucket)
);
CREATE INDEX check_rollups_bucket ON check_rollups (grain, bucket);

-- The alert outbox: one row per message and destination, keyed by cause
-- (`dedup_key`: incident, kind, reminder number, channel, destination), so
-- a replay adds nothing; claimed by one sender at a time.
CREATE TABLE alerts (
    id              BLOB PRIMARY KEY,
    dedup_key       TEXT NOT NULL UNIQUE,
    incident_id     BLOB NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    check_id        BLOB REFERENCES checks(id) ON DELETE SET NULL,
    team_id         BLOB NOT NULL,
    kind            TEXT NOT NULL,                  -- opened | reminder | resolved
    severity        TEXT NOT NULL,
    channel         TEXT NOT NULL,                  -- slack | email | webhook
    destination     TEXT NOT NULL,                  -- route name (secrets stay in settings)
    message         TEXT NOT NULL,                 -- title, text, link
    status          TEXT NOT NULL,                  -- pending | sending | sent | failed
    attempts        INTEGER NOT NULL,
    due_at          TEXT NOT NULL,
    claimed_by      TEXT,
    claimed_at      TEXT,
    sent_at         TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX alerts_due ON alerts (status, due_at);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE alert_attempts (
    alert_id  BLOB NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    attempt   INTEGER NOT NULL,
    at        TEXT NOT NULL,
    outcome   TEXT NOT NULL,                        -- sent | failed
    message   TEXT NOT NULL,
    PRIMARY KEY (alert_id, attempt)
);

ALTER TABLE incidents ADD COLUMN acknowledged_at TEXT;
ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT;
