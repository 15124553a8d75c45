-- Parent links of work items reported by a tracker (Jira: an issue's epic or
-- parent issue), by the keys the tracker gives them. The parent need not be a
-- stored work item: epics are containers, not work items.
CREATE TABLE work_item_parents (
    source        TEXT NOT NULL,               -- jira, ...
    external_key  TEXT NOT NULL,               -- the child's key (PAY-12)
    parent_key    TEXT NOT NULL,               -- its epic or parent (PAY-3)
    PRIMARY KEY (source, external_key)
);
CREATE INDEX work_item_parents_parent ON work_item_parents (source, parent_key);
