-- Printing from chat clients (docs/client.md): each user's default queue (the chat
-- command `default QUEUE`), and the conversation each job shared by chat came from,
-- where its states are told.

-- Not a foreign key to queues: a deleted queue is reported to the user when they next
-- print, rather than forgotten silently.
CREATE TABLE chat_defaults (
    jid TEXT PRIMARY KEY,            -- bare JID
    printer_name TEXT NOT NULL,      -- their default queue
    time_set INTEGER NOT NULL
);

CREATE TABLE chat_jobs (
    job_id INTEGER PRIMARY KEY REFERENCES jobs (job_id) ON DELETE CASCADE,
    jid TEXT NOT NULL,               -- the full JID that shared the file: notices go there
    address TEXT NOT NULL,           -- what they wrote to: the service's or a queue's address
    time_at_creation INTEGER NOT NULL
);
CREATE INDEX chat_jobs_by_jid ON chat_jobs (jid);
