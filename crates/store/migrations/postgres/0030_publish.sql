-- Publishing agreements, decisions and sent weekly reports to where the
-- organisation reads them: git, Notion, Confluence, and the task context
-- back to Jira (issue 17, ADR 0033).

-- One row per publisher (`git`, `notion`, `confluence`, `jira`): the lease
-- a replica holds while it delivers (one pass at a time per publisher, so
-- commits and page versions stay in order), and whether the publisher is
-- failing, with the provider's last message.
CREATE TABLE publish_targets (
    target        TEXT PRIMARY KEY,
    lease_owner   TEXT,
    lease_until   TIMESTAMPTZ,
    failing       BOOLEAN NOT NULL DEFAULT FALSE,
    last_error    TEXT,
    last_run_at   TIMESTAMPTZ,
    last_ok_at    TIMESTAMPTZ
);

-- The publishing outbox: one row per document revision and publisher,
-- keyed by cause (a goal's version, a decision's last edit, a team's sent
-- week), so enqueuing again adds nothing.
CREATE TABLE publications (
    id            UUID PRIMARY KEY,
    target        TEXT NOT NULL,              -- git | notion | confluence | jira
    doc_kind      TEXT NOT NULL,              -- goal | decision | report
    doc_id        UUID NOT NULL,              -- the goal, the decision, the archived report
    revision      BIGINT NOT NULL,            -- goal version; decision edit (µs); report 1
    status        TEXT NOT NULL,              -- pending | published | failed
    attempts      INTEGER NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    last_error    TEXT,
    remote_ref    TEXT,                       -- commit, page id, comment ids
    published_at  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (target, doc_kind, doc_id, revision)
);
CREATE INDEX publications_due ON publications (target, status, due_at);
CREATE INDEX publications_doc ON publications (doc_kind, doc_id);

-- Where a document lives on the other side, so a re-publish updates the
-- same page or comment: the remote id, its version number, and the hash of
-- the content last written there.
CREATE TABLE publish_mappings (
    target          TEXT NOT NULL,
    doc_key         TEXT NOT NULL,            -- goal:<id>, decision:<id>, report:<id>, jira:<KEY>
    remote_id       TEXT NOT NULL,
    remote_version  BIGINT NOT NULL,
    content_hash    TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (target, doc_key)
);
