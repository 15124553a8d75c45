-- SQLite: ids are 16-byte BLOBs, instants RFC 3339 TEXT (UTC).
-- Tandem's own notifications obey the recipient's policy (issues 14, 15, 16):
-- a P0 business request pages the on-call path through the alert outbox, so
-- an alert names an incident or a request (one of the two); a message to a
-- requester that is not urgent waits for the recipient's working hours
-- outside the focus block (`due_at`; NULL: at once).
--
-- SQLite cannot drop a NOT NULL, so `alerts` is rebuilt. Foreign keys are on
-- during migrations and dropping a table deletes its rows first (which would
-- cascade to `alert_attempts`): both tables are copied aside, the child is
-- dropped before the parent, and both are created again and refilled.
CREATE TABLE alerts_copy AS SELECT * FROM alerts;
CREATE TABLE alert_attempts_copy AS SELECT * FROM alert_attempts;
DROP TABLE alert_attempts;
DROP TABLE alerts;

CREATE TABLE alerts (
    id              BLOB PRIMARY KEY,
    dedup_key       TEXT NOT NULL UNIQUE,
    incident_id     BLOB REFERENCES incidents(id) ON DELETE CASCADE,
    check_id        BLOB REFERENCES checks(id) ON DELETE SET NULL,
    team_id         BLOB NOT NULL,
    kind            TEXT NOT NULL,                  -- opened | reminder | resolved | page
    severity        TEXT NOT NULL,
    channel         TEXT NOT NULL,                  -- slack | email | webhook
    destination     TEXT NOT NULL,                  -- route name (secrets stay in settings)
    message         TEXT NOT NULL,                  -- title, text, link
    status          TEXT NOT NULL,                  -- pending | sending | sent | failed
    attempts        INTEGER NOT NULL,
    due_at          TEXT NOT NULL,
    claimed_by      TEXT,
    claimed_at      TEXT,
    sent_at         TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    request_id      BLOB REFERENCES requests(id) ON DELETE CASCADE,
    CHECK (incident_id IS NOT NULL OR request_id IS NOT NULL)
);
INSERT INTO alerts (id, dedup_key, incident_id, check_id, team_id, kind, severity, channel,
                    destination, message, status, attempts, due_at, claimed_by, claimed_at,
                    sent_at, last_error, created_at)
    SELECT id, dedup_key, incident_id, check_id, team_id, kind, severity, channel,
           destination, message, status, attempts, due_at, claimed_by, claimed_at,
           sent_at, last_error, created_at
    FROM alerts_copy;
CREATE INDEX alerts_due ON alerts (status, due_at);
CREATE INDEX alerts_incident ON alerts (incident_id);
CREATE INDEX alerts_request ON alerts (request_id);

CREATE TABLE alert_attempts (
    alert_id  BLOB NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    attempt   INTEGER NOT NULL,
    at        TEXT NOT NULL,
    outcome   TEXT NOT NULL,                        -- sent | failed
    message   TEXT NOT NULL,
    PRIMARY KEY (alert_id, attempt)
);
INSERT INTO alert_attempts (alert_id, attempt, at, outcome, message)
    SELECT alert_id, attempt, at, outcome, message FROM alert_attempts_copy;
DROP TABLE alert_attempts_copy;
DROP TABLE alerts_copy;

ALTER TABLE request_notifications ADD COLUMN due_at TEXT;
