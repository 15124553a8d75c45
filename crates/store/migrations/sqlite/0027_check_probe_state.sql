-- SQLite: JSON as TEXT.
-- What a probe keeps between runs (issue 16): a log check's place in each
-- file or object and its recent match counts (a domain LogState as JSON).
-- Written with the run's result, under the run's claim.
ALTER TABLE checks ADD COLUMN probe_state TEXT;
