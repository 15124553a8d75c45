-- Requests arriving through Slack and e-mail (ADR 0022). Where to answer a
-- requester is the request's own `reply` (migration 0020).
--
-- inbound_mail: every e-mail received (IMAP or an MTA pipe), byte for byte,
-- once: dedupe_key is its Message-ID (else the SHA-256 of its bytes), so a
-- message seen again (another replica, a restart, a second pipe) is not
-- worked on twice. Broken MIME is kept with state 'broken', never lost.
CREATE TABLE inbound_mail (
    id           BLOB PRIMARY KEY,
    dedupe_key   TEXT NOT NULL UNIQUE,
    message_id   TEXT,
    source       TEXT NOT NULL,               -- imap | pipe
    sender       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    raw          BLOB NOT NULL,
    state        TEXT NOT NULL,               -- received | request | reply | broken
    error        TEXT NOT NULL,
    request_id   BLOB REFERENCES requests(id),
    team         TEXT,                        -- the team asked for (pipe --team)
    received_at  TEXT NOT NULL,
    lease_until  TEXT                         -- a replica works on it until then
);
CREATE INDEX inbound_mail_state ON inbound_mail (state, received_at);

-- Every Message-ID of a request's e-mail thread (received and sent), so a
-- reply (In-Reply-To / References) finds its request.
CREATE TABLE mail_threads (
    message_id   TEXT PRIMARY KEY,
    request_id   BLOB NOT NULL REFERENCES requests(id),
    created_at   TEXT NOT NULL
);
CREATE INDEX mail_threads_request ON mail_threads (request_id);

-- How far each polled IMAP mailbox has been read: the highest UID stored
-- under its UIDVALIDITY (a new UIDVALIDITY starts again; dedupe_key above
-- keeps that from making duplicates).
CREATE TABLE imap_cursors (
    mailbox      TEXT PRIMARY KEY,            -- user@host:port/mailbox
    uid_validity BIGINT NOT NULL,
    last_uid     BIGINT NOT NULL,
    updated_at   TEXT NOT NULL
);
