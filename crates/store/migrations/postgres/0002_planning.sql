-- Planning: prioritisation scores on work items, risks raised by Tandem
-- itself (deduplicated on their cause), and the history of every risk.

ALTER TABLE work_items ADD COLUMN scores JSONB;

ALTER TABLE risks ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE risks ADD COLUMN cause_key TEXT;
ALTER TABLE risks ADD COLUMN drafted_update TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX risks_cause ON risks (cause_key);

CREATE TABLE risk_history (
    risk_id  UUID NOT NULL REFERENCES risks(id) ON DELETE CASCADE,
    at       TIMESTAMPTZ NOT NULL,
    status   TEXT NOT NULL,
    note     TEXT NOT NULL,
    PRIMARY KEY (risk_id, at)
);
