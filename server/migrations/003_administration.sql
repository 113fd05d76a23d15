-- Administration (seed 001, Tables 2 and 3): each queue's service state, the order
-- administrators gave jobs, alert subscriptions and the system's settable elements.
-- Own tables rather than new columns, so the job and queue rows keep their shape.

-- One row per queue once an administrator or the service state machine has touched it;
-- a queue without a row is idle with no reasons (server/queues/states.py).
CREATE TABLE service_states (
    printer_name TEXT PRIMARY KEY REFERENCES queues (printer_name) ON DELETE CASCADE,
    service_state TEXT NOT NULL DEFAULT 'idle',          -- idle | processing | stopped | down
    service_state_reasons TEXT NOT NULL DEFAULT 'none',  -- space-separated keywords
    service_state_message TEXT NOT NULL DEFAULT '',
    hands_out_work INTEGER NOT NULL DEFAULT 1,           -- 0 while paused, pausing or down
    hold_new_jobs_until TEXT,                            -- HoldNewJobs: 'indefinite' …
    hold_new_jobs_until_time INTEGER,                    -- … or until this time
    auto_approve_devices INTEGER,                        -- NULL: the system's setting
    admin_description TEXT NOT NULL DEFAULT '',          -- printer-info … administrators set
    time_state_changed INTEGER NOT NULL DEFAULT 0
);

-- Promote<Service>Job's explicit order, and which held jobs HoldNewJobs held.
CREATE TABLE job_schedule (
    job_id INTEGER PRIMARY KEY REFERENCES jobs (job_id) ON DELETE CASCADE,
    schedule_rank INTEGER,                      -- lower first; NULL: by job-priority, then id
    held_by_service INTEGER NOT NULL DEFAULT 0  -- pending-held because of HoldNewJobs
);
CREATE INDEX job_schedule_by_rank ON job_schedule (schedule_rank);

-- Administrators and operators who receive alerts as chat messages.
CREATE TABLE alert_subscriptions (
    jid TEXT PRIMARY KEY,          -- bare JID
    alert_events TEXT NOT NULL     -- space-separated: device-offline job-aborted queue-stopped
);

-- SetSystemElements: the values administrators set (the configuration file's otherwise).
CREATE TABLE system_elements (
    name TEXT PRIMARY KEY,         -- system-name, system-location, auto-approve-devices …
    value TEXT NOT NULL            -- JSON
);
