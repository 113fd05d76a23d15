-- Whether a device may fetch the job now (INFRA job-fetchable). The job state machine
-- (server/jobs/states.py, `fetchable`) decides it and writes it with every write of a
-- job's state; the fetchable lists read it. Rows written before this migration get the
-- same rule once, here.
ALTER TABLE jobs ADD COLUMN is_fetchable INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET is_fetchable = 1
    WHERE job_state = 'pending' AND is_closed = 1 AND output_device_uuid IS NULL
    AND cancel_requested IS NULL AND instr(' ' || job_state_reasons || ' ', ' job-incoming ') = 0;
CREATE INDEX jobs_fetchable ON jobs (printer_name, job_id) WHERE is_fetchable = 1;
