-- SQLite: ids are 16-byte BLOBs, instants RFC 3339 TEXT (UTC), dates YYYY-MM-DD TEXT.
-- Delivery metrics at scale (issue 3, performance): an incident change log
-- fed by triggers, so `attribute_pending` reads only what changed (it
-- replaces the full comparison with `incident_seen`), and per-day
-- time-to-restore rollups, so a year of DORA reads a few hundred rows
-- whatever the number of incidents. Derived data, like 0008.

-- One row per version of an incident that the metrics may have read: the
-- new version of an insert, the old and new versions of an update that
-- changed a field the metrics read, the old version of a delete.
-- `Store::attribute_pending` processes the rows and deletes exactly the ones
-- it read (a row committed meanwhile stays for the next call).
CREATE TABLE incident_changes (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  BLOB NOT NULL,            -- no reference: deleted incidents are logged too
    project_id   BLOB NOT NULL,
    service      TEXT,
    opened_at    TEXT NOT NULL,
    caused_by    TEXT
);

CREATE TRIGGER incidents_log_insert AFTER INSERT ON incidents
BEGIN
    INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
    VALUES (NEW.id, NEW.project_id, NEW.service, NEW.opened_at, NEW.caused_by);
END;
CREATE TRIGGER incidents_log_update AFTER UPDATE ON incidents
    WHEN OLD.project_id IS NOT NEW.project_id
        OR OLD.service IS NOT NEW.service
        OR OLD.opened_at IS NOT NEW.opened_at
        OR OLD.resolved_at IS NOT NEW.resolved_at
        OR OLD.caused_by IS NOT NEW.caused_by
BEGIN
    INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
    VALUES (OLD.id, OLD.project_id, OLD.service, OLD.opened_at, OLD.caused_by);
    INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
    VALUES (NEW.id, NEW.project_id, NEW.service, NEW.opened_at, NEW.caused_by);
END;
CREATE TRIGGER incidents_log_delete AFTER DELETE ON incidents
BEGIN
    INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
    VALUES (OLD.id, OLD.project_id, OLD.service, OLD.opened_at, OLD.caused_by);
END;

-- Per UTC day of opening and service; service '' is every incident of the
-- project (with or without a service). Incidents have no environment.
CREATE TABLE incident_days (
    project_id    BLOB NOT NULL,
    service       TEXT NOT NULL,
    day           TEXT NOT NULL,
    incidents     INTEGER NOT NULL,    -- opened that day
    resolved      INTEGER NOT NULL,    -- of which resolved
    restore_hist  BLOB NOT NULL,       -- resolved − opened, tandem_domain::dora::Histogram
    PRIMARY KEY (project_id, service, day)
);

CREATE INDEX incidents_opened ON incidents (project_id, opened_at);
CREATE INDEX deployment_facts_day ON deployment_facts (project_id, environment, service, day);

-- Existing incidents: their current versions (rollups to build, facts to
-- check) and the versions the facts were computed from, where different.
INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
SELECT s.incident_id, s.project_id, s.service, s.opened_at, s.caused_by
FROM incident_seen s JOIN incidents i ON i.id = s.incident_id
WHERE s.project_id IS NOT i.project_id OR s.service IS NOT i.service
   OR s.opened_at IS NOT i.opened_at OR s.caused_by IS NOT i.caused_by;
INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
SELECT id, project_id, service, opened_at, caused_by FROM incidents ORDER BY opened_at, id;

DROP TABLE incident_seen;
