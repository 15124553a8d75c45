-- Issue 15: team policies and calendar feeds.

-- A team's policy for meetings and interruptions (domain::policy::TeamPolicy as JSON).
CREATE TABLE team_policies (
    team_id      BLOB PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    policy       TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- An iCalendar feed (URL or file) of a team or of one person. `body` is the
-- last text that parsed: a failed refresh never replaces it.
CREATE TABLE calendar_feeds (
    id           BLOB PRIMARY KEY,
    team_id      BLOB NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id      BLOB REFERENCES users(id) ON DELETE CASCADE,
    source       TEXT NOT NULL,
    etag         TEXT,
    body         TEXT,
    warnings     TEXT NOT NULL,
    last_error   TEXT,
    fetched_at   TEXT,
    ok_at        TEXT,
    lease_owner  TEXT,
    lease_until  TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (team_id, source)
);
CREATE INDEX calendar_feeds_team ON calendar_feeds (team_id);
