-- Pull (merge) requests whose own commits are fetched from the provider's
-- API once they merged (tandem_app::pr_commits): one row per pull request,
-- kept once done so a replayed merge delivery does not fetch again.
CREATE TABLE pr_commit_fetches (
    provider     TEXT NOT NULL,               -- github | gitlab
    repo         TEXT NOT NULL,
    number       BIGINT  NOT NULL,
    project_id   UUID NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    state        TEXT NOT NULL,               -- queued | done | failed
    attempts     INTEGER NOT NULL,
    not_before   TIMESTAMPTZ NOT NULL,               -- not tried again before
    last_error   TEXT NOT NULL,
    claimed_by   TEXT,
    lease_until  TIMESTAMPTZ,
    enqueued_at  TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    PRIMARY KEY (provider, repo, number)
);
CREATE INDEX pr_commit_fetches_due ON pr_commit_fetches (state, not_before);
