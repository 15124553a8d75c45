-- Tandem's own notifications obey the recipient's policy (issues 14, 15, 16):
-- a P0 business request pages the on-call path through the alert outbox, so
-- an alert names an incident or a request (one of the two); a message to a
-- requester that is not urgent waits for the recipient's working hours
-- outside the focus block (`due_at`; NULL: at once).
ALTER TABLE alerts ALTER COLUMN incident_id DROP NOT NULL;
ALTER TABLE alerts ADD COLUMN request_id UUID REFERENCES requests(id) ON DELETE CASCADE;
ALTER TABLE alerts ADD CONSTRAINT alerts_cause
    CHECK (incident_id IS NOT NULL OR request_id IS NOT NULL);
CREATE INDEX alerts_request ON alerts (request_id);

ALTER TABLE request_notifications ADD COLUMN due_at TIMESTAMPTZ;
