-- Business requests (issue 14): what the business asks of a team, from the
-- web form, the API, Slack or e-mail, with the four clarifying questions'
-- answers, how to answer the requester (`reply`), and the last decision.
-- `version` grows with every decision: a decision computed from an older
-- version is refused (optimistic concurrency, never two decisions).
CREATE TABLE requests (
    id                 BLOB PRIMARY KEY,          -- UUID v7: grows with time
    team_id            BLOB NOT NULL REFERENCES teams(id),
    title              TEXT NOT NULL,
    description        TEXT NOT NULL,
    source             TEXT NOT NULL,
    requester          TEXT NOT NULL,
    requester_user_id  BLOB REFERENCES users(id),
    reply              TEXT NOT NULL,             -- JSON
    answers            TEXT NOT NULL,             -- JSON
    urgency            TEXT NOT NULL,
    impact             TEXT,
    complexity         TEXT,
    priority           TEXT NOT NULL,
    status             TEXT NOT NULL,
    version            INTEGER NOT NULL,
    external_id        TEXT,
    decision           TEXT,                      -- JSON, the last decision
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE UNIQUE INDEX requests_external ON requests (source, external_id);
CREATE INDEX requests_team_status ON requests (team_id, status, id);

-- The outbox of messages to requesters, one row per message. Web ones show
-- on the request page; Slack and e-mail ones are claimed (`claimed_until`,
-- a lease, so replicas do not send twice) and marked delivered by their
-- intake channel.
CREATE TABLE request_notifications (
    id             BLOB PRIMARY KEY,
    request_id     BLOB NOT NULL REFERENCES requests(id),
    source         TEXT NOT NULL,
    reply          TEXT NOT NULL,                 -- JSON
    kind           TEXT NOT NULL,
    decision       TEXT,
    subject        TEXT NOT NULL,
    body           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    delivered_at   TEXT,
    attempts       INTEGER NOT NULL,
    last_error     TEXT,
    claimed_until  TEXT
);
CREATE INDEX request_notifications_request ON request_notifications (request_id, id);
CREATE INDEX request_notifications_pending ON request_notifications (source, delivered_at, id);
