-- The version of each input attribution reads, keyed by its cause: a
-- repository (its commits and pull requests; bumped by
-- `invalidate_attribution`) or ' scopes and rules' (service scopes and the
-- metric rules). `attribute_pending` notes the version before it loads an
-- input and, in the transaction that marks deployments attributed, locks
-- and compares it: a change that arrived meanwhile sends the round back
-- instead of leaving deployments attributed with stale commits (issue 18,
-- defect 8). Derived: not dumped; a missing row is version 0.
CREATE TABLE attribution_inputs (
    source  TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

-- An archived report whose S3 copy (`[report.s3]`) has not been uploaded
-- yet: retried with growing delays (`report::archive::retry_due`) until it
-- is, then deleted. `due_at` doubles as the claim: a replica that takes a
-- row moves it past its lease first (issue 18, defect 8).
CREATE TABLE archive_uploads (
    archive_id  UUID PRIMARY KEY REFERENCES report_archive(id) ON DELETE CASCADE,
    attempts    INTEGER NOT NULL,
    due_at      TIMESTAMPTZ NOT NULL,
    last_error  TEXT NOT NULL
);
CREATE INDEX archive_uploads_due ON archive_uploads (due_at);
