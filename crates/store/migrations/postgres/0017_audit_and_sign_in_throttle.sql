-- The audit log (sign-ins, admin actions) and the sign-in throttle: counts
-- of consecutive failed sign-ins per key (`account:<username>`,
-- `address:<client>`), shared by every replica.
CREATE TABLE audit_log (
    id       UUID PRIMARY KEY,              -- UUID v7: grows with time
    at       TIMESTAMPTZ NOT NULL,
    action   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    subject  TEXT NOT NULL,
    client   TEXT,
    detail   TEXT NOT NULL
);

CREATE TABLE sign_in_throttle (
    key             TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL,
    last_failure_at TIMESTAMPTZ NOT NULL,
    locked_until    TIMESTAMPTZ
);
