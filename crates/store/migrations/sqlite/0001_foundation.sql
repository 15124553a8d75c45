-- Tandem foundation schema, SQLite. BLOBs are 16-byte BLOBs, instants are
-- RFC 3339 UTC TEXT as sqlx writes them, JSON is TEXT, booleans are INTEGER.
-- Never edit a migration that has shipped: add a new one.

CREATE TABLE teams (
    id          BLOB PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE users (
    id             BLOB PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    email          TEXT,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);

CREATE TABLE team_members (
    team_id  BLOB NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id  BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE api_tokens (
    id            BLOB PRIMARY KEY,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    created_by    BLOB REFERENCES users(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE projects (
    id            BLOB PRIMARY KEY,
    team_id       BLOB NOT NULL REFERENCES teams(id),
    key           TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    repositories  TEXT NOT NULL,
    services      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX projects_team ON projects (team_id, id);

CREATE TABLE metrics (
    id           BLOB PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    unit         TEXT NOT NULL,
    direction    TEXT NOT NULL,
    audience     TEXT NOT NULL,
    team_id      BLOB REFERENCES teams(id),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE metric_points (
    metric_id  BLOB NOT NULL REFERENCES metrics(id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    value      REAL NOT NULL,
    PRIMARY KEY (metric_id, at)
);

CREATE TABLE goals (
    id               BLOB PRIMARY KEY,
    team_id          BLOB NOT NULL REFERENCES teams(id),
    project_id       BLOB REFERENCES projects(id),
    title            TEXT NOT NULL,
    business_goal    TEXT NOT NULL,
    technical_tasks  TEXT NOT NULL,
    hypotheses       TEXT NOT NULL,
    success_metrics  TEXT NOT NULL,
    parties          TEXT NOT NULL,
    timeline         TEXT NOT NULL,
    status           TEXT NOT NULL,
    version          INTEGER NOT NULL,
    agreed_at        TEXT,
    agreed_by        TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX goals_team ON goals (team_id, id);

CREATE TABLE goal_versions (
    goal_id     BLOB NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    changed_at  TEXT NOT NULL,
    changed_by  TEXT NOT NULL,
    action      TEXT NOT NULL,
    changes     TEXT NOT NULL,
    PRIMARY KEY (goal_id, version)
);

CREATE TABLE stages (
    id           BLOB PRIMARY KEY,
    goal_id      BLOB NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    position     INTEGER NOT NULL,
    starts_on    TEXT,
    ends_on      TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX stages_goal ON stages (goal_id, id);

CREATE TABLE work_items (
    id            BLOB PRIMARY KEY,
    team_id       BLOB NOT NULL REFERENCES teams(id),
    project_id    BLOB REFERENCES projects(id),
    goal_id       BLOB REFERENCES goals(id),
    stage_id      BLOB REFERENCES stages(id),
    title         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    priority      TEXT NOT NULL,
    impact        TEXT,
    complexity    TEXT,
    state         TEXT NOT NULL,
    context       TEXT NOT NULL,
    external_key  TEXT,
    source        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    done_at       TEXT,
    updated_at    TEXT NOT NULL,
    UNIQUE (source, external_key)
);
CREATE INDEX work_items_team ON work_items (team_id, id);
CREATE INDEX work_items_goal ON work_items (goal_id);
CREATE INDEX work_items_done ON work_items (team_id, done_at);

CREATE TABLE risks (
    id                    BLOB PRIMARY KEY,
    team_id               BLOB NOT NULL REFERENCES teams(id),
    goal_id               BLOB REFERENCES goals(id),
    stage_id              BLOB REFERENCES stages(id),
    title                 TEXT NOT NULL,
    description           TEXT NOT NULL,
    likelihood            TEXT NOT NULL,
    impact                TEXT NOT NULL,
    plan                  TEXT NOT NULL,
    owner                 TEXT,
    schedule_impact_days  INTEGER NOT NULL,
    status                TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    closed_at             TEXT
);
CREATE INDEX risks_team ON risks (team_id, id);

CREATE TABLE decisions (
    id            BLOB PRIMARY KEY,
    team_id       BLOB NOT NULL REFERENCES teams(id),
    goal_id       BLOB REFERENCES goals(id),
    title         TEXT NOT NULL,
    context       TEXT NOT NULL,
    options       TEXT NOT NULL,
    decision      TEXT NOT NULL,
    consequences  TEXT NOT NULL,
    decided_by    TEXT,
    decided_at    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX decisions_team ON decisions (team_id, id);

CREATE TABLE events (
    id           BLOB PRIMARY KEY,
    source       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    payload      TEXT NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX events_kind_time ON events (kind, occurred_at);
