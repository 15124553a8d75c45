-- Which sent reports (and which send of each: a later send of the same
-- week replaces the row with a new `sent_at`) are in the JSON lines archive
-- (`[archive]`, ADR 0036). A report without a row here, or with another
-- `sent_at`, is written there by the next archive pass. Derived: not
-- dumped; a restored database writes its reports again, and search keeps
-- one line per report and send.
CREATE TABLE report_archive_lines (
    archive_id  UUID PRIMARY KEY REFERENCES report_archive(id) ON DELETE CASCADE,
    sent_at     TIMESTAMPTZ NOT NULL,
    object      TEXT NOT NULL
);
