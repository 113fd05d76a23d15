-- Remedial redirection (seed 000 "Remedial Action in response to Abort"; issue 13): a
-- job a device gave up goes back to its queue's other devices, at most so many times.
ALTER TABLE jobs ADD COLUMN redirect_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN redirected_from TEXT NOT NULL DEFAULT '';  -- space-separated output-device-uuids
-- When a device first fetched one of the job's documents (only written where the queue
-- redirects from devices gone offline: a device that has the data may be printing).
ALTER TABLE jobs ADD COLUMN time_documents_fetched INTEGER;
