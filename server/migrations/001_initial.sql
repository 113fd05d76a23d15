-- Devices registered by Device Managers (one queue each: seed 001, "a Cloud Imaging
-- Service can interface with no more than one Cloud Imaging Device Manager").
CREATE TABLE devices (
    output_device_uuid TEXT PRIMARY KEY,      -- urn:uuid:… the manager chose
    jid TEXT NOT NULL,                        -- the manager's authenticated bare JID
    printer_name TEXT NOT NULL UNIQUE,        -- the queue it serves
    registration_state TEXT NOT NULL,         -- pending | approved
    time_registered INTEGER NOT NULL,
    time_last_seen INTEGER NOT NULL
);
CREATE INDEX devices_by_jid ON devices (jid);

-- Queues: the seeds' "Cloud Imaging Service" instances (one per Print/Scan… service).
CREATE TABLE queues (
    printer_name TEXT PRIMARY KEY,
    service_type TEXT NOT NULL DEFAULT 'print',
    output_device_uuid TEXT,
    printer_info TEXT NOT NULL DEFAULT '',
    printer_location TEXT NOT NULL DEFAULT '',
    printer_state TEXT NOT NULL DEFAULT 'idle',
    printer_state_reasons TEXT NOT NULL DEFAULT 'none',   -- space-separated keywords
    printer_state_message TEXT NOT NULL DEFAULT '',
    printer_is_accepting_jobs INTEGER NOT NULL DEFAULT 1, -- as the device reports it
    is_accepting_jobs INTEGER NOT NULL DEFAULT 1,         -- as administrators set it
    capabilities TEXT NOT NULL DEFAULT '{}',              -- JSON of stanzas.groups.Capabilities
    time_created INTEGER NOT NULL
);

CREATE TABLE jobs (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_uuid TEXT NOT NULL UNIQUE,
    printer_name TEXT NOT NULL REFERENCES queues (printer_name),
    service_type TEXT NOT NULL,
    owner TEXT NOT NULL,                  -- job-originating-user-name: authenticated bare JID
    notify_jid TEXT,                      -- the full JID that receives JobEvents
    job_name TEXT NOT NULL,
    job_ticket TEXT NOT NULL DEFAULT '{}',-- JSON of stanzas.groups.JobTicket
    job_priority INTEGER NOT NULL DEFAULT 50,
    job_state TEXT NOT NULL,
    job_state_reasons TEXT NOT NULL,      -- space-separated keywords
    job_state_message TEXT NOT NULL DEFAULT '',
    is_closed INTEGER NOT NULL DEFAULT 0, -- the last document has arrived
    cancel_requested TEXT,                -- the reason of a pending cancel (job-canceled-by-user …)
    output_device_uuid TEXT,              -- the device the job is bound to, once acknowledged
    output_device_job_id INTEGER,
    output_device_job_state TEXT,
    job_impressions_completed INTEGER NOT NULL DEFAULT 0,
    number_of_documents INTEGER NOT NULL DEFAULT 0,
    time_at_creation INTEGER NOT NULL,
    time_at_processing INTEGER,
    time_at_completed INTEGER
);
CREATE INDEX jobs_by_queue_state ON jobs (printer_name, job_state);
CREATE INDEX jobs_by_device ON jobs (output_device_uuid, job_state);
CREATE INDEX jobs_by_owner ON jobs (owner, job_id);

CREATE TABLE documents (
    job_id INTEGER NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    document_number INTEGER NOT NULL,
    document_name TEXT NOT NULL,
    document_format TEXT NOT NULL,
    document_state TEXT NOT NULL,
    document_state_reasons TEXT NOT NULL DEFAULT 'none',
    document_state_message TEXT NOT NULL DEFAULT '',
    document_size INTEGER NOT NULL,       -- octets
    document_digest TEXT NOT NULL,        -- SHA-256, lowercase hex
    spool_name TEXT,                      -- file name in the spool; NULL once discarded
    last_document INTEGER NOT NULL DEFAULT 0,
    time_at_creation INTEGER NOT NULL,
    time_at_completed INTEGER,
    PRIMARY KEY (job_id, document_number)
);
