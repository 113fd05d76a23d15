-- Queues and devices, many to many (INFRA, PWG 5100.18: an Infrastructure Printer with
-- several Output Devices; one device may serve several queues). Until now a queue had
-- one device (devices.printer_name UNIQUE, queues.output_device_uuid) and the device's
-- state and capabilities were written onto its queue. Now each device keeps its own,
-- queue_devices says which devices serve which queue, and a queue's capabilities and
-- printer state are rolled up from its devices' (server/devices/rollup.py).
--
-- Portable SQL (SQLite and PostgreSQL): the devices table is rebuilt to lose the UNIQUE
-- on printer_name (neither engine drops a column constraint the same way).

CREATE TABLE devices_v2 (
    output_device_uuid TEXT PRIMARY KEY,      -- urn:uuid:… the manager chose
    jid TEXT NOT NULL,                        -- the manager's authenticated bare JID
    printer_name TEXT NOT NULL,               -- the queue it registered for
    registration_state TEXT NOT NULL,         -- pending | approved
    time_registered INTEGER NOT NULL,
    time_last_seen INTEGER NOT NULL,
    device_name TEXT UNIQUE,                  -- how users and administrators name it (output-device-assigned)
    is_paused INTEGER NOT NULL DEFAULT 0,     -- paused by an operator: handed no new work
    printer_info TEXT NOT NULL DEFAULT '',
    printer_location TEXT NOT NULL DEFAULT '',
    printer_state TEXT NOT NULL DEFAULT 'idle',
    printer_state_reasons TEXT NOT NULL DEFAULT 'none',   -- space-separated keywords
    printer_state_message TEXT NOT NULL DEFAULT '',
    printer_is_accepting_jobs INTEGER NOT NULL DEFAULT 1,
    capabilities TEXT NOT NULL DEFAULT '{}',              -- JSON of stanzas.groups.Capabilities
    time_offline INTEGER                                  -- its manager went away then; NULL: online
);

-- A device's state and capabilities were its queue's: they become the device's own.
INSERT INTO devices_v2 (output_device_uuid, jid, printer_name, registration_state,
    time_registered, time_last_seen, device_name, printer_info, printer_location,
    printer_state, printer_state_reasons, printer_state_message, printer_is_accepting_jobs,
    capabilities)
SELECT d.output_device_uuid, d.jid, d.printer_name, d.registration_state,
    d.time_registered, d.time_last_seen, d.printer_name,
    COALESCE(q.printer_info, ''), COALESCE(q.printer_location, ''),
    COALESCE(q.printer_state, 'idle'), COALESCE(q.printer_state_reasons, 'none'),
    COALESCE(q.printer_state_message, ''), COALESCE(q.printer_is_accepting_jobs, 1),
    COALESCE(q.capabilities, '{}')
FROM devices d LEFT JOIN queues q ON q.printer_name = d.printer_name;

DROP TABLE devices;
ALTER TABLE devices_v2 RENAME TO devices;
CREATE INDEX devices_by_jid ON devices (jid);

-- Which devices serve which queue.
CREATE TABLE queue_devices (
    printer_name TEXT NOT NULL REFERENCES queues (printer_name) ON DELETE CASCADE,
    output_device_uuid TEXT NOT NULL REFERENCES devices (output_device_uuid) ON DELETE CASCADE,
    time_added INTEGER NOT NULL,
    PRIMARY KEY (printer_name, output_device_uuid)
);
CREATE INDEX queue_devices_by_device ON queue_devices (output_device_uuid);

-- Every device registered until now served the queue it registered for.
INSERT INTO queue_devices (printer_name, output_device_uuid, time_added)
SELECT printer_name, output_device_uuid, time_registered FROM devices
WHERE printer_name IN (SELECT printer_name FROM queues);

-- The one device of a queue is now a list (queue_devices).
ALTER TABLE queues DROP COLUMN output_device_uuid;

-- INFRA/RFC 8011 output-device-assigned: the name of the device that took the job, kept
-- with the job (the device may be gone by the time the job is read).
ALTER TABLE jobs ADD COLUMN output_device_assigned TEXT;
UPDATE jobs SET output_device_assigned =
    (SELECT d.device_name FROM devices d WHERE d.output_device_uuid = jobs.output_device_uuid)
    WHERE output_device_uuid IS NOT NULL;
