-- SQLite: ids are 16-byte BLOBs, instants RFC 3339 TEXT (UTC), dates YYYY-MM-DD TEXT, JSON as TEXT.
-- Delivery metrics (issue 3): what attribution decided per deployment, the
-- per-deployment facts the metrics read, and per-day rollups so a year of
-- DORA numbers reads a few hundred rows whatever the number of deployments.
-- All of it is derived data: it can be dropped and recomputed from the
-- tables of 0003 (`attribute_pending` after marking deployments unattributed).

-- How each deployment's shipped commits (deployment_commits) were found.
CREATE TABLE deployment_attribution (
    deployment_id        BLOB PRIMARY KEY REFERENCES deployments(id) ON DELETE CASCADE,
    method               TEXT NOT NULL,     -- graph | explicit | push | rollback | revert | unknown
    notes                TEXT NOT NULL,    -- ["first deployment of …", …]
    complete             INTEGER NOT NULL,  -- graph walk with every parent known
    rolls_back_previous  INTEGER NOT NULL,
    attributed_at        TEXT NOT NULL
);

-- One row per successful, finished deployment.
CREATE TABLE deployment_facts (
    deployment_id   BLOB PRIMARY KEY REFERENCES deployments(id) ON DELETE CASCADE,
    project_id      BLOB NOT NULL,
    service         TEXT NOT NULL,
    environment     TEXT NOT NULL,
    finished_at     TEXT NOT NULL,
    day             TEXT NOT NULL,           -- UTC day of finished_at
    is_change       INTEGER NOT NULL,        -- not a rollback or revert
    failed          INTEGER NOT NULL,
    failure_reason  TEXT,                    -- linked_incident | incident_in_window | rolled_back
    failure_ref     TEXT,                    -- the incident id, or the rolling-back deployment id
    commits         INTEGER NOT NULL,
    lead_hist       BLOB NOT NULL           -- lead times, tandem_domain::dora::Histogram
);
CREATE INDEX deployment_facts_range ON deployment_facts (project_id, environment, finished_at);
CREATE INDEX deployment_facts_ref ON deployment_facts (failure_ref);

-- Per UTC day and service; service '' is every service of the project.
CREATE TABLE delivery_days (
    project_id   BLOB NOT NULL,
    environment  TEXT NOT NULL,
    service      TEXT NOT NULL,
    day          TEXT NOT NULL,
    deployments  INTEGER NOT NULL,
    changes      INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    commits      INTEGER NOT NULL,
    lead_hist    BLOB NOT NULL,
    PRIMARY KEY (project_id, environment, service, day)
);

-- The incident fields the facts were computed from, to notice changes.
CREATE TABLE incident_seen (
    incident_id  BLOB PRIMARY KEY REFERENCES incidents(id) ON DELETE CASCADE,
    project_id   BLOB NOT NULL,
    service      TEXT,
    opened_at    TEXT NOT NULL,
    caused_by    TEXT
);

-- Small key/value state: the metric rules the facts were computed with.
CREATE TABLE metrics_state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE INDEX deployment_commits_pr ON deployment_commits (repo, pr_number);
CREATE INDEX deployment_commits_sha ON deployment_commits (repo, sha);
CREATE INDEX deployments_external ON deployments (project_id, external_id);
CREATE INDEX deployments_repo ON deployments (repo, sha);
CREATE INDEX incidents_caused_by ON incidents (project_id, caused_by);
