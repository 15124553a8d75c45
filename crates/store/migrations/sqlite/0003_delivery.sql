-- SQLite: ids are 16-byte BLOBs, instants RFC 3339 TEXT (UTC), JSON as TEXT.
-- Engineering data (issue 3): commits and their graph, pull requests and
-- reviews, deployments and the commits each one shipped, incidents,
-- pipelines, raw webhook deliveries, import cursors, webhook secrets and
-- service scopes. Repositories are named by their full name
-- ("acme/payments"), the same names a project lists in `repositories`.

CREATE TABLE commits (
    repo              TEXT NOT NULL,
    sha               TEXT NOT NULL,
    author_name       TEXT NOT NULL,
    author_email      TEXT NOT NULL,
    authored_at       TEXT NOT NULL,
    author_offset     INTEGER NOT NULL,      -- minutes east of UTC
    committed_at      TEXT NOT NULL,
    committer_offset  INTEGER NOT NULL,
    subject           TEXT NOT NULL,
    parent_count      INTEGER NOT NULL,
    additions         INTEGER,                -- NULL when the source had no line statistics
    deletions         INTEGER,
    source            TEXT NOT NULL,         -- git | github | gitlab | api
    PRIMARY KEY (repo, sha)
);
CREATE INDEX commits_authored ON commits (repo, authored_at);

CREATE TABLE commit_parents (
    repo        TEXT NOT NULL,
    sha         TEXT NOT NULL,
    position    INTEGER NOT NULL,
    parent_sha  TEXT NOT NULL,
    PRIMARY KEY (repo, sha, position)
);
CREATE INDEX commit_parents_parent ON commit_parents (repo, parent_sha);

CREATE TABLE commit_files (
    repo       TEXT NOT NULL,
    sha        TEXT NOT NULL,
    path       TEXT NOT NULL,
    additions  INTEGER NOT NULL,
    deletions  INTEGER NOT NULL,
    PRIMARY KEY (repo, sha, path)
);

CREATE TABLE git_refs (
    repo        TEXT NOT NULL,
    name        TEXT NOT NULL,               -- refs/heads/main, refs/tags/v1.2
    sha         TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (repo, name)
);

CREATE TABLE import_cursors (
    source      TEXT NOT NULL,               -- git, github, gitlab, jira
    scope       TEXT NOT NULL,               -- repo + branch, repo + resource, project key
    cursor      TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (source, scope)
);

CREATE TABLE pull_requests (
    repo              TEXT NOT NULL,
    number            INTEGER NOT NULL,
    source            TEXT NOT NULL,
    title             TEXT NOT NULL,
    state             TEXT NOT NULL,         -- open | closed | merged
    draft             BOOLEAN NOT NULL,
    base_branch       TEXT NOT NULL,
    head_sha          TEXT,
    merge_commit_sha  TEXT,
    created_at        TEXT NOT NULL,
    ready_at          TEXT,
    first_commit_at   TEXT,
    first_review_at   TEXT,
    approved_at       TEXT,
    merged_at         TEXT,
    closed_at         TEXT,
    updated_at        TEXT NOT NULL,
    PRIMARY KEY (repo, number)
);
CREATE INDEX pull_requests_merge_commit ON pull_requests (repo, merge_commit_sha);
CREATE INDEX pull_requests_merged ON pull_requests (merged_at);

CREATE TABLE pull_request_commits (
    repo         TEXT NOT NULL,
    number       INTEGER NOT NULL,
    sha          TEXT NOT NULL,
    authored_at  TEXT NOT NULL,
    PRIMARY KEY (repo, number, sha)
);
CREATE INDEX pull_request_commits_sha ON pull_request_commits (repo, sha);

CREATE TABLE reviews (
    repo          TEXT NOT NULL,
    number        INTEGER NOT NULL,
    review_id     TEXT NOT NULL,
    state         TEXT NOT NULL,             -- approved | changes_requested | commented
    submitted_at  TEXT NOT NULL,
    PRIMARY KEY (repo, number, review_id)
);

CREATE TABLE deployments (
    id                BLOB PRIMARY KEY,
    source            TEXT NOT NULL,
    external_id       TEXT NOT NULL,
    project_id        BLOB NOT NULL REFERENCES projects(id),
    service           TEXT NOT NULL,
    environment       TEXT NOT NULL,
    status            TEXT NOT NULL,         -- success | failure | in_progress | cancelled
    repo              TEXT,
    sha               TEXT,
    is_rollback       BOOLEAN NOT NULL,
    explicit_commits  TEXT NOT NULL,        -- [{repo, sha}] given by the sender
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    attributed        BOOLEAN NOT NULL DEFAULT 0,  -- deployment_commits current?
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX deployments_service ON deployments (project_id, service, environment, finished_at);
CREATE INDEX deployments_pending ON deployments (attributed);

CREATE TABLE deployment_commits (
    deployment_id  BLOB NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    repo           TEXT NOT NULL,
    sha            TEXT NOT NULL,
    authored_at    TEXT NOT NULL,
    pr_number      INTEGER,
    PRIMARY KEY (deployment_id, repo, sha)
);

CREATE TABLE incidents (
    id                    BLOB PRIMARY KEY,
    source                TEXT NOT NULL,
    external_id           TEXT NOT NULL,
    project_id            BLOB NOT NULL REFERENCES projects(id),
    service               TEXT,
    title                 TEXT NOT NULL,
    severity              TEXT NOT NULL,
    opened_at             TEXT NOT NULL,
    resolved_at           TEXT,
    caused_by             TEXT,              -- the deployment's external id, as sent
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX incidents_service ON incidents (project_id, service, opened_at);

CREATE TABLE pipelines (
    source       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    repo         TEXT NOT NULL,
    sha          TEXT,
    branch       TEXT,
    status       TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    coverage     REAL,
    PRIMARY KEY (source, external_id)
);
CREATE INDEX pipelines_repo ON pipelines (repo, started_at);

CREATE TABLE webhook_secrets (
    project_id  BLOB NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    provider    TEXT NOT NULL,               -- github | gitlab
    secret      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (project_id, provider)
);

CREATE TABLE deliveries (
    id           BLOB PRIMARY KEY,
    provider     TEXT NOT NULL,              -- github | gitlab | api
    delivery_id  TEXT NOT NULL,
    event        TEXT NOT NULL,
    project_id   BLOB REFERENCES projects(id),
    received_at  TEXT NOT NULL,
    headers      TEXT NOT NULL,
    body         BLOB NOT NULL,             -- exactly as received, for reprocessing
    outcome      TEXT NOT NULL,              -- applied | ignored | invalid | failed
    detail       TEXT NOT NULL,
    UNIQUE (provider, delivery_id)
);
CREATE INDEX deliveries_received ON deliveries (received_at);

CREATE TABLE service_scopes (
    project_id     BLOB NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    service        TEXT NOT NULL,
    repo           TEXT NOT NULL,
    path_prefixes  TEXT NOT NULL,           -- ["services/api/"]; [] = the whole repo
    PRIMARY KEY (project_id, service)
);
