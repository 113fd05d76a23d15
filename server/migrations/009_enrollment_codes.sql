-- Enrolment codes (issue 11): an administrator issues a one-time code for a queue; a
-- manager presents it in RegisterDevice, and so joins the queue without waiting for an
-- administrator's approval. A registration from an ordinary account without a valid
-- code joins nothing and waits. Only a hash of each code is kept.
CREATE TABLE enrollment_codes (
    code_hash TEXT PRIMARY KEY,          -- SHA-256 of the normalised code, lowercase hex
    printer_name TEXT NOT NULL,          -- the queue it enrols a device in (may not exist yet)
    issued_by TEXT NOT NULL,             -- the administrator's bare JID
    time_issued INTEGER NOT NULL,
    time_expires INTEGER NOT NULL,
    time_used INTEGER,                   -- NULL until a registration presents it
    used_by_device TEXT                  -- the output-device-uuid that did
);
CREATE INDEX enrollment_codes_by_queue ON enrollment_codes (printer_name);
