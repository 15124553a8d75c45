-- Issue 15: the team pulse (ADR 0028). Answers hold no user id: while a
-- week is open an answer is found again by `answer_key`, a keyed hash of
-- (user, team, week) under that week's random `salt`; closing the week
-- deletes the salt and clears the keys, after which nothing links an
-- answer to a person.

-- How a team's pulse is asked (domain::pulse::PulseConfig as JSON).
CREATE TABLE pulse_configs (
    team_id      UUID PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
    config       JSONB NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- A team's ISO week of the pulse: its salt until it is closed, and when the
-- Slack messages went out (claimed with a lease, ADR 0006).
CREATE TABLE pulse_weeks (
    team_id      UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    week         TEXT NOT NULL,
    salt         BYTEA,
    closed_at    TIMESTAMPTZ,
    asked_at     TIMESTAMPTZ,
    lease_owner  TEXT,
    lease_until  TIMESTAMPTZ,
    PRIMARY KEY (team_id, week)
);

-- One answer per person and week, without the person. `id` is random (not
-- time-ordered) and there is no timestamp, so neither orders the answers.
CREATE TABLE pulse_answers (
    id           UUID PRIMARY KEY,
    team_id      UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    week         TEXT NOT NULL,
    answer_key   TEXT,
    workload     INTEGER NOT NULL CHECK (workload BETWEEN 1 AND 5),
    focus        INTEGER NOT NULL CHECK (focus BETWEEN 1 AND 5),
    note         TEXT,
    UNIQUE (team_id, week, answer_key)
);
CREATE INDEX pulse_answers_week ON pulse_answers (team_id, week);
