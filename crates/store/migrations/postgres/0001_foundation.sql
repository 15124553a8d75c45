-- Tandem foundation schema, PostgreSQL. All instants are TIMESTAMPTZ (UTC).
-- Never edit a migration that has shipped: add a new one.

CREATE TABLE teams (
    id          UUID PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id             UUID PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    email          TEXT,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE team_members (
    team_id  UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id  UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE api_tokens (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    created_by    UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE projects (
    id            UUID PRIMARY KEY,
    team_id       UUID NOT NULL REFERENCES teams(id),
    key           TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    repositories  JSONB NOT NULL,
    services      JSONB NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX projects_team ON projects (team_id, id);

CREATE TABLE metrics (
    id           UUID PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    unit         TEXT NOT NULL,
    direction    TEXT NOT NULL,
    audience     TEXT NOT NULL,
    team_id      UUID REFERENCES teams(id),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE metric_points (
    metric_id  UUID NOT NULL REFERENCES metrics(id) ON DELETE CASCADE,
    at         TIMESTAMPTZ NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (metric_id, at)
);

CREATE TABLE goals (
    id               UUID PRIMARY KEY,
    team_id          UUID NOT NULL REFERENCES teams(id),
    project_id       UUID REFERENCES projects(id),
    title            TEXT NOT NULL,
    business_goal    TEXT NOT NULL,
    technical_tasks  TEXT NOT NULL,
    hypotheses       JSONB NOT NULL,
    success_metrics  JSONB NOT NULL,
    parties          JSONB NOT NULL,
    timeline         JSONB NOT NULL,
    status           TEXT NOT NULL,
    version          INTEGER NOT NULL,
    agreed_at        TIMESTAMPTZ,
    agreed_by        TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX goals_team ON goals (team_id, id);

CREATE TABLE goal_versions (
    goal_id     UUID NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL,
    changed_by  TEXT NOT NULL,
    action      TEXT NOT NULL,
    changes     JSONB NOT NULL,
    PRIMARY KEY (goal_id, version)
);

CREATE TABLE stages (
    id           UUID PRIMARY KEY,
    goal_id      UUID NOT NULL REFERENCES goals(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    position     INTEGER NOT NULL,
    starts_on    DATE,
    ends_on      DATE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX stages_goal ON stages (goal_id, id);

CREATE TABLE work_items (
    id            UUID PRIMARY KEY,
    team_id       UUID NOT NULL REFERENCES teams(id),
    project_id    UUID REFERENCES projects(id),
    goal_id       UUID REFERENCES goals(id),
    stage_id      UUID REFERENCES stages(id),
    title         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    priority      TEXT NOT NULL,
    impact        TEXT,
    complexity    TEXT,
    state         TEXT NOT NULL,
    context       JSONB NOT NULL,
    external_key  TEXT,
    source        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    started_at    TIMESTAMPTZ,
    done_at       TIMESTAMPTZ,
    updated_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (source, external_key)
);
CREATE INDEX work_items_team ON work_items (team_id, id);
CREATE INDEX work_items_goal ON work_items (goal_id);
CREATE INDEX work_items_done ON work_items (team_id, done_at);

CREATE TABLE risks (
    id                    UUID PRIMARY KEY,
    team_id               UUID NOT NULL REFERENCES teams(id),
    goal_id               UUID REFERENCES goals(id),
    stage_id              UUID REFERENCES stages(id),
    title                 TEXT NOT NULL,
    description           TEXT NOT NULL,
    likelihood            TEXT NOT NULL,
    impact                TEXT NOT NULL,
    plan                  TEXT NOT NULL,
    owner                 TEXT,
    schedule_impact_days  INTEGER NOT NULL,
    status                TEXT NOT NULL,
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    closed_at             TIMESTAMPTZ
);
CREATE INDEX risks_team ON risks (team_id, id);

CREATE TABLE decisions (
    id            UUID PRIMARY KEY,
    team_id       UUID NOT NULL REFERENCES teams(id),
    goal_id       UUID REFERENCES goals(id),
    title         TEXT NOT NULL,
    context       TEXT NOT NULL,
    options       JSONB NOT NULL,
    decision      TEXT NOT NULL,
    consequences  TEXT NOT NULL,
    decided_by    TEXT,
    decided_at    TIMESTAMPTZ NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX decisions_team ON decisions (team_id, id);

CREATE TABLE events (
    id           UUID PRIMARY KEY,
    source       TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    payload      JSONB NOT NULL,
    UNIQUE (source, external_id)
);
CREATE INDEX events_kind_time ON events (kind, occurred_at);
