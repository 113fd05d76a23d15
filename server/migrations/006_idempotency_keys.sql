-- Idempotency keys of CreateJob / PrintJob (docs/protocol.md, CreateJob): the key the
-- client chose, unique among the jobs of one owner (NULLs never collide, so jobs made
-- without a key are not constrained), and a digest of the request that created the job,
-- so that a key sent again with a different request is refused rather than answered
-- with a job it did not ask for. Both live and go with the job's row (its history).
ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
ALTER TABLE jobs ADD COLUMN request_digest TEXT;
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (owner, idempotency_key);
