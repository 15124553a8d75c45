-- The front line (issue 16, items 4, 5 and 7; ADR 0031): checks that can
-- be switched off from the web, an incident's post-incident note and its
-- business updates (also shown on the status page), and KPI series fed on
-- a schedule from a PromQL or read-only SQL query.

-- A disabled check keeps its definition, results and rollups but is never
-- claimed by the scheduler.
ALTER TABLE checks ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;

-- The post-incident note (Markdown), one per incident, stored beside it
-- (not in `incidents`, whose updates feed the metric change log).
CREATE TABLE incident_notes (
    incident_id  UUID PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
    body         TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Plain-language status updates for the business: what is affected, what
-- the team is doing, when the next update comes; and where it was posted.
CREATE TABLE business_updates (
    id              UUID PRIMARY KEY,
    incident_id     UUID NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    project_id      UUID NOT NULL,
    service         TEXT,
    affected        TEXT NOT NULL,
    doing           TEXT NOT NULL,
    next_update_at  TIMESTAMPTZ,
    posted_by       TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    slack_channel   TEXT,                       -- NULL: no channel configured
    slack_outcome   TEXT NOT NULL               -- posted | failed: … | not configured
);
CREATE INDEX business_updates_incident ON business_updates (incident_id, created_at);
CREATE INDEX business_updates_created ON business_updates (created_at);

-- Where a KPI series' points come from when nobody types them: a PromQL
-- instant query or a read-only SQL query, run every `interval_seconds`
-- under a lease (one replica at a time), retried with backoff on failure.
CREATE TABLE kpi_sources (
    metric_id         UUID PRIMARY KEY REFERENCES metrics(id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,            -- promql | postgres
    url               TEXT NOT NULL,
    query             TEXT NOT NULL,
    interval_seconds  INTEGER NOT NULL,
    next_run_at       TIMESTAMPTZ NOT NULL,
    lease_owner       TEXT,
    lease_until       TIMESTAMPTZ,
    failures          INTEGER NOT NULL DEFAULT 0,  -- consecutive
    last_run_at       TIMESTAMPTZ,
    last_success_at   TIMESTAMPTZ,
    last_value        DOUBLE PRECISION,
    last_error        TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX kpi_sources_due ON kpi_sources (next_run_at);
