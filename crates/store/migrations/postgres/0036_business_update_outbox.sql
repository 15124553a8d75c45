-- Business updates go to Slack through an outbox (issue 16, item 4; ADR
-- 0039): the incident page stores the update (the status page shows it at
-- once) with slack_outcome 'pending'; a sender claims it (slack_claimed_until,
-- a lease, so replicas never post it twice), posts it, and marks it
-- 'posted' or, after its last attempt, 'failed'. Older rows keep their
-- outcome ('posted', 'failed: …', 'not configured').
ALTER TABLE business_updates ADD COLUMN slack_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE business_updates ADD COLUMN slack_error TEXT;
ALTER TABLE business_updates ADD COLUMN slack_posted_at TIMESTAMPTZ;
ALTER TABLE business_updates ADD COLUMN slack_claimed_until TIMESTAMPTZ;
CREATE INDEX business_updates_slack_pending ON business_updates (slack_outcome, created_at);
