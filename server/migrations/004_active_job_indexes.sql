-- Partial indexes of the active jobs (not canceled, aborted or completed): the history
-- grows without bound while the active jobs stay few, so JobStore.list_active and
-- list_jobs(active=True) read O(active) rows in job_id order instead of the history.
-- SQLite uses a partial index only for a query whose WHERE implies the index's WHERE:
-- the queries repeat this exact predicate (bench/store.py, 1,000,000 jobs: list_active
-- of all queues 166 -> 18 ms, of one queue 1.74 -> 0.48 ms).
CREATE INDEX jobs_active_by_queue ON jobs (printer_name, job_id)
    WHERE job_state NOT IN ('canceled', 'aborted', 'completed');
CREATE INDEX jobs_active ON jobs (job_id)
    WHERE job_state NOT IN ('canceled', 'aborted', 'completed');
