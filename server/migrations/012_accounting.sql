-- Accounting and quotas (issue 17). Plain SQL that SQLite and PostgreSQL both take.

-- What a device reported of the paper (job-media-sheets-completed, RFC 8011 §5.3.18.2),
-- and the size of the job's documents in K octets (job-k-octets), set when it ends.
ALTER TABLE jobs ADD COLUMN job_media_sheets_completed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN job_k_octets INTEGER NOT NULL DEFAULT 0;

-- One row per ended job, written by the job state machine in the transaction that ends
-- the job. No foreign key: the row outlives the job (job-history-period deletes jobs;
-- accounting keeps what they used). Usage over any period is a sum over these rows.
CREATE TABLE job_usage (
    job_id INTEGER PRIMARY KEY,
    job_uuid TEXT NOT NULL,
    owner TEXT NOT NULL,                    -- job-originating-user-name (bare JID)
    printer_name TEXT NOT NULL,             -- the queue
    service_type TEXT NOT NULL,
    job_state TEXT NOT NULL,                -- completed | canceled | aborted
    number_of_documents INTEGER NOT NULL,
    impressions INTEGER NOT NULL,           -- job-impressions-completed, as reported
    sheets INTEGER NOT NULL,                -- job-media-sheets-completed, as reported
    octets INTEGER NOT NULL,                -- the documents' data, in octets
    time_at_creation INTEGER NOT NULL,
    time_at_completed INTEGER NOT NULL
);
CREATE INDEX job_usage_by_time ON job_usage (time_at_completed);
CREATE INDEX job_usage_by_owner ON job_usage (owner, time_at_completed);
CREATE INDEX job_usage_by_queue ON job_usage (printer_name, time_at_completed);

-- Quotas: at most job_limit jobs and impression_limit impressions per period, for a
-- user or a group, on one queue or (printer_name '') on all of them.
CREATE TABLE quotas (
    subject_kind TEXT NOT NULL,             -- user | group
    subject TEXT NOT NULL,                  -- a bare JID, or a group's name
    printer_name TEXT NOT NULL DEFAULT '',  -- '' = every queue
    quota_period TEXT NOT NULL,             -- daily | weekly | monthly
    job_limit INTEGER,                      -- NULL: no limit on jobs
    impression_limit INTEGER,               -- NULL: no limit on impressions
    PRIMARY KEY (subject_kind, subject, printer_name, quota_period)
);
