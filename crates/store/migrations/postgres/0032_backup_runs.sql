-- Scheduled backups (issue 17 item 5, ADR 0035): one row per due time of
-- `backup.schedule`, claimed by the replica that takes it under a lease, so
-- each scheduled backup is taken exactly once across replicas. A run left
-- unfinished (the replica stopped, or the backup failed) is taken over once
-- its lease runs out. Not carried by a dump: it describes this database's
-- own schedule, not the organisation's data.
CREATE TABLE backup_runs (
    due_at       TIMESTAMPTZ PRIMARY KEY,
    claimed_by   TEXT NOT NULL,
    claimed_at   TIMESTAMPTZ NOT NULL,
    lease_until  TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    outcome      TEXT,                        -- done | failed
    name         TEXT,                        -- the backup written
    error        TEXT
);
