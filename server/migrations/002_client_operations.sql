-- Client operations (seed 001, Table 1): multi-document timeouts, documents by
-- reference, document tickets, queue configuration and data retention.
ALTER TABLE jobs ADD COLUMN time_last_activity INTEGER NOT NULL DEFAULT 0;  -- last Create/Send
ALTER TABLE jobs ADD COLUMN resubmitted_from INTEGER;                       -- Resubmit<Service>Job
ALTER TABLE jobs ADD COLUMN unsupported_elements TEXT NOT NULL DEFAULT '';   -- ignored at CreateJob
ALTER TABLE documents ADD COLUMN document_uri TEXT;                          -- Send<Service>Uri
ALTER TABLE documents ADD COLUMN document_ticket TEXT NOT NULL DEFAULT '{}'; -- JSON of JobTicket
ALTER TABLE queues ADD COLUMN configuration TEXT NOT NULL DEFAULT '{}';      -- JSON of QueueConfiguration
CREATE INDEX jobs_terminal_by_time ON jobs (job_state, time_at_completed);
CREATE INDEX jobs_open_by_activity ON jobs (is_closed, time_last_activity);
