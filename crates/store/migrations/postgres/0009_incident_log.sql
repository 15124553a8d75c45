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
    seq          BIGSERIAL PRIMARY KEY,
    incident_id  UUID NOT NULL,            -- no reference: deleted incidents are logged too
    project_id   UUID NOT NULL,
    service      TEXT,
    opened_at    TIMESTAMPTZ NOT NULL,
    caused_by    TEXT
);

CREATE FUNCTION incident_changes_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
        INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
        VALUES (OLD.id, OLD.project_id, OLD.service, OLD.opened_at, OLD.caused_by);
    END IF;
    IF TG_OP = 'UPDATE' OR TG_OP = 'INSERT' THEN
        INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
        VALUES (NEW.id, NEW.project_id, NEW.service, NEW.opened_at, NEW.caused_by);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER incidents_log_insert AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_changes_log();
CREATE TRIGGER incidents_log_update AFTER UPDATE ON incidents
    FOR EACH ROW WHEN (OLD.project_id IS DISTINCT FROM NEW.project_id
        OR OLD.service IS DISTINCT FROM NEW.service
        OR OLD.opened_at IS DISTINCT FROM NEW.opened_at
        OR OLD.resolved_at IS DISTINCT FROM NEW.resolved_at
        OR OLD.caused_by IS DISTINCT FROM NEW.caused_by)
    EXECUTE FUNCTION incident_changes_log();
CREATE TRIGGER incidents_log_delete AFTER DELETE ON incidents
    FOR EACH ROW EXECUTE FUNCTION incident_changes_log();

-- Per UTC day of opening and service; service '' is every incident of the
-- project (with or without a service). Incidents have no environment.
CREATE TABLE incident_days (
    project_id    UUID NOT NULL,
    service       TEXT NOT NULL,
    day           DATE NOT NULL,
    incidents     BIGINT NOT NULL,     -- opened that day
    resolved      BIGINT NOT NULL,     -- of which resolved
    restore_hist  BYTEA NOT NULL,      -- resolved − opened, tandem_domain::dora::Histogram
    PRIMARY KEY (project_id, service, day)
);

CREATE INDEX incidents_opened ON incidents (project_id, opened_at);
CREATE INDEX deployment_facts_day ON deployment_facts (project_id, environment, service, day);

-- Existing incidents: their current versions (rollups to build, facts to
-- check) and the versions the facts were computed from, where different.
INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
SELECT s.incident_id, s.project_id, s.service, s.opened_at, s.caused_by
FROM incident_seen s JOIN incidents i ON i.id = s.incident_id
WHERE s.project_id <> i.project_id OR s.service IS DISTINCT FROM i.service
   OR s.opened_at <> i.opened_at OR s.caused_by IS DISTINCT FROM i.caused_by;
INSERT INTO incident_changes (incident_id, project_id, service, opened_at, caused_by)
SELECT id, project_id, service, opened_at, caused_by FROM incidents ORDER BY opened_at, id;

DROP TABLE incident_seen;
