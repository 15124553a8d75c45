-- A KPI may be bound to a computed delivery metric of its team
-- (`deployment-frequency`, `lead-time`, `time-to-restore`,
-- `change-failure-rate`): its values then come from the same query as the
-- DORA panel instead of typed points. NULL: a typed series (docs/metrics.md,
-- "Bound KPIs").
ALTER TABLE metrics ADD COLUMN computed_from TEXT;
