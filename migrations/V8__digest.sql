-- email-sidecar schema, version 8: what the exactly-once digest records
-- beyond V1's digest_runs (SPEC §10).

-- The mailbox the run is sent as (its Message-ID is looked up there before
-- any retry), how many send attempts it took, and the proof of delivery:
-- Gmail's message id, or the SMTP server's acceptance reply (250 ...).
ALTER TABLE digest_runs ADD COLUMN sender TEXT;
ALTER TABLE digest_runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE digest_runs ADD COLUMN gmail_message_id TEXT;
ALTER TABLE digest_runs ADD COLUMN smtp_reply TEXT;

-- The scheduled cursor (newest sent scheduled run) and unfinished runs.
CREATE INDEX digest_runs_by_kind_status ON digest_runs (kind, status, window_end);
