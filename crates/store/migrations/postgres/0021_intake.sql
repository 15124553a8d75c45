-- Requests arriving through Slack and e-mail (ADR 0022).
--
-- inbound_mail: every e-mail received (IMAP or an MTA pipe), byte for byte,
-- once: dedupe_key is its Message-ID (else the SHA-256 of its bytes), so a
-- message seen again (another replica, a restart, a second pipe) is not
-- worked on twice. Broken MIME is kept with state 'broken', never lost.
CREATE TABLE inbound_mail (
    id           UUID PRIMARY KEY,
    dedupe_key   TEXT NOT NULL UNIQUE,
    message_id   TEXT,
    source       TEXT NOT NULL,               -- imap | pipe
    sender       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    raw          BYTEA NOT NULL,
    state        TEXT NOT NULL,               -- received | request | reply | broken
    error        TEXT NOT NULL,
    request_id   UUID,
    team         TEXT,                        -- the team asked for (pipe --team)
    received_at  TIMESTAMPTZ NOT NULL,
    lease_until  TIMESTAMPTZ                         -- a replica works on it until then
);
CREATE INDEX inbound_mail_state ON inbound_mail (state, received_at);

-- Every Message-ID of a request's e-mail thread (received and sent), so a
-- reply (In-Reply-To / References) finds its request.
CREATE TABLE mail_threads (
    message_id   TEXT PRIMARY KEY,
    request_id   UUID NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX mail_threads_request ON mail_threads (request_id);

-- How far each polled IMAP mailbox has been read: the highest UID stored
-- under its UIDVALIDITY (a new UIDVALIDITY starts again; dedupe_key above
-- keeps that from making duplicates).
CREATE TABLE imap_cursors (
    mailbox      TEXT PRIMARY KEY,            -- user@host:port/mailbox
    uid_validity BIGINT NOT NULL,
    last_uid     BIGINT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Where to tell a requester what became of a request that came through
-- Slack or e-mail: one row per such request.
CREATE TABLE request_contacts (
    request_id       UUID PRIMARY KEY,
    channel          TEXT NOT NULL,           -- slack | email
    address          TEXT NOT NULL,           -- Slack user id, or e-mail address
    slack_channel    TEXT,                    -- where the request was asked
    response_url     TEXT,                    -- Slack's, valid 30 minutes
    subject          TEXT,                    -- e-mail: the thread's subject
    last_message_id  TEXT,                    -- e-mail: the message a reply answers
    created_at       TIMESTAMPTZ NOT NULL
);
