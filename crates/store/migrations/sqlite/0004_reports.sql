-- Weekly status reports (issue 5): the editor's drafts, deliveries claimed
-- per channel and recipient (never sent twice), their attempt log, per-team
-- schedules, scheduled runs claimed once per team and week (replicas), and
-- the archive of sent reports with their rendered forms.
-- SQLite: ids are 16-byte BLOBs, instants RFC 3339 TEXT (UTC), JSON as TEXT.

-- A draft per team and ISO week: only the editor's edits are stored; the
-- data part is assembled again whenever the draft is read.
CREATE TABLE report_drafts (
    id           BLOB PRIMARY KEY,
    team_id      BLOB NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    week         TEXT NOT NULL,               -- 2026-W47
    edits        TEXT NOT NULL,
    status       TEXT NOT NULL,               -- draft | approved | sent
    approved_by  TEXT,                        -- username
    approved_at  TEXT,
    sent_at      TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (team_id, week)
);

-- One row per report, channel and recipient: inserted (claimed) before the
-- first attempt, so a second sender finds it taken.
CREATE TABLE report_deliveries (
    id           BLOB PRIMARY KEY,
    team_id      BLOB NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    week         TEXT NOT NULL,
    channel      TEXT NOT NULL,               -- email | slack | webhook
    recipient    TEXT NOT NULL,
    status       TEXT NOT NULL,               -- sending | sent | failed
    attempts     INTEGER NOT NULL,
    last_error   TEXT,
    claimed_at   TEXT NOT NULL,
    sent_at      TEXT,
    UNIQUE (team_id, week, channel, recipient)
);

CREATE TABLE report_delivery_log (
    delivery_id  BLOB NOT NULL REFERENCES report_deliveries(id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    outcome      TEXT NOT NULL,               -- sent | failed
    message      TEXT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- A team's schedule; teams without a row use the configured default.
CREATE TABLE report_schedules (
    team_id      BLOB PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    cron         TEXT NOT NULL,               -- 5 fields, minute first
    auto_send    INTEGER NOT NULL,
    email_to     TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- A scheduled run, claimed by one replica per team and week.
CREATE TABLE report_runs (
    team_id      BLOB NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    week         TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    claimed_by   TEXT NOT NULL,
    claimed_at   TEXT NOT NULL,
    lease_until  TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT,                        -- sent | held | failed
    PRIMARY KEY (team_id, week)
);

-- Every sent report with its rendered forms.
CREATE TABLE report_archive (
    id             BLOB PRIMARY KEY,
    team_id        BLOB NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    week           TEXT NOT NULL,
    title          TEXT NOT NULL,
    sent_at        TEXT NOT NULL,
    report         TEXT NOT NULL,
    markdown       TEXT NOT NULL,
    html           TEXT NOT NULL,
    text           TEXT NOT NULL,
    slack          TEXT NOT NULL,
    object_prefix  TEXT,                      -- where the rendered forms were uploaded
    UNIQUE (team_id, week)
);
