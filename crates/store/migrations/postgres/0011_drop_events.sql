-- The generic events table (0001) had no writer outside its own tests: raw
-- webhook deliveries, deployments and incidents each have their own tables.
-- Old dumps' `event` lines are skipped on import.
DROP INDEX IF EXISTS events_kind_time;
DROP TABLE IF EXISTS events;
