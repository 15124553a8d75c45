-- Issue 15: team policies and calendar feeds.

-- A team's policy for meetings and interruptions (domain::policy::TeamPolicy as JSON).
CREATE TABLE team_policies (
    team_id      UUID PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    policy       JSONB NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- An iCalendar feed (URL or file) of a team or of one person. `body` is the
-- last text that parsed: a failed refresh never replaces it.
CREATE TABLE calendar_feeds (
    id           UUID PRIMARY KEY,
    team_id      UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id      UUID REFERENCES users(id) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    etag         TEXT,
    body         TEXT,
    warnings     JSONB NOT NULL,
    last_error   TEXT,
    fetched_at   TIMESTAMPTZ,
    ok_at        TIMESTAMPTZ,
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (team_id, source)
);
CREATE INDEX calendar_feeds_team ON calendar_feeds (team_id);
